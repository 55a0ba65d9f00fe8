"""Shared fixtures: tiny generated videos written as real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnkit.video.generate import moving_digits, write_dataset


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory) -> Path:
    """16 mp4 clips of 6 frames, 16x16, labelled left/right, one folder per class."""
    root = tmp_path_factory.mktemp("digits")
    videos, labels = moving_digits(16, frames=6, size=16, digit_size=6, speed=(1.0, 1.5), seed=0)
    write_dataset(root, videos, labels)
    return root


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: these models are tiny, and several threads spin-wait when other processes share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
