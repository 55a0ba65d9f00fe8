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


def _g(v: Tensor, grad: bool = True) -> tuple[Tensor, Tensor | None]:
    """g(v) and (when ``grad``) g'(v): v + 0.5 and 1 for v >= 0, sigmoid(v) and sigmoid'(v) below.

    g(v) = max(v + 0.5, sigmoid(v)) exactly: the two meet at 0, and v + 0.5 - sigmoid(v) grows with v (its
    derivative 1 - sigmoid'(v) is positive). That is two operations instead of a compare and a ``where``."""
    s = torch.sigmoid(v)
    gv = torch.maximum(v + 0.5, s)
    if not grad:
        return gv, None
    return gv, torch.where(v >= 0, torch.ones_like(s), s * (1 - s))


CHUNK = 64  # steps whose gates are computed together: (CHUNK, B, H) temporaries, small enough to be reused


def _coefficients(kind: str, gates: Tensor, H: int, grad: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
    """gates (..., G) -> a (the weight on h), g(v) and (when ``grad``) g'(v), each (..., H)."""
    if kind == "mingru":
        a = torch.sigmoid(-gates[..., :H])  # 1 - z
    else:
        a = torch.sigmoid(F.logsigmoid(gates[..., :H]) - F.logsigmoid(gates[..., H : 2 * H]))  # f / (f + i)
    gv, dgv = _g(gates[..., -H:], grad)
    return a, gv, dgv


class MinSequence(torch.autograd.Function):
    """``MinSequence.apply(gates, h0, kind)``: gates (T, B, G) time-major, h0 (B, H) -> y (T, B, H).

    The gates of CHUNK steps at a time are computed together (vectorised, recomputed in the backward); the loop
    itself is ONE fused operation per step forward (``lerp``) and one backward (``addcmul``)."""

    @staticmethod
    def forward(ctx: Any, gates: Tensor, h0: Tensor, kind: str) -> Tensor:  # type: ignore[override]
        T, B, _ = gates.shape
        H = h0.shape[1]
        y = torch.empty(T, B, H, dtype=gates.dtype, device=gates.device)
        h = h0
        for s in range(0, T, CHUNK):
            a, gv, _ = _coefficients(kind, gates[s : s + CHUNK], H, grad=False)  # (C, B, H)
            for j in range(a.shape[0]):
                h = torch.lerp(gv[j], h, a[j], out=y[s + j])  # a h + (1 - a) g(v)
        ctx.save_for_backward(gates, h0, y)
        ctx.kind = kind
        return y

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, Tensor, None]:
        gates, h0, y = ctx.saved_tensors
        T = gates.shape[0]
        H = h0.shape[1]
        dgates = torch.empty_like(gates)
        carry = torch.zeros_like(h0)  # a_{t+1} dL/dh_{t+1}
        for s in reversed(range(0, T, CHUNK)):
            e = min(s + CHUNK, T)
            g = gates[s:e]
            a, gv, dgv = _coefficients(ctx.kind, g, H)  # (C, B, H)
            assert dgv is not None
            dh = torch.empty_like(a)  # dL/dh_t, all paths
            for j in range(e - s - 1, -1, -1):
                torch.add(dy[s + j], carry, out=dh[j])
                carry = dh[j] * a[j]
            h_prev = y[s - 1 : e - 1] if s > 0 else torch.cat([h0.unsqueeze(0), y[: e - 1]])
            da = dh * (h_prev - gv)  # h = a h_prev + (1 - a) g(v)
            d = dgates[s:e]
            torch.mul(dh * (1 - a), dgv, out=d[..., -H:])
            if ctx.kind == "mingru":  # a = sigmoid(-k): da/dk = -a (1 - a)
                torch.mul(da, a * (a - 1), out=d[..., :H])
            else:  # a = sigmoid(u), u = logsigmoid(kf) - logsigmoid(ki)
                du = da * a * (1 - a)
                torch.mul(du, torch.sigmoid(-g[..., :H]), out=d[..., :H])
                torch.mul(du, torch.sigmoid(-g[..., H : 2 * H]), out=d[..., H : 2 * H]).neg_()
        return dgates, carry, None
