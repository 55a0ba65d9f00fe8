"""The extended LSTM recurrence over a whole block of time, as ONE autograd function with a hand-written backward.

A Python loop of autograd operations pays per step for every node of the graph, forward and backward; torch.nn's
fused kernel does not. :class:`LSTMSequence` runs the loop without a graph (a few in-place operations per step
into preallocated buffers), saves what the backward needs, and runs a hand-written backward loop whose weight
gradients are ONE matrix product over all steps (``dW_hh = sum_t da_t^T hm_{t-1}``). The input projection
``W_ih x + b`` is outside, one matrix product for all steps, under ordinary autograd.

The step, with every option (see :mod:`rnnkit.nn.cells` for the plain LSTM and the gate order ``i, f, g, o``)::

    hm = h * m                                   recurrent dropout: one mask m (B, H) per sequence (Gal 2016)
    a = hm W_hh^T                                (B, 4H)
    pre = gx_t + LN(a) * w_ln_hh                 layer norm of the recurrent part (Ba et al. 2016), else gx_t + a
    pre_i += p_i * c;  pre_f += p_f * c          peepholes (Gers & Schmidhuber 2000)
    i, f, o = sigmoid(pre_i, pre_f, pre_o);  g = tanh(pre_g)
    c~ = f * c + i * g
    o = sigmoid(pre_o + p_o * c~)                with peepholes: the output gate sees the new cell
    h~ = o * tanh(LN(c~) * w_ln_c + b_ln_c)      layer norm of the cell before its tanh
    c' = c~ + zc * (c - c~);  h' = h~ + zh * (h - h~)     zoneout (Krueger et al. 2016): zc, zh in {0, 1} per
                                                 unit and step in training, the keep probability p in eval

``gx_t`` already holds ``LN(W_ih x_t) * w_ln_ih + b_ih + b_hh`` (or ``W_ih x_t + b_ih + b_hh``).
:func:`lstm_reference` is the same step in plain autograd operations, the reference for the tests.

Shapes: B batch, T time steps, H hidden features.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn import native

EPS = 1e-5  # layer-norm epsilon, as torch.nn.LayerNorm


def lstm_step(
    gx: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    ln_hh: Tensor | None = None,
    ln_c: tuple[Tensor, Tensor] | None = None,
    peep: Tensor | None = None,
    mask: Tensor | None = None,
    zone: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """One step in plain autograd operations (module docstring): gx (B, 4H), h, c (B, H) -> h', c' (B, H).
    ``zone`` is (zh, zc), each (B, H) or a float tensor."""
    H = h.shape[1]
    a = (h if mask is None else h * mask) @ w_hh.t()  # (B, 4H)
    pre = gx + (a if ln_hh is None else F.layer_norm(a, (4 * H,), eps=EPS) * ln_hh)
    pi, pf, pg, po = pre.chunk(4, 1)
    if peep is not None:
        pi, pf = pi + peep[:H] * c, pf + peep[H : 2 * H] * c
    i, f, g = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg)
    c_new = f * c + i * g
    o = torch.sigmoid(po if peep is None else po + peep[2 * H :] * c_new)
    n = c_new if ln_c is None else F.layer_norm(c_new, (H,), ln_c[0], ln_c[1], eps=EPS)
    h_new = o * torch.tanh(n)
    if zone is not None:
        h_new, c_new = h_new + zone[0] * (h - h_new), c_new + zone[1] * (c - c_new)
    return h_new, c_new


def lstm_reference(gx: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, *args: Any, zones: Tensor | None = None) -> tuple:
    """The step loop in plain autograd: gx (T, B, 4H) -> y (T, B, H), h_T, c_T. ``zones`` (2, T, B, H) or None."""
    ys = []
    for t in range(gx.shape[0]):
        zone = None if zones is None else (zones[0, t], zones[1, t])
        h, c = lstm_step(gx[t], h, c, w_hh, *args, zone=zone)  # type: ignore[misc]
        ys.append(h)
    return torch.stack(ys), h, c


def _ln_backward(dy: Tensor, y_hat: Tensor, rstd: Tensor) -> Tensor:
    """Gradient through y_hat = (x - mean) * rstd over the last dimension, without an affine part."""
    m1 = dy.mean(-1, keepdim=True)
    m2 = (dy * y_hat).mean(-1, keepdim=True)
    return (dy - m1 - y_hat * m2) * rstd


class LSTMSequence(torch.autograd.Function):
    """``LSTMSequence.apply(gx, h0, c0, w_hh, ln_hh, ln_c_w, ln_c_b, peep, mask, zones)`` -> (y, h_T, c_T):
    the loop of :func:`lstm_step` over TIME-MAJOR gx (T, B, 4H), y (T, B, H). Optional arguments are None when
    the option is off; ``zones`` (2, T, B, H) holds zh and zc per step (masks in training, the probability in
    eval). Time-major, so that every per-step slice is contiguous (measured: strided slices made ``tanh`` 10x
    slower); the per-step terms of the backward are computed inside its loop on (B, H) slices rather than for
    all steps at once, because fresh (T, B, H) buffers cost more in page faults than they save.

    On CPU the same loops run compiled (:mod:`rnnkit.nn.native`, ``csrc/lstm_seq.cpp``) when that module could be
    built; the Python loops below are then the reference the tests compare it with."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        gx: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_hh: Tensor,
        ln_hh: Tensor | None,
        ln_c_w: Tensor | None,
        ln_c_b: Tensor | None,
        peep: Tensor | None,
        mask: Tensor | None,
        zones: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        ctx.native = native.lstm_ops() if native.usable(gx, w_hh) else None
        if ctx.native is not None:
            saved = ctx.native.lstm_forward(gx, h0, c0, w_hh, ln_hh, ln_c_w, ln_c_b, peep, mask, zones)
            ctx.save_for_backward(h0, w_hh, ln_hh, ln_c_w, ln_c_b, peep, mask, zones, *saved)
            y, cs = saved[0], saved[2]  # (T, B, H), (T + 1, B, H)
            return y, y[-1].clone(), cs[-1].clone()
        T, B, G = gx.shape
        H = G // 4
        new: dict[str, Any] = {"dtype": gx.dtype, "device": gx.device}
        y = torch.empty(T, B, H, **new)  # h after each step
        act = torch.empty(T, B, G, **new)  # i, f, g, o activations
        cs = torch.empty(T + 1, B, H, **new)  # c0, then c after each step (after zoneout)
        c_til = torch.empty(T, B, H, **new) if peep is not None else None  # c~ before zoneout
        tn = torch.empty(T, B, H, **new)  # tanh(n)
        hm_all = torch.empty(T, B, H, **new) if mask is not None else None  # the recurrent matmul's inputs
        # Layer norms: their inputs and statistics, for torch's fused layer-norm backward.
        a_hat = torch.empty(T, B, G, **new) if ln_hh is not None else None  # hm W_hh^T before its norm
        rstd_a = torch.empty(2, T, B, 1, **new) if ln_hh is not None else None  # mean, rstd
        n_hat = torch.empty(T, B, H, **new) if ln_c_w is not None else None  # c~ before its norm
        rstd_c = torch.empty(2, T, B, 1, **new) if ln_c_w is not None else None
        cs[0] = c0
        h = h0
        w_t = w_hh.t()
        for t in range(T):
            c = cs[t]
            hm = h if mask is None else torch.mul(h, mask, out=hm_all[t])  # type: ignore[index]
            if ln_hh is None:
                pre = torch.addmm(gx[t], hm, w_t)  # (B, 4H)
            else:
                assert a_hat is not None and rstd_a is not None
                a = torch.mm(hm, w_t, out=a_hat[t])
                out, rstd_a[0, t], rstd_a[1, t] = torch.native_layer_norm(a, [G], ln_hh, None, EPS)
                pre = torch.add(gx[t], out)
            if peep is not None:
                pre[:, :H].addcmul_(c, peep[:H])
                pre[:, H : 2 * H].addcmul_(c, peep[H : 2 * H])
            a_t = act[t]
            torch.sigmoid(pre[:, : 2 * H], out=a_t[:, : 2 * H])
            torch.tanh(pre[:, 2 * H : 3 * H], out=a_t[:, 2 * H : 3 * H])
            i, f, g = a_t[:, :H], a_t[:, H : 2 * H], a_t[:, 2 * H : 3 * H]
            c_new = torch.addcmul(f * c, i, g)  # (B, H) c~
            if peep is not None:
                assert c_til is not None
                c_til[t] = c_new
                torch.sigmoid(torch.addcmul(pre[:, 3 * H :], peep[2 * H :], c_new), out=a_t[:, 3 * H :])
            else:
                torch.sigmoid(pre[:, 3 * H :], out=a_t[:, 3 * H :])
            if ln_c_w is not None:
                assert n_hat is not None and rstd_c is not None and ln_c_b is not None
                n_hat[t] = c_new
                out, rstd_c[0, t], rstd_c[1, t] = torch.native_layer_norm(c_new, [H], ln_c_w, ln_c_b, EPS)
                torch.tanh(out, out=tn[t])
            else:
                torch.tanh(c_new, out=tn[t])
            h_new = torch.mul(a_t[:, 3 * H :], tn[t], out=y[t])
            if zones is not None:
                h_new.lerp_(h, zones[0, t])  # h~ + zh * (h - h~), in y[t]
                torch.lerp(c_new, c, zones[1, t], out=cs[t + 1])
            else:
                cs[t + 1] = c_new
            h = h_new
        ctx.ln_c_b = ln_c_b
        ctx.save_for_backward(
            h0,
            w_hh,
            ln_hh,
            ln_c_w,
            ln_c_b,
            peep,
            mask,
            zones,
            y,
            act,
            cs,
            c_til,
            tn,
            hm_all,
            a_hat,
            rstd_a,
            n_hat,
            rstd_c,
        )
        return y, y[-1].clone(), cs[-1].clone()

    @staticmethod
    def backward(ctx: Any, dy: Tensor, dh_T: Tensor, dc_T: Tensor) -> tuple[Tensor | None, ...]:
        if ctx.native is not None:
            need = ctx.needs_input_grad
            grads = ctx.native.lstm_backward(dy, dh_T, dc_T, *ctx.saved_tensors, need[3], need[7])
            return (*grads, None, None)
        (h0, w_hh, ln_hh, ln_c_w, _, peep, mask, zones, y, act, cs, c_til, tn, hm_all, a_hat, rstd_a, n_hat,
         rstd_c) = ctx.saved_tensors  # fmt: skip
        T, B, H = y.shape
        G = 4 * H
        dgx = torch.empty_like(act)  # (T, B, 4H) dL/dpre
        da_all = torch.empty_like(act) if ln_hh is not None else dgx  # dL/da
        d_ln: list[Any] = [torch.zeros_like(w) if w is not None else None for w in (ln_hh, ln_c_w, ctx.ln_c_b)]
        ln_grad = torch.ops.aten.native_layer_norm_backward
        dh = dh_T.clone()
        dc = dc_T.clone()
        for t in range(T - 1, -1, -1):
            dh += dy[t]
            if zones is not None:
                zh, zc = zones[0, t], zones[1, t]
                dh_keep, dh = dh * zh, dh * (1 - zh)  # to h_{t-1} directly; to h~
                dc_keep, dc = dc * zc, dc * (1 - zc)
            a_t, tn_t, dpre = act[t], tn[t], dgx[t]
            i, f, g, o = a_t[:, :H], a_t[:, H : 2 * H], a_t[:, 2 * H : 3 * H], a_t[:, 3 * H :]
            dh_tn = dh * tn_t
            torch.mul(dh_tn, torch.addcmul(o, o, o, value=-1), out=dpre[:, 3 * H :])  # dh * tn * o (1 - o)
            dn = torch.addcmul(dh, dh_tn, tn_t, value=-1).mul_(o)  # dh * o * (1 - tn^2)
            if ln_c_w is not None:
                mean, rstd = rstd_c[0, t], rstd_c[1, t]
                dn, dw, db = ln_grad(dn, n_hat[t], [H], mean, rstd, ln_c_w, ctx.ln_c_b, [True, True, True])
                d_ln[1].add_(dw)
                d_ln[2].add_(db)
            dc_til = dn.add_(dc)
            if peep is not None:
                dc_til.addcmul_(dpre[:, 3 * H :], peep[2 * H :])
            c_prev = cs[t]
            torch.mul(dc_til, g, out=dpre[:, :H]).mul_(torch.addcmul(i, i, i, value=-1))
            torch.mul(dc_til, c_prev, out=dpre[:, H : 2 * H]).mul_(torch.addcmul(f, f, f, value=-1))
            torch.mul(dc_til, i, out=dpre[:, 2 * H : 3 * H]).mul_(torch.addcmul(torch.ones_like(g), g, g, value=-1))
            dc = dc_til.mul_(f)
            if peep is not None:
                dc.addcmul_(dpre[:, :H], peep[:H]).addcmul_(dpre[:, H : 2 * H], peep[H : 2 * H])
            if ln_hh is not None:
                da, dw, _ = ln_grad(dpre, a_hat[t], [G], rstd_a[0, t], rstd_a[1, t], ln_hh, None, [True, True, False])
                da_all[t] = da
                d_ln[0].add_(dw)
            else:
                da = dpre
            dh = da @ w_hh  # (B, H) to hm
            if mask is not None:
                dh.mul_(mask)
            if zones is not None:
                dh.add_(dh_keep)
                dc.add_(dc_keep)
        need = ctx.needs_input_grad
        d_w_hh = None
        if need[3]:  # one matrix product over all steps: sum_t da_t^T hm_{t-1}
            if hm_all is not None:
                d_w_hh = da_all.reshape(T * B, G).t() @ hm_all.reshape(T * B, H)
            else:
                d_w_hh = da_all[0].t() @ h0
                if T > 1:
                    d_w_hh.addmm_(da_all[1:].reshape((T - 1) * B, G).t(), y[:-1].reshape((T - 1) * B, H))
        d_ln_hh, d_ln_c_w, d_ln_c_b = d_ln
        d_peep = None
        if peep is not None and need[7]:
            c_prev_all = cs[:-1]
            d_peep = torch.cat(
                [
                    (dgx[..., :H] * c_prev_all).sum((0, 1)),
                    (dgx[..., H : 2 * H] * c_prev_all).sum((0, 1)),
                    (dgx[..., 3 * H :] * c_til).sum((0, 1)),
                ]
            )
        return dgx, dh, dc, d_w_hh, d_ln_hh, d_ln_c_w, d_ln_c_b, d_peep, None, None
