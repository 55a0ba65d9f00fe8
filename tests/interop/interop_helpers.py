"""Helpers of the interop tests: optional packages skip with a reason, random padded inputs, comparisons."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on torch: no TensorFlow needed


def need(name: str):
    """Import an optional package of the interop extra or skip the test, saying how to install it."""
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install 'rnnkit[interop]')")


def padded(rng: np.random.Generator, B: int, T: int, F: int) -> tuple[np.ndarray, np.ndarray]:
    """Random features (B, T, F) right-padded with zeros past random lengths in [1, T] (one row full)."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    x = rng.normal(size=(B, T, F)).astype(np.float32)
    for b, n in enumerate(lengths):
        x[b, n:] = 0.0
    return x, lengths


def randomize(model, rng: np.random.Generator, scale: float = 0.5) -> None:
    """Every Keras weight (biases included) random, so a mixed-up gate or bias cannot hide behind zeros."""
    for w in model.weights:
        w.assign(rng.normal(scale=scale, size=tuple(w.shape)).astype(np.float32))


def as_list(out) -> list[np.ndarray]:
    items = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(t.detach().cpu() if isinstance(t, torch.Tensor) else t) for t in items]


def assert_same(keras_out, torch_out, atol: float = 1e-5) -> None:
    k, t = as_list(keras_out), as_list(torch_out)
    assert len(k) == len(t), f"{len(k)} Keras outputs vs {len(t)} torch outputs"
    for a, b in zip(k, t):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, atol=atol, rtol=0)
