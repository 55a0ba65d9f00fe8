"""Fixtures shared by every test folder.

``data_path("timeseries", "AirPassengers.csv")``: a file of the reference data set (``rnnkit.data_dir``). Where
the data is absent (a fresh clone with nothing beside it) the test is skipped with a one-line reason; under
``CI=true`` the test fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


@pytest.fixture(scope="session")
def interrupt_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``interrupt_cli(argv, wait_for)``: run ``rnnkit ARGV`` as a real process, send it SIGINT once the file
    ``wait_for`` (a checkpoint) exists, and return the finished process with its output. Fails when training ends
    before it could be interrupted, so a test can never pass without the signal having been delivered."""

    def interrupt(argv: list[str], wait_for: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        src = str(Path(rnnkit.__file__).parents[1])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "rnnkit.cli", *argv]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + timeout
        while not wait_for.is_file():
            assert proc.poll() is None, f"training ended before it could be interrupted: {proc.communicate()}"
            assert time.monotonic() < deadline, f"no {wait_for} after {timeout} s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)

    return interrupt
