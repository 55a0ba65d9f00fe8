"""The layer registry: names, cell objects and classes all become layers with the shared machinery."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit.nn as rnn


class PeepholeLSTMCell(nn.Module):
    """A user's cell, written only against the Cell protocol (a short copy of tests/nn/test_recurrent.py's)."""

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
        c = torch.sigmoid(f + self.peep[1] * c) * c + torch.sigmoid(i + self.peep[0] * c) * torch.tanh(g)
        h = torch.sigmoid(o + self.peep[2] * c) * torch.tanh(c)
        return h, (h, c)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_stock_names_are_the_fused_layers(name):
    torch.manual_seed(0)
    layer = rnn.make_layer(name, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    assert type(layer).__name__ == name.upper()
    ref = getattr(torch.nn, name.upper())(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(layer(x)[0], ref(x)[0])


def test_every_registered_name_builds_a_layer_that_runs_with_lengths():
    for name in rnn.cell_names():
        if name.startswith("conv"):
            continue  # (B, T, C, H, W) input: tests/nn/test_conv.py
        layer = rnn.make_layer(name, 3, 4, num_layers=2, batch_first=True)
        y, _ = layer(torch.randn(2, 5, 3), lengths=[5, 2])
        assert y.shape == (2, 5, 4), name
        assert torch.all(y[1, 2:] == 0), name


def test_a_cell_object_and_a_cell_class_go_through_recurrent():
    layer = rnn.make_layer(PeepholeLSTMCell(3, 4), 3, 4, batch_first=True)
    assert isinstance(layer, rnn.Recurrent)
    stacked = rnn.make_layer(PeepholeLSTMCell, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    assert stacked.cells[2].input_size == 8
    y, (h, _c) = stacked(torch.randn(2, 5, 3), lengths=[5, 3])
    assert y.shape == (2, 5, 8) and h.shape == (4, 2, 4)


def test_register_cell_then_make_layer_by_name():
    rnn.register_cell("test_wide_gru", lambda i, h, **kw: rnn.GRU(i, 2 * h, **kw))
    try:
        assert rnn.make_layer("test_wide_gru", 3, 4).hidden_size == 8
        with pytest.raises(ValueError, match="already registered"):
            rnn.register_cell("test_wide_gru", rnn.GRU)
    finally:
        from rnnkit.nn import registry

        registry._REGISTRY.pop("test_wide_gru")


def test_unknown_name_says_what_exists():
    with pytest.raises(ValueError) as err:
        rnn.make_layer("lstn", 3, 4)
    assert str(err.value).startswith("make_layer: unknown cell 'lstn'; expected one of rnn, lstm, gru")


def test_cell_object_with_wrong_sizes():
    with pytest.raises(ValueError) as err:
        rnn.make_layer(PeepholeLSTMCell(3, 4), 3, 5)
    assert str(err.value) == (
        "make_layer: the PeepholeLSTMCell has input_size=3 and output_size=4, but the layer asks for 3 and 5"
    )


def test_indrnn_equals_its_formula():
    torch.manual_seed(0)
    layer = rnn.make_layer("indrnn", 2, 3, batch_first=True)
    x = torch.randn(1, 4, 2)
    h, hs = torch.zeros(1, 3), []
    for t in range(4):
        h = torch.relu(x[:, t] @ layer.weight_ih_l0.T + layer.bias_ih_l0 + layer.weight_hh_l0 * h)
        hs.append(h)
    torch.testing.assert_close(layer(x)[0], torch.stack(hs, 1))
    assert torch.autograd.gradcheck(
        lambda x, *w: layer.double()(x)[0], (x.double().requires_grad_(), *layer.double().parameters()), fast_mode=True
    )
