"""Interop tests: helpers importable as ``interop_helpers``; one intra-op thread per test (as tests/forecast does:
tiny recurrent calls spin-wait badly on an oversubscribed CPU), restored afterwards."""

from __future__ import annotations

import os
import sys

import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on torch: no TensorFlow needed
HERE = os.path.dirname(__file__)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def pytest_configure(config):
    # Keras 3.15's torch backend converts with np.array(x, copy=False) semantics NumPy 2 deprecates; not ours.
    config.addinivalue_line(
        "filterwarnings", "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
    )


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
