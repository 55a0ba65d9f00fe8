"""minGRU/minLSTM over a whole sequence in ONE autograd function, from the gate pre-activations to h.

:func:`rnnkit.nn.scan.linear_scan` needs the coefficients ``a, b`` for all steps as (B, T, H) tensors, and
computing them under autograd makes about ten full-size temporaries forward and backward. On CPU those dominate:
at (B, T, H) = (16, 4096, 256) each is 67 MB of fresh memory. This function instead computes the gates of one
step at a time on (B, H) slices, in the forward loop and again (recomputed, not stored) in the backward loop, and
keeps only the gate pre-activations and the outputs. Time-major: gates (T, B, G), y (T, B, H).

The equations are those of :mod:`rnnkit.nn.minimal`; minLSTM's ``f / (f + i)`` is
``sigmoid(logsigmoid(k_f) - logsigmoid(k_i))``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def _g(v: Tensor) -> tuple[Tensor, Tensor]:
    """g(v) and g'(v): v + 0.5 and 1 for v >= 0, sigmoid(v) and sigmoid'(v) below."""
    s = torch.sigmoid(v)
    pos = v >= 0
    return torch.where(pos, v + 0.5, s), torch.where(pos, torch.ones_like(s), s * (1 - s))


def _coefficients(kind: str, gates: Tensor, H: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One step: gates (B, G) -> a (the weight on h), gv = g(v), g'(v), and a's derivative helper."""
    if kind == "mingru":
        a = torch.sigmoid(-gates[:, :H])  # 1 - z
        gv, dgv = _g(gates[:, H:])
        return a, gv, dgv, a
    kf, ki = gates[:, :H], gates[:, H : 2 * H]
    a = torch.sigmoid(F.logsigmoid(kf) - F.logsigmoid(ki))  # f / (f + i)
    gv, dgv = _g(gates[:, 2 * H :])
    return a, gv, dgv, a


class MinSequence(torch.autograd.Function):
    """``MinSequence.apply(gates, h0, kind)``: gates (T, B, G) time-major, h0 (B, H) -> y (T, B, H)."""

    @staticmethod
    def forward(ctx: Any, gates: Tensor, h0: Tensor, kind: str) -> Tensor:  # type: ignore[override]
        T, B, _ = gates.shape
        H = h0.shape[1]
        y = torch.empty(T, B, H, dtype=gates.dtype, device=gates.device)
        h = h0
        for t in range(T):
            a, gv, _, _ = _coefficients(kind, gates[t], H)
            h = torch.lerp(gv, h, a, out=y[t])  # a h + (1 - a) g(v)
        ctx.save_for_backward(gates, h0, y)
        ctx.kind = kind
        return y

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, None]:
        gates, h0, y = ctx.saved_tensors
        T, B, _ = gates.shape
        H = h0.shape[1]
        dgates = torch.empty_like(gates)
        dh = torch.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            dh = dh + dy[t]
            h_prev = y[t - 1] if t > 0 else h0
            g_t, d_t = gates[t], dgates[t]
            a, gv, dgv, _ = _coefficients(ctx.kind, g_t, H)
            da = dh * (h_prev - gv)  # h = a h_prev + (1 - a) gv
            dv = dh * (1 - a) * dgv
            if ctx.kind == "mingru":  # a = sigmoid(-k): da/dk = -a (1 - a)
                torch.mul(da, a * (a - 1), out=d_t[:, :H])
                d_t[:, H:] = dv
            else:  # a = sigmoid(u), u = logsigmoid(kf) - logsigmoid(ki)
                du = da * a * (1 - a)
                torch.mul(du, torch.sigmoid(-g_t[:, :H]), out=d_t[:, :H])
                torch.mul(du, torch.sigmoid(-g_t[:, H : 2 * H]), out=d_t[:, H : 2 * H]).neg_()
                d_t[:, 2 * H :] = dv
            dh = dh * a
        return dgates, dh, None
