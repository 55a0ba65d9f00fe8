"""Recurrent(cell): with the stock cells it equals the fused layers; a user's own cell gets the same machinery."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import rnnkit.nn as rnn

PAIRS = {"lstm": (rnn.LSTMCell, rnn.LSTM), "gru": (rnn.GRUCell, rnn.GRU), "rnn": (rnn.RNNCell, rnn.RNN)}


def copy_fused_into_recurrent(fused, rec):
    """Fused weight_ih_l{l}[_reverse] -> Recurrent cells[l * D + d].weight_ih (same layout, one place)."""
    D = 2 if fused.bidirectional else 1
    for layer in range(fused.num_layers):
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            cell = rec.cells[layer * D + d]
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).data.copy_(getattr(fused, name + suffix))


def states(h):
    return h if isinstance(h, tuple) else (h,)


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(sorted(PAIRS)),
    layers=st.integers(1, 3),
    bidir=st.booleans(),
    batch_first=st.booleans(),
    B=st.integers(1, 4),
    T=st.integers(1, 7),
    varlen=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_recurrent_with_stock_cells_equals_fused(kind, layers, bidir, batch_first, B, T, varlen, seed):
    torch.manual_seed(seed)
    cell_cls, fused_cls = PAIRS[kind]
    fused = fused_cls(3, 5, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    rec = rnn.Recurrent(cell_cls(3, 5), num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    copy_fused_into_recurrent(fused, rec)
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3))
    lengths = torch.randint(1, T + 1, (B,)) if varlen else None
    y1, h1 = fused(x, lengths=lengths)
    y2, h2 = rec(x, lengths=lengths)
    torch.testing.assert_close(y2, y1, atol=1e-5, rtol=0)
    for a, b in zip(states(h2), states(h1)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    (y1.sum() + sum(s.sum() for s in states(h1))).backward()
    (y2.sum() + sum(s.sum() for s in states(h2))).backward()
    D = 2 if bidir else 1
    for layer in range(layers):
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            g = rec.cells[layer * D + d].weight_hh.grad
            torch.testing.assert_close(g, getattr(fused, "weight_hh" + suffix).grad, atol=1e-5, rtol=0)


class PeepholeLSTMCell(nn.Module):
    """A user's own cell (an LSTM with diagonal peepholes), written only against the Cell protocol."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.linear = nn.Linear(input_size + hidden_size, 4 * hidden_size)
        self.peep = nn.Parameter(torch.randn(3, hidden_size) * 0.1)

    def initial_state(self, batch_size, device, dtype):
        z = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        return (z, z.clone())

    def step(self, x, state):
        h, c = state
        i, f, g, o = self.linear(torch.cat([x, h], 1)).chunk(4, 1)
        i = torch.sigmoid(i + self.peep[0] * c)
        f = torch.sigmoid(f + self.peep[1] * c)
        c = f * c + i * torch.tanh(g)
        h = torch.sigmoid(o + self.peep[2] * c) * torch.tanh(c)
        return h, (h, c)


def test_custom_cell_gets_stacking_directions_and_lengths():
    torch.manual_seed(0)
    layer = rnn.Recurrent(
        PeepholeLSTMCell(3, 4),
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        make_cell=lambda n: PeepholeLSTMCell(n, 4),
    )
    assert layer.cells[2].input_size == 8  # layer 1 reads both directions
    lengths = [5, 2, 3]
    x = torch.randn(3, 5, 3)
    y, (h, c) = layer(x, lengths=lengths)
    assert y.shape == (3, 5, 8) and h.shape == (4, 3, 4)
    for b, n in enumerate(lengths):
        y_b, (_h_b, c_b) = layer(x[b : b + 1, :n])
        torch.testing.assert_close(y[b : b + 1, :n], y_b, atol=1e-6, rtol=0)
        torch.testing.assert_close(c[:, b : b + 1], c_b, atol=1e-6, rtol=0)
        assert torch.all(y[b, n:] == 0)


def test_custom_cell_step_equals_whole_and_scan_fast_path_is_used():
    torch.manual_seed(1)
    calls = []

    class ScanCell(PeepholeLSTMCell):
        def scan(self, x, state):
            calls.append(x.shape)
            ys = []
            for t in range(x.shape[1]):
                y, state = self.step(x[:, t], state)
                ys.append(y)
            return torch.stack(ys, 1), state

    layer = rnn.Recurrent(ScanCell(2, 3), batch_first=True)
    x = torch.randn(2, 4, 2)
    y, (_h, _c) = layer(x)
    assert calls == [(2, 4, 2)]
    state = None
    for t in range(4):
        y_t, state = layer.step(x[:, t], state)
        torch.testing.assert_close(y_t, y[:, t])


def test_stacking_a_cell_without_clone_needs_make_cell():
    with pytest.raises(ValueError) as err:
        rnn.Recurrent(PeepholeLSTMCell(3, 4), num_layers=2)
    assert str(err.value) == (
        "Recurrent: a stacked layer needs a PeepholeLSTMCell with input_size=4, but the given cell has input_size=3 "
        "and no clone(input_size) method; pass make_cell=lambda n: PeepholeLSTMCell(n, ...)"
    )


def test_recurrent_rejects_a_non_cell():
    with pytest.raises(TypeError) as err:
        rnn.Recurrent(nn.Linear(3, 4))
    assert str(err.value) == (
        "Recurrent: expected a cell module with input_size, output_size, initial_state() and step() "
        "(see rnnkit.nn.cells.Cell), got Linear"
    )


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="dropout acts between layers"):
        rnn.Recurrent(rnn.GRUCell(2, 3), dropout=0.2)
