"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` over a whole sequence, as a chunked parallel scan.

minGRU and minLSTM (Feng et al. 2024) reduce to this recurrence: their gates depend on ``x_t`` only, so the
coefficients for all steps come from one matrix product and only this elementwise recurrence is left.

:func:`linear_scan` is a whole-sequence autograd function (no graph per step) with a hand-written backward. Its
parallel form is a two-level (chunked) associative scan in linear space, with a hand-written backward:

1. cut time into K chunks of C ~ sqrt(T) steps; scan every chunk from zero at once (C steps over (K, B, H)),
   and take the running products of ``a`` within each chunk (one ``cumprod``);
2. carry the state across chunk boundaries (K steps over (B, H));
3. add each chunk's carried-in state times its running product (one elementwise pass).

That is 2 sqrt(T) small steps instead of T, and only products of ``a`` within a chunk (never a division, so no
underflow trouble, unlike the cumprod/cumsum trick; and no logarithms, so ``b`` and ``h_0`` may have any sign,
unlike Heinsen's log-space scan, which needs positive values or complex logs). The backward pass is the same scan
run backwards in time: ``g_t = dL/dh_t + a_{t+1} g_{t+1}``, then ``dL/db_t = g_t``, ``dL/da_t = g_t h_{t-1}``.

Shapes: B batch, T time steps, H features; K chunks of C steps.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def linear_scan_reference(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The plain loop, for tests: a, b (B, T, H), h0 (B, H) -> h (B, T, H).

    >>> a, b = torch.full((1, 3, 1), 0.5), torch.ones(1, 3, 1)
    >>> linear_scan_reference(a, b, torch.zeros(1, 1)).flatten().tolist()
    [1.0, 1.5, 1.75]
    """
    h, out = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]  # (B, H)
        out.append(h)
    return torch.stack(out, 1)


def _chunk_size(steps: int) -> int:
    return max(1, math.isqrt(steps))


def _sequential(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """The loop without autograd, written into one output: a, b (B, T, H), h0 (B, H) -> h (B, T, H).
    ``reverse``: run from t = T-1 down to 0 (then a_t multiplies the state of step t+1)."""
    h = torch.empty_like(b)
    state = h0
    steps = range(b.shape[1] - 1, -1, -1) if reverse else range(b.shape[1])
    for t in steps:
        state = torch.addcmul(b[:, t], a[:, t], state, out=h[:, t])  # (B, H)
    return h


def _chunked(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The chunked scan without autograd: a, b (B, T, H), h0 (B, H) -> h (B, T, H)."""
    B, T, H = a.shape
    C = _chunk_size(T)
    K = -(-T // C)
    if K * C != T:  # pad the end with a = 1, b = 0: it changes nothing before it
        a = F.pad(a, (0, 0, 0, K * C - T), value=1.0)
        b = F.pad(b, (0, 0, 0, K * C - T))
    a4, b4 = a.reshape(B, K, C, H), b.reshape(B, K, C, H)
    u = torch.empty_like(b4)  # (B, K, C, H) each chunk scanned from zero, all chunks at once
    u[:, :, 0] = b4[:, :, 0]
    for j in range(1, C):
        torch.addcmul(b4[:, :, j], a4[:, :, j], u[:, :, j - 1], out=u[:, :, j])
    P = torch.cumprod(a4, dim=2)  # (B, K, C, H) running products within each chunk
    carry = torch.empty_like(b4[:, :, 0])  # (B, K, H) the state entering each chunk
    state = h0
    for k in range(K):
        carry[:, k] = state
        state = torch.addcmul(u[:, k, C - 1], P[:, k, C - 1], state)
    return torch.addcmul(u, P, carry.unsqueeze(2)).view(B, K * C, H)[:, :T]


def _forward_scan(a: Tensor, b: Tensor, h0: Tensor, method: str) -> Tensor:
    if method == "chunked" or (method == "auto" and a.is_cuda):
        return _chunked(a, b, h0)
    return _sequential(a, b, h0)


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor, h0: Tensor, method: str) -> Tensor:
        h = _forward_scan(a, b, h0, method)  # (B, T, H)
        ctx.save_for_backward(a, h0, h)
        ctx.method = method
        return h

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        a, h0, h = ctx.saved_tensors
        grad = grad.contiguous()
        # g_t = grad_t + a_{t+1} g_{t+1}: the same scan backwards in time, with a shifted by one step.
        a_next = torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)  # (B, T, H): a_{t+1}, 0 past the end
        if ctx.method == "chunked" or (ctx.method == "auto" and a.is_cuda):
            g = _chunked(a_next.flip(1), grad.flip(1), torch.zeros_like(h0)).flip(1)
        else:
            g = _sequential(a_next, grad, torch.zeros_like(h0), reverse=True)  # (B, T, H)
        grad_a = torch.empty_like(g)
        torch.mul(g[:, 1:], h[:, :-1], out=grad_a[:, 1:])
        torch.mul(g[:, 0], h0, out=grad_a[:, 0])
        return grad_a, g, a[:, 0] * g[:, 0], None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor, method: str = "auto") -> Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` for all t: a, b (B, T, H), h0 (B, H) -> h (B, T, H). Differentiable in all
    three; equals :func:`linear_scan_reference` up to rounding.

    ``method``: ``"chunked"`` (the parallel scan above), ``"sequential"`` (one fused multiply-add per step into a
    preallocated output, no autograd graph) or ``"auto"``: chunked on GPU, sequential on CPU, where it measured
    5x faster than the chunked scan at (B, T, H) = (16, 4096, 256) on 2 cores: with one or two cores there is no
    parallelism for the chunks to use, and the chunked scan makes three more passes over memory.

    >>> a, b = torch.rand(2, 50, 3), torch.randn(2, 50, 3)
    >>> h0 = torch.randn(2, 3)
    >>> torch.allclose(linear_scan(a, b, h0), linear_scan_reference(a, b, h0), atol=1e-5)
    True
    """
    if method not in ("auto", "chunked", "sequential"):
        raise ValueError(f"linear_scan: expected method 'auto', 'chunked' or 'sequential', got {method!r}")
    return _LinearScan.apply(a.contiguous(), b.contiguous(), h0, method)  # type: ignore[no-any-return]
