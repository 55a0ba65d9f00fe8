"""rnnkit.interop.layout: the gate and bias conversions, against each other and against the equations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.interop.layout import keras_to_torch, reorder, torch_to_keras, torch_to_onnx


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_torch_keras_torch_round_trip_keeps_the_function(kind):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    g = torch.Generator().manual_seed(0)
    w = {n: torch.randn(G * 5, i, generator=g) for n, i in (("weight_ih", 3), ("weight_hh", 5))}
    b = {n: torch.randn(G * 5, generator=g) for n in ("bias_ih", "bias_hh")}
    back = keras_to_torch(kind, *torch_to_keras(kind, w["weight_ih"], w["weight_hh"], b["bias_ih"], b["bias_hh"]))
    assert torch.equal(back["weight_ih"], w["weight_ih"]) and torch.equal(back["weight_hh"], w["weight_hh"])
    if kind == "gru":  # two bias rows survive as they are
        assert torch.equal(back["bias_ih"], b["bias_ih"]) and torch.equal(back["bias_hh"], b["bias_hh"])
    else:  # one Keras bias: only the sum is defined
        torch.testing.assert_close(back["bias_ih"] + back["bias_hh"], b["bias_ih"] + b["bias_hh"])


def test_keras_gru_gate_order_is_z_r_h():
    H = 2
    kernel = np.concatenate([np.full((1, H), v) for v in (1.0, 2.0, 3.0)], axis=1)  # z, r, h blocks
    w = keras_to_torch("gru", kernel, np.zeros((H, 3 * H)), np.zeros((2, 3 * H)))
    assert w["weight_ih"][:, 0].tolist() == [2.0, 2.0, 1.0, 1.0, 3.0, 3.0]  # torch r, z, n


def test_onnx_lstm_order_is_i_o_f_c():
    w = torch.arange(4.0).repeat_interleave(2)[:, None]  # torch i, f, g, o blocks of 2
    W, _, B = torch_to_onnx("lstm", w, w, None, None)
    assert W[:, 0].tolist() == [0.0, 0.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0]
    assert B.abs().sum() == 0 and B.shape == (16,)


def test_reorder_is_invertible():
    x = torch.randn(12, 3)
    assert torch.equal(reorder(reorder(x, "ifgo", "iofg"), "iofg", "ifgo"), x)
