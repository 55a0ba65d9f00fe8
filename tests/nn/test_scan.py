"""linear_scan: both methods equal the plain loop, and the hand-written backward passes gradcheck in float64."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.nn.scan import linear_scan, linear_scan_reference


@settings(max_examples=15, deadline=None)
@given(
    method=st.sampled_from(["chunked", "sequential"]),
    B=st.integers(1, 3),
    T=st.integers(1, 40),
    H=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_scan_equals_loop_values_and_gradients(method, B, T, H, seed):
    torch.manual_seed(seed)
    a = torch.rand(B, T, H, requires_grad=True)
    b = torch.randn(B, T, H, requires_grad=True)
    h0 = torch.randn(B, H, requires_grad=True)
    w = torch.randn(B, T, H)
    h1 = linear_scan(a, b, h0, method)
    grads1 = torch.autograd.grad((h1 * w).sum(), (a, b, h0))
    h2 = linear_scan_reference(a, b, h0)
    grads2 = torch.autograd.grad((h2 * w).sum(), (a, b, h0))
    torch.testing.assert_close(h1, h2, atol=1e-5, rtol=1e-5)
    for g1, g2 in zip(grads1, grads2):
        torch.testing.assert_close(g1, g2, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("method", ["chunked", "sequential"])
@pytest.mark.parametrize("T", [1, 5, 9])
def test_scan_gradcheck(method, T):
    torch.manual_seed(T)
    a = torch.rand(2, T, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, T, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, h0: linear_scan(a, b, h0, method), (a, b, h0))


def test_unknown_method():
    x = torch.ones(1, 2, 1)
    with pytest.raises(ValueError) as err:
        linear_scan(x, x, x[:, 0], "log")
    assert str(err.value) == "linear_scan: expected method 'auto', 'chunked' or 'sequential', got 'log'"
