"""The extended GRU recurrence over a whole block of time, as ONE autograd function with a hand-written backward
(why: see :mod:`rnnkit.nn.lstm_seq`).

The step, with every option (gate order ``r, z, n`` as in :mod:`rnnkit.nn.cells`)::

    hm = h * m                                   recurrent dropout: one mask m (B, H) per sequence
    a = LN(hm W_hh^T) * w_ln_hh + b_hh           (B, 3H); without layer norm a = hm W_hh^T + b_hh
    r = sigmoid(gx_r + a_r);  z = sigmoid(gx_z + a_z)
    n = tanh(gx_n + r * a_n)                     (the reset gate multiplies b_hn too, as torch.nn.GRU)
    h~ = n + z * (h - n)                         = (1 - z) * n + z * h (the unmasked h)
    h' = h~ + zh * (h - h~)                      zoneout: zh in {0, 1} in training, the probability in eval

``gx_t`` already holds ``LN(W_ih x_t) * w_ln_ih + b_ih`` (or ``W_ih x_t + b_ih``). Time-major: gx (T, B, 3H).

Shapes: B batch, T time steps, H hidden features.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn.lstm_seq import EPS, _ln_backward


def gru_step(
    gx: Tensor,
    h: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    ln_hh: Tensor | None = None,
    mask: Tensor | None = None,
    zone: Tensor | None = None,
) -> Tensor:
    """One step in plain autograd operations (module docstring): gx (B, 3H), h (B, H) -> h' (B, H)."""
    H = h.shape[1]
    a = (h if mask is None else h * mask) @ w_hh.t()  # (B, 3H)
    if ln_hh is not None:
        a = F.layer_norm(a, (3 * H,), eps=EPS) * ln_hh
    if b_hh is not None:
        a = a + b_hh
    xr, xz, xn = gx.chunk(3, 1)
    ar, az, an = a.chunk(3, 1)
    r, z = torch.sigmoid(xr + ar), torch.sigmoid(xz + az)
    n = torch.tanh(xn + r * an)
    h_new = n + z * (h - n)
    return h_new if zone is None else h_new + zone * (h - h_new)


def gru_reference(gx: Tensor, h: Tensor, w_hh: Tensor, *args: Any, zones: Tensor | None = None) -> tuple:
    """The step loop in plain autograd: gx (T, B, 3H) -> y (T, B, H), h_T. ``zones`` (T, B, H) or None."""
    ys = []
    for t in range(gx.shape[0]):
        h = gru_step(gx[t], h, w_hh, *args, zone=None if zones is None else zones[t])  # type: ignore[misc]
        ys.append(h)
    return torch.stack(ys), h


