"""Output heads: how a model's K raw outputs per (step, channel) become a forecast, a loss and intervals.

- ``point``: K = 1, trained with MSE (the LTSF literature's usual loss), no intervals;
- ``median``: K = 1, trained with MAE (L1; the SegRNN paper's loss), no intervals;
- ``gaussian``: K = 2 (mean, std = softplus), negative log-likelihood;
- ``studentt``: K = 3 (location, scale = softplus, degrees of freedom = 2 + softplus), NLL: heavier tails;
- ``quantile``: K = len(levels), pinball loss; intervals read off the learnt quantiles.

Every loss takes a mask (B, H, C) of observed targets, so missing values never reach the gradient.
Parameters are kept "constrained" (std > 0 and so on) so that an affine change of units ``a + b y`` (b > 0) maps
them exactly (:meth:`Head.affine`): this is how RevIN and the standard scaler are undone on distributions.

Shapes: B batch, H horizon, C channels, K parameters per value, Q quantile levels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

HEADS = ("point", "median", "gaussian", "studentt", "quantile")


def _masked_mean(loss: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return loss.mean()
    m = mask.to(loss.dtype)
    return (loss * m).sum() / m.sum().clamp_min(1.0)


class Head:
    """Base class: ``constrain`` raw (..., K) outputs, ``loss``, ``point`` and ``quantile`` on constrained ones."""

    name = "point"
    num_params = 1
    intervals = False  # whether quantile() works

    def constrain(self, raw: Tensor) -> Tensor:
        return raw

    def loss(self, params: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        return _masked_mean((params[..., 0] - y) ** 2, mask)

    def point(self, params: Tensor) -> Tensor:
        return params[..., 0]

    def affine(self, params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """Parameters of ``loc + scale * Y`` given those of Y; loc, scale broadcast against (...) (no K axis).

        A negative scale (RevIN's learnt weight may flip sign) reverses quantiles; :meth:`quantile` sorts them."""
        return params * scale.unsqueeze(-1) + loc.unsqueeze(-1)

    def quantile(self, params: Tensor, q: float) -> Tensor:
        raise ValueError(f"the {self.name!r} head gives no intervals; train with --head gaussian|studentt|quantile")

    def combine(self, params: Tensor) -> Tensor:
        """One forecast from M members' parameters (M, ..., K): their mean (for a quantile head, the average of
        the members' quantiles: Vincentization)."""
        return params.mean(dim=0)

    def config(self) -> dict:
        return {"head": self.name}


class MedianHead(Head):
    name = "median"

    def loss(self, params: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        return _masked_mean((params[..., 0] - y).abs(), mask)


class GaussianHead(Head):
    name, num_params, intervals = "gaussian", 2, True

    def constrain(self, raw: Tensor) -> Tensor:
        return torch.stack([raw[..., 0], F.softplus(raw[..., 1]) + 1e-4], dim=-1)

    def loss(self, params: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        mu, sigma = params[..., 0], params[..., 1]
        nll = torch.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2 + 0.5 * math.log(2 * math.pi)
        return _masked_mean(nll, mask)

    def affine(self, params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        return torch.stack([params[..., 0] * scale + loc, params[..., 1] * scale.abs()], dim=-1)

    def quantile(self, params: Tensor, q: float) -> Tensor:
        z = math.sqrt(2.0) * torch.erfinv(torch.tensor(2 * q - 1, dtype=params.dtype))
        return params[..., 0] + z * params[..., 1]

    def combine(self, params: Tensor) -> Tensor:
        """The Gaussian with the mean and variance of the members' equal-weight mixture."""
        mu, sigma = params[..., 0], params[..., 1]
        mean = mu.mean(dim=0)
        var = (sigma**2 + mu**2).mean(dim=0) - mean**2
        return torch.stack([mean, var.clamp_min(1e-8).sqrt()], dim=-1)


class StudentTHead(Head):
    name, num_params, intervals = "studentt", 3, True

    def constrain(self, raw: Tensor) -> Tensor:
        return torch.stack([raw[..., 0], F.softplus(raw[..., 1]) + 1e-4, 2.0 + F.softplus(raw[..., 2])], dim=-1)

    def loss(self, params: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        dist = torch.distributions.StudentT(params[..., 2], params[..., 0], params[..., 1])
        return _masked_mean(-dist.log_prob(y), mask)

    def affine(self, params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        return torch.stack([params[..., 0] * scale + loc, params[..., 1] * scale.abs(), params[..., 2]], dim=-1)

    def quantile(self, params: Tensor, q: float) -> Tensor:
        from scipy.special import stdtrit  # torch's StudentT has no icdf

        t = torch.from_numpy(np.asarray(stdtrit(params[..., 2].detach().cpu().double().numpy(), q)))
        return params[..., 0] + t.to(params) * params[..., 1]

    def combine(self, params: Tensor) -> Tensor:
        raise ValueError(
            "Student-t members cannot be combined into one Student-t; ensemble a gaussian or quantile head"
        )


class QuantileHead(Head):
    name, intervals = "quantile", True

    def __init__(self, levels: Sequence[float] = (0.1, 0.5, 0.9)):
        levels = sorted(float(q) for q in levels)
        if not levels or any(not 0 < q < 1 for q in levels) or len(set(levels)) != len(levels):
            raise ValueError(f"expected distinct quantile levels strictly between 0 and 1, got {levels}")
        self.levels = levels
        self.num_params = len(levels)

    def loss(self, params: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        q = torch.tensor(self.levels, dtype=params.dtype, device=params.device)
        err = y.unsqueeze(-1) - params  # (..., Q)
        pinball = torch.maximum(q * err, (q - 1) * err).sum(-1)
        return _masked_mean(pinball, mask)

    def point(self, params: Tensor) -> Tensor:
        return self.quantile(params, 0.5)

    def quantile(self, params: Tensor, q: float) -> Tensor:
        """The learnt level ``q``, linearly interpolated between neighbours (clamped to the outermost ones)."""
        sorted_params = params.sort(dim=-1).values  # quantiles must not cross at prediction time
        levels = self.levels
        if q <= levels[0]:
            return sorted_params[..., 0]
        if q >= levels[-1]:
            return sorted_params[..., -1]
        j = int(np.searchsorted(levels, q))
        if levels[j] == q:
            return sorted_params[..., j]
        w = (q - levels[j - 1]) / (levels[j] - levels[j - 1])
        return sorted_params[..., j - 1] * (1 - w) + sorted_params[..., j] * w

    def config(self) -> dict:
        return {"head": self.name, "quantiles": self.levels}


def make_head(name: str, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> Head:
    """A head by name (see :data:`HEADS`).

    >>> make_head("gaussian").num_params
    2
    """
    if name == "point":
        return Head()
    if name == "median":
        return MedianHead()
    if name == "gaussian":
        return GaussianHead()
    if name == "studentt":
        return StudentTHead()
    if name == "quantile":
        return QuantileHead(quantiles)
    raise ValueError(f"unknown head {name!r}; choose one of {', '.join(repr(h) for h in HEADS)}")
