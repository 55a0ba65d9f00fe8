"""minGRU/minLSTM: the scan equals step by step and the plain loop, with lengths, layers and both directions."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit.nn as rnn

LAYERS = {"mingru": rnn.MinGRU, "minlstm": rnn.MinLSTM}


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    method=st.sampled_from(["chunked", "sequential"]),
    layers=st.integers(1, 2),
    bidir=st.booleans(),
    B=st.integers(1, 4),
    T=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
)
def test_fast_scan_equals_reference_loop(kind, method, layers, bidir, B, T, seed):
    torch.manual_seed(seed)
    fast = LAYERS[kind](3, 4, num_layers=layers, bidirectional=bidir, batch_first=True, scan=method)
    ref = LAYERS[kind](3, 4, num_layers=layers, bidirectional=bidir, batch_first=True, scan="reference")
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(B, T, 3)
    lengths = torch.randint(1, T + 1, (B,))  # includes max(lengths) < T
    h0 = torch.randn(layers * (2 if bidir else 1), B, 4)
    y1, h1 = fast(x, h0, lengths=lengths)
    y2, h2 = ref(x, h0, lengths=lengths)
    torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h1, h2, atol=1e-5, rtol=1e-5)
    g1 = torch.autograd.grad(y1.sum() + h1.sum(), list(fast.parameters()))
    g2 = torch.autograd.grad(y2.sum() + h2.sum(), list(ref.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_parallel_equals_step_by_step(kind):
    torch.manual_seed(0)
    layer = LAYERS[kind](3, 5, num_layers=2, scan="chunked")
    x = torch.randn(12, 2, 3)  # (T, B, I)
    y, h = layer(x)
    state = None
    for t in range(12):
        y_t, state = layer.step(x[t], state)
        torch.testing.assert_close(y_t, y[t], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state, h, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_gradcheck_float64(kind):
    torch.manual_seed(0)
    layer = LAYERS[kind](2, 3, batch_first=True, dtype=torch.float64)
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h0, *w: layer(x, h0)[0], (x, h0, *layer.parameters()), fast_mode=True)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_cell_in_recurrent_equals_layer(kind):
    torch.manual_seed(0)
    layer = LAYERS[kind](3, 4, batch_first=True)
    cell = {"mingru": rnn.MinGRUCell, "minlstm": rnn.MinLSTMCell}[kind](3, 4)
    cell.load_state_dict({"weight_ih": layer.weight_ih_l0, "bias_ih": layer.bias_ih_l0})
    x = torch.randn(2, 7, 3)
    y1, _ = layer(x, lengths=[7, 4])
    y2, _ = rnn.Recurrent(cell, batch_first=True)(x, lengths=[7, 4])
    torch.testing.assert_close(y1, y2)
    state = cell.initial_state(2, x.device, x.dtype)
    for t in range(7):
        y_t, state = cell.step(x[:, t], state)
    torch.testing.assert_close(y_t, layer(x)[0][:, -1], atol=1e-6, rtol=1e-6)


def test_minlstm_matches_the_paper_formula():
    torch.manual_seed(0)
    layer = rnn.MinLSTM(2, 3, batch_first=True)
    x = torch.randn(1, 4, 2)
    kf, ki, v = torch.nn.functional.linear(x, layer.weight_ih_l0, layer.bias_ih_l0).chunk(3, -1)
    f, i = torch.sigmoid(kf), torch.sigmoid(ki)
    htil = torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
    h, hs = torch.zeros(1, 3), []
    for t in range(4):
        h = f[:, t] / (f[:, t] + i[:, t]) * h + i[:, t] / (f[:, t] + i[:, t]) * htil[:, t]
        hs.append(h)
    torch.testing.assert_close(layer(x)[0], torch.stack(hs, 1))


def test_parameter_names_and_state_dict_round_trip():
    a = rnn.MinGRU(3, 4, num_layers=2, bidirectional=True)
    assert sorted(a.state_dict()) == sorted(
        f"{w}_l{k}{s}" for w in ("weight_ih", "bias_ih") for k in (0, 1) for s in ("", "_reverse")
    )
    assert a.weight_ih_l1.shape == (8, 8)
    b = rnn.MinGRU(3, 4, num_layers=2, bidirectional=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(a(x)[0], b(x)[0])


def test_bad_scan_method():
    with pytest.raises(ValueError) as err:
        rnn.MinGRU(3, 4, scan="log")
    assert str(err.value) == "MinGRU: expected scan to be one of auto, chunked, sequential, reference, got 'log'"
