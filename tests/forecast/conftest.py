"""Forecast tests run each test on one intra-op thread and restore the previous setting afterwards.

Why: on a shared, oversubscribed CPU, OpenMP's spin-waiting makes tiny two-thread GRU calls several hundred times
slower (measured: 0.33 s vs 0.001 s for a 16-unit GRU step under load average 8 on 2 cores). Restored after each
test, so no other test folder sees a change.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
