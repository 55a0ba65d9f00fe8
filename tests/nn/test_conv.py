"""ConvLSTM/ConvGRU: shapes, lengths, states and step; a 1x1 kernel on 1x1 frames is exactly the LSTM/GRU."""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rnn

KINDS = {"lstm": (rnn.ConvLSTM, torch.nn.LSTM), "gru": (rnn.ConvGRU, torch.nn.GRU)}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_by_one_convolution_is_the_fused_layer(kind):
    torch.manual_seed(0)
    conv_cls, ref_cls = KINDS[kind]
    conv = conv_cls(3, 4, num_layers=2, kernel_size=1, bidirectional=True)
    ref = ref_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    ref.load_state_dict({k: v.flatten(1) if v.dim() == 4 else v for k, v in conv.state_dict().items()})
    x = torch.randn(2, 5, 3)
    y, h = conv(x[..., None, None])
    y_ref, h_ref = ref(x)
    torch.testing.assert_close(y[..., 0, 0], y_ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(h if isinstance(h, tuple) else (h,), h_ref if isinstance(h_ref, tuple) else (h_ref,)):
        torch.testing.assert_close(a[..., 0, 0], b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_lengths_hx_and_step(kind):
    torch.manual_seed(0)
    layer = KINDS[kind][0](2, 3, kernel_size=3)
    x = torch.randn(3, 4, 2, 5, 6)  # (B, T, C, H, W)
    lengths = [4, 2, 3]
    y, state = layer(x, lengths=lengths)
    assert y.shape == (3, 4, 3, 5, 6)
    states = state if isinstance(state, tuple) else (state,)
    for b, n in enumerate(lengths):
        y_b, s_b = layer(x[b : b + 1, :n])
        torch.testing.assert_close(y[b : b + 1, :n], y_b, atol=1e-5, rtol=1e-5)
        assert torch.all(y[b, n:] == 0)
        for a, s in zip(states, s_b if isinstance(s_b, tuple) else (s_b,)):
            torch.testing.assert_close(a[:, b : b + 1], s, atol=1e-5, rtol=1e-5)
    s = None
    for t in range(4):
        y_t, s = layer.step(x[:, t], s)
        torch.testing.assert_close(y_t, layer(x)[0][:, t], atol=1e-5, rtol=1e-5)
    y2, _ = layer(x[:, 2:], hx=layer(x[:, :2])[1])  # a state carried across calls
    torch.testing.assert_close(y2, layer(x)[0][:, 2:], atol=1e-5, rtol=1e-5)


def test_gradcheck_float64():
    torch.manual_seed(0)
    layer = rnn.ConvLSTM(1, 2, kernel_size=3).double()
    x = torch.randn(1, 3, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, *w: layer(x)[0], (x, *layer.parameters()), fast_mode=True)


def test_bad_input_shape():
    with pytest.raises(ValueError) as err:
        rnn.ConvLSTM(3, 4)(torch.randn(2, 5, 3))
    assert str(err.value) == "ConvLSTM: expected input of shape (B, T, C, H, W) with C=3, got (2, 5, 3)"
