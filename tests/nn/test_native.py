"""The compiled LSTM loops (rnnkit.nn.native, csrc/lstm_seq.cpp) against the Python loops of LSTMSequence: the same
values and gradients for every option on random shapes, gradcheck in float64, and a clear fallback when the
kernels cannot be built."""

from __future__ import annotations

import shutil

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit.nn as rnn
from rnnkit.nn import native
from rnnkit.nn.lstm_seq import LSTMSequence

F64 = torch.float64
HAVE_COMPILER = shutil.which("c++") is not None or shutil.which("g++") is not None


def _args(T, B, H, ln, peep, mask, zone, dtype, eval_zone=False):
    def leaf(t):
        return t.to(dtype).requires_grad_()

    zones = None
    if zone:
        zones = torch.full((1, 1, 1, 1), 0.3).expand(2, T, B, H) if eval_zone else (torch.rand(2, T, B, H) > 0.5)
    return [
        leaf(torch.randn(T, B, 4 * H)),
        leaf(torch.randn(B, H)),
        leaf(torch.randn(B, H)),
        leaf(torch.randn(4 * H, H) / H**0.5),
        leaf(1 + 0.1 * torch.randn(4 * H)) if ln else None,
        leaf(1 + 0.1 * torch.randn(H)) if ln else None,
        leaf(0.1 * torch.randn(H)) if ln else None,
        leaf(0.3 * torch.randn(3 * H)) if peep else None,
        ((torch.rand(B, H) > 0.3) * 1.5).to(dtype) if mask else None,
        None if zones is None else zones.to(dtype),
    ]


@pytest.mark.skipif(not HAVE_COMPILER, reason="no C++ compiler on this machine: the Python loop runs instead")
def test_the_kernels_build_where_a_compiler_exists():
    assert native.lstm_ops() is not None  # else every other test here compares the Python loop with itself


@settings(max_examples=30, deadline=None)
@given(
    ln=st.booleans(),
    peep=st.booleans(),
    mask=st.booleans(),
    zone=st.sampled_from(["off", "train", "eval"]),
    T=st.integers(1, 7),
    B=st.integers(1, 5),
    H=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_compiled_loop_equals_python_loop(ln, peep, mask, zone, T, B, H, seed):
    torch.manual_seed(seed)
    # float64: a layer norm over one unit (H = 1) divides by sqrt(eps) and magnifies float32 rounding 300-fold
    args = _args(T, B, H, ln, peep, mask, zone != "off", F64, eval_zone=zone == "eval")
    dy, dh, dc = (torch.randn(*shape, dtype=F64) for shape in ((T, B, H), (B, H), (B, H)))
    leaves = [a for a in args if a is not None and a.requires_grad]

    def run():
        y, h, c = LSTMSequence.apply(*args)
        grads = torch.autograd.grad((y * dy).sum() + (h * dh).sum() + (c * dc).sum(), leaves)
        return (y, h, c, *grads)

    fast = run()
    with native.disabled():
        slow = run()
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize(("ln", "peep", "mask", "zone"), [(0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1), (1, 1, 1, 1)])
def test_compiled_loop_gradcheck(ln, peep, mask, zone):
    torch.manual_seed(1)
    args = _args(3, 2, 3, ln, peep, mask, zone, F64)
    assert torch.autograd.gradcheck(LSTMSequence.apply, args, fast_mode=bool(ln))


def test_a_layer_with_noncontiguous_gradients_and_batch_first_input():
    torch.manual_seed(0)
    layer = rnn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True, layer_norm=True, peephole=True)
    layer = layer.double()  # float32 gradients here are ~7 and differ by ~1e-3 between any two orders of rounding
    x = torch.randn(3, 8, 5, dtype=F64, requires_grad=True)
    lengths = torch.tensor([8, 3, 5])
    y, (h, c) = layer(x, lengths=lengths)
    (y[:, ::2].sum() + h.sum()).backward()  # a strided gradient into the sequence function
    fast = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    with native.disabled():
        y2, (h2, c2) = layer(x, lengths=lengths)
        (y2[:, ::2].sum() + h2.sum()).backward()
    torch.testing.assert_close((y, h, c), (y2, h2, c2))
    for a, b in zip(fast, [x.grad] + [p.grad for p in layer.parameters()]):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_a_failed_build_warns_once_and_the_python_loop_runs(monkeypatch):
    from torch.utils import cpp_extension

    def broken(**_):
        raise RuntimeError("Error building extension 'x'\nc++: command not found")

    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setattr(cpp_extension, "load", broken)
    monkeypatch.setattr(cpp_extension, "_get_build_directory", lambda *a, **k: "/nonexistent")
    layer = rnn.LSTM(3, 4, layer_norm=True)
    with pytest.warns(RuntimeWarning, match=r"could not be built \(c\+\+: command not found\).*Python loop"):
        y, _ = layer(torch.randn(5, 2, 3))
    assert native.lstm_ops() is None  # remembered: no second attempt, no second warning
    assert y.shape == (5, 2, 4)


def test_the_environment_switch_turns_the_kernels_off(monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    assert native.lstm_ops() is None


def test_pooled_buffers_of_two_live_graphs_stay_apart():
    """Buffers of 1 MB and more come from a pool that reuses freed ones: two graphs alive at once, a second
    backward of a retained graph and a third call must not see each other's activations."""
    torch.manual_seed(0)
    T, B, H = 64, 8, 128  # (T, B, 4H) float64 = 2 MB: pooled
    first, second = (_args(T, B, H, True, True, True, False, F64) for _ in range(2))
    leaves = [[a for a in args if a is not None and a.requires_grad] for args in (first, second)]

    def grads(args, leaves, retain=False):
        y, h, c = LSTMSequence.apply(*args)
        loss = y.square().sum() + h.sum() + c.sum()
        return (y, *torch.autograd.grad(loss, leaves, retain_graph=retain))

    with native.disabled():
        want = [grads(a, lv) for a, lv in zip((first, second), leaves)]
    outs = [LSTMSequence.apply(*args) for args in (first, second)]  # both graphs alive
    losses = [y.square().sum() + h.sum() + c.sum() for y, h, c in outs]
    got2 = torch.autograd.grad(losses[1], leaves[1], retain_graph=True)
    got2_again = torch.autograd.grad(losses[1], leaves[1])
    grads(second, leaves[1])  # a third call reuses freed buffers
    got1 = torch.autograd.grad(losses[0], leaves[0])
    torch.testing.assert_close((outs[0][0], *got1), want[0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close((outs[1][0], *got2), want[1], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(got2_again, got2, atol=0, rtol=0)