class GRUSequence(torch.autograd.Function):
    """``GRUSequence.apply(gx, h0, w_hh, b_hh, ln_hh, mask, zones)`` -> (y, h_T): the loop of :func:`gru_step`
    over time-major gx (T, B, 3H), y (T, B, H); None for an option that is off, ``zones`` (T, B, H)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        gx: Tensor,
        h0: Tensor,
        w_hh: Tensor,
        b_hh: Tensor | None,
        ln_hh: Tensor | None,
        mask: Tensor | None,
        zones: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        T, B, G = gx.shape
        H = G // 3
        new: dict[str, Any] = {"dtype": gx.dtype, "device": gx.device}
        y = torch.empty(T, B, H, **new)
        act = torch.empty(T, B, G, **new)  # r, z, n
        a_n = torch.empty(T, B, H, **new)  # the recurrent part of n, after layer norm and bias
        hm_all = torch.empty(T, B, H, **new) if mask is not None else None
        a_hat = torch.empty(T, B, G, **new) if ln_hh is not None else None
        rstd_a = torch.empty(T, B, 1, **new) if ln_hh is not None else None
        h = h0
        w_t = w_hh.t()
        for t in range(T):
            hm = h if mask is None else torch.mul(h, mask, out=hm_all[t])  # type: ignore[index]
            a = hm @ w_t  # (B, 3H)
            if ln_hh is not None:
                assert a_hat is not None and rstd_a is not None
                a, _, rstd = torch.native_layer_norm(a, [G], None, None, EPS)
                a_hat[t], rstd_a[t] = a, rstd
                a = a * ln_hh
            if b_hh is not None:
                a += b_hh
            a_t = act[t]
            torch.sigmoid(torch.add(gx[t, :, : 2 * H], a[:, : 2 * H]), out=a_t[:, : 2 * H])
            a_n[t] = a[:, 2 * H :]
            n = torch.tanh(torch.addcmul(gx[t, :, 2 * H :], a_t[:, :H], a[:, 2 * H :]), out=a_t[:, 2 * H :])
            h_new = torch.addcmul(n, a_t[:, H : 2 * H], h - n, out=y[t])
            if zones is not None:
                h_new.lerp_(h, zones[t])
            h = h_new
        ctx.save_for_backward(h0, w_hh, b_hh, ln_hh, mask, zones, y, act, a_n, hm_all, a_hat, rstd_a)
        return y, y[-1].clone()

    @staticmethod
    def backward(ctx: Any, dy: Tensor, dh_T: Tensor) -> tuple[Tensor | None, ...]:
        h0, w_hh, b_hh, ln_hh, mask, zones, y, act, a_n, hm_all, a_hat, rstd_a = ctx.saved_tensors
        T, B, H = y.shape
        G = 3 * H
        dgx = torch.empty_like(act)  # (T, B, 3H) dL/d(gx)
        da_all = torch.empty_like(act)  # dL/da, a after layer norm and bias
        raw_all = torch.empty_like(act) if ln_hh is not None else None  # dL/d(hm W_hh^T)
        dh = dh_T.clone()
        for t in range(T - 1, -1, -1):
            dh += dy[t]
            h_prev = y[t - 1] if t > 0 else h0
            if zones is not None:
                dh_keep, dh = dh * zones[t], dh * (1 - zones[t])
            r, z, n = act[t, :, :H], act[t, :, H : 2 * H], act[t, :, 2 * H :]
            dpre, da = dgx[t], da_all[t]
            dpre_n = torch.mul(dh, 1 - z, out=dpre[:, 2 * H :]).mul_(torch.addcmul(torch.ones_like(n), n, n, value=-1))
            torch.mul(dpre_n, r, out=da[:, 2 * H :])
            torch.mul(dpre_n, a_n[t], out=dpre[:, :H]).mul_(torch.addcmul(r, r, r, value=-1))
            torch.mul(dh, h_prev - n, out=dpre[:, H : 2 * H]).mul_(torch.addcmul(z, z, z, value=-1))
            da[:, : 2 * H] = dpre[:, : 2 * H]
            dh_prev = dh * z
            if raw_all is not None:
                raw_all[t] = d_raw = _ln_backward(da * ln_hh, a_hat[t], rstd_a[t])
            else:
                d_raw = da
            dhm = d_raw @ w_hh  # (B, H)
            if mask is not None:
                dhm.mul_(mask)
            dh = dh_prev.add_(dhm)
            if zones is not None:
                dh.add_(dh_keep)
        need = ctx.needs_input_grad
        raw: Tensor = raw_all if raw_all is not None else da_all  # (T, B, 3H) dL/d(hm W_hh^T)
        d_w_hh = None
        if need[2]:
            if hm_all is not None:
                d_w_hh = raw.reshape(T * B, G).t() @ hm_all.reshape(T * B, H)
            else:
                d_w_hh = raw[0].t() @ h0
                if T > 1:
                    d_w_hh.addmm_(raw[1:].reshape((T - 1) * B, G).t(), y[:-1].reshape((T - 1) * B, H))
        d_b_hh = da_all.sum((0, 1)) if b_hh is not None and need[3] else None
        d_ln_hh = (da_all * a_hat).sum((0, 1)) if ln_hh is not None and need[4] else None
        return dgx, dh, d_w_hh, d_b_hh, d_ln_hh, None, None
