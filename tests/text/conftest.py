"""Text tests run their tiny models on one intra-op thread, restored after each test.

Why: the models here are a few thousand parameters, so every kernel is a few microseconds of work and the cost
is OpenMP's barrier between threads. On the shared 2-core machine, with the other cores busy, a barrier waits a
whole scheduler slice: one test measured 28 s with 2 threads and 0.2 s with 1. Scoped to each test, so the
thread count of other test folders is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
