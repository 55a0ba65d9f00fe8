"""Fixtures shared by every test folder.

``data_path("timeseries", "AirPassengers.csv")``: a file of the reference data set (``rnnkit.data_dir``). Where
the data is absent (a fresh clone with nothing beside it) the test is skipped with a one-line reason; under
``CI=true`` the test fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import rnnkit


def reference_data(*parts: str) -> Path:
    """The reference data file ``parts`` (skip the calling test, or fail it under CI=true, when it is missing)."""
    try:
        return rnnkit.data_dir(*parts)
    except FileNotFoundError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {err}", pytrace=False)
        pytest.skip(f"reference data absent: {'/'.join(parts)} (set RNNKIT_DATA)")


@pytest.fixture(scope="session")
def data_path() -> Callable[..., Path]:
    """``data_path(*parts)`` -> the reference data file, or a skip (a failure under CI=true) when it is missing."""
    return reference_data
