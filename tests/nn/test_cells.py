"""The three cells against a float64 NumPy oracle written from the equations in rnnkit.nn.cells:
forward over a sequence and hand-written BPTT gradients, checked on the cells (through Recurrent) and on the
fused layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit.nn as rnn


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def oracle(kind, x, h0, c0, W_ih, W_hh, b_ih, b_hh, G_h, G_c):
    """Forward and BPTT for loss = sum_t <G_h[t], h_t> + <G_c, c_T>. x (T, B, I). Returns hs and gradients."""
    T = x.shape[0]
    H = W_hh.shape[1]
    h, c = h0, c0
    cache, hs = [], []
    for t in range(T):
        gi = x[t] @ W_ih.T + b_ih  # (B, G*H)
        gh = h @ W_hh.T + b_hh
        if kind in ("rnn_tanh", "rnn_relu"):
            a = gi + gh
            h_new = np.tanh(a) if kind == "rnn_tanh" else np.maximum(a, 0)
            cache.append((h, a, h_new))
        elif kind == "lstm":
            a = gi + gh
            i, f, g, o = (
                sigmoid(a[:, :H]),
                sigmoid(a[:, H : 2 * H]),
                np.tanh(a[:, 2 * H : 3 * H]),
                sigmoid(a[:, 3 * H :]),
            )
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            cache.append((h, c, i, f, g, o, c_new))
            c = c_new
        else:  # gru: r, z, n
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            h_new = (1 - z) * n + z * h
            cache.append((h, r, z, n, gh[:, 2 * H :]))
        h = h_new
        hs.append(h)
    grads = {k: np.zeros_like(v) for k, v in dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh).items()}
    dx = np.zeros_like(x)
    dh_next = np.zeros_like(h0)
    dc_next = G_c.copy() if kind == "lstm" else None
    for t in reversed(range(T)):
        dh = G_h[t] + dh_next
        if kind in ("rnn_tanh", "rnn_relu"):
            h_prev, a, h_new = cache[t]
            da = dh * (1 - h_new**2) if kind == "rnn_tanh" else dh * (a > 0)
            dgi = dgh = da
        elif kind == "lstm":
            h_prev, c_prev, i, f, g, o, c_new = cache[t]
            tc = np.tanh(c_new)
            dc = dc_next + dh * o * (1 - tc**2)
            da = np.concatenate(
                [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), dh * tc * o * (1 - o)], axis=1
            )
            dc_next = dc * f
            dgi = dgh = da
        else:
            h_prev, r, z, n, ghn = cache[t]
            dn = dh * (1 - z)
            dz = dh * (h_prev - n)
            dan = dn * (1 - n**2)
            dar = dan * ghn * r * (1 - r)
            daz = dz * z * (1 - z)
            dgi = np.concatenate([dar, daz, dan], axis=1)
            dgh = np.concatenate([dar, daz, dan * r], axis=1)
        grads["W_ih"] += dgi.T @ x[t]
        grads["b_ih"] += dgi.sum(0)
        grads["W_hh"] += dgh.T @ h_prev
        grads["b_hh"] += dgh.sum(0)
        dx[t] = dgi @ W_ih
        dh_next = dgh @ W_hh + (dh * z if kind == "gru" else 0)
    grads["x"], grads["h0"] = dx, dh_next
    if kind == "lstm":
        grads["c0"] = dc_next
    return np.stack(hs), (c if kind == "lstm" else None), grads


GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def make(kind, I, H, fused):
    if fused:
        cls = {"lstm": rnn.LSTM, "gru": rnn.GRU}.get(kind, rnn.RNN)
        kwargs = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
        m = cls(I, H, **kwargs).double()
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    else:
        cls = {"lstm": rnn.LSTMCell, "gru": rnn.GRUCell}.get(kind, rnn.RNNCell)
        kwargs = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
        m = rnn.Recurrent(cls(I, H, **kwargs).double())
        names = ("cells.0.weight_ih", "cells.0.weight_hh", "cells.0.bias_ih", "cells.0.bias_hh")
    return m, names


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(GATES)),
    fused=st.booleans(),
    I=st.integers(1, 5),
    H=st.integers(1, 6),
    B=st.integers(1, 4),
    T=st.integers(1, 8),
    seed=st.integers(0, 2**31 - 1),
)
def test_forward_and_bptt_match_numpy_oracle(kind, fused, I, H, B, T, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    m, names = make(kind, I, H, fused)
    params = dict(m.named_parameters())
    W_ih, W_hh, b_ih, b_hh = (params[n].detach().numpy() for n in names)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((B, H)) * 0.5
    c0 = rng.standard_normal((B, H)) * 0.5
    G_h = rng.standard_normal((T, B, H))
    G_c = rng.standard_normal((B, H))
    hs, c_T, grads = oracle(kind, x, h0, c0, W_ih, W_hh, b_ih, b_hh, G_h, G_c)

    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    y, h_n = m(xt, (h0t, c0t) if kind == "lstm" else h0t)
    loss = (y * torch.tensor(G_h)).sum()
    if kind == "lstm":
        loss = loss + (h_n[1][0] * torch.tensor(G_c)).sum()
        np.testing.assert_allclose(h_n[1][0].detach().numpy(), c_T, rtol=1e-10, atol=1e-12)
    loss.backward()
    np.testing.assert_allclose(y.detach().numpy(), hs, rtol=1e-10, atol=1e-12)
    for n, key in zip(names, ("W_ih", "W_hh", "b_ih", "b_hh")):
        np.testing.assert_allclose(params[n].grad.numpy(), grads[key], rtol=1e-8, atol=1e-10, err_msg=n)
    np.testing.assert_allclose(xt.grad.numpy(), grads["x"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h0t.grad[0].numpy(), grads["h0"], rtol=1e-8, atol=1e-10)
    if kind == "lstm":
        np.testing.assert_allclose(c0t.grad[0].numpy(), grads["c0"], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cls", [rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell])
def test_cells_are_torch_cells(cls):
    torch.manual_seed(0)
    ours = cls(3, 4)
    ref = getattr(torch.nn, cls.__name__)(3, 4)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3)
    torch.testing.assert_close(ours(x), ref(x))
    clone = ours.clone(7)
    assert type(clone) is cls and clone.input_size == 7 and clone.hidden_size == 4
