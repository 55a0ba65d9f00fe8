"""rnnkit.nn.dropout against torch.nn.functional.dropout's contract: what is kept, how it is scaled, its gradient."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.nn import Dropout, dropout
from rnnkit.nn.dropout import keep_mask

N = 200_000


def _quantized(p: float) -> float:
    return round(p * 2**16) / 2**16


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_keeps_each_element_with_probability_one_minus_p_independently(p: float, seed: int) -> None:
    torch.manual_seed(seed)
    keep = keep_mask((N,), p).double()
    q = 1 - _quantized(p)  # the probability of keeping
    sd = math.sqrt(q * (1 - q) / N)
    assert abs(keep.mean().item() - q) <= 5 * sd + 1e-12
    # neighbours share a 64-bit random word: their keeps must still be independent
    pairs = (keep[:-1] * keep[1:]).mean().item()
    assert abs(pairs - q * q) <= 5 * math.sqrt(q * q * (1 - q * q) / N) + 1e-12


def test_p_is_rounded_to_a_multiple_of_2_to_the_minus_16() -> None:
    torch.manual_seed(0)
    assert keep_mask((N,), 2**-17 * 0.9).all()  # rounds to 0: nothing dropped
    assert not keep_mask((N,), 1 - 2**-17 * 0.9).any()  # rounds to 1: everything dropped
    assert keep_mask((3, 4, 5), 0.5).shape == (3, 4, 5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_values_are_scaled_like_torch_and_the_gradient_is_the_same_mask(dtype: torch.dtype, p: float) -> None:
    torch.manual_seed(1)
    x = torch.randn(64, 7, 33, dtype=dtype, requires_grad=True)
    y = dropout(x, p)
    kept = y != 0
    scale = 1 / (1 - p)
    assert y.dtype == dtype
    torch.testing.assert_close(y[kept], (x * scale)[kept], rtol=0, atol=0)
    g = torch.randn_like(y)
    y.backward(g)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.where(kept, g * scale, torch.zeros_like(g)), rtol=0, atol=0)
    # and torch's F.dropout, on the same input, has the same mean (both unbiased)
    big = torch.ones(N, dtype=dtype)
    ours, theirs = dropout(big, p).mean().item(), torch.nn.functional.dropout(big, p).mean().item()
    bound = 5 * math.sqrt(p / (1 - p) / N)
    assert abs(ours - 1) <= bound and abs(theirs - 1) <= bound


def test_seeded_repeatable_and_fresh_each_call() -> None:
    x = torch.ones(1000)
    torch.manual_seed(3)
    a, b = dropout(x, 0.5), dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.5), a)
    assert not torch.equal(a, b)


def test_identity_off_training_or_at_zero_and_zeros_at_one() -> None:
    x = torch.randn(5, 6)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    m = Dropout(0.3)
    assert list(m.state_dict()) == [] and repr(m) == "Dropout(p=0.3)"
    assert torch.equal(m.eval()(x), x)
    assert m.train()(torch.ones(1000)).eq(0).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_out_of_range_is_an_error(p: float) -> None:
    with pytest.raises(ValueError) as err:
        Dropout(p)
    assert str(err.value) == f"dropout probability has to be between 0 and 1, but got {p}"
    with pytest.raises(ValueError):
        dropout(torch.ones(2), p)
