"""Scaling: a per-series standard scaler fitted on the training rows only, and RevIN.

The :class:`StandardScaler` is preprocessing that travels with a model (``to_dict``/``from_dict`` go into the
model's config.json), so a loaded model takes and returns values in the data's own units.

:class:`RevIN` (Kim et al., ICLR 2022, "Reversible instance normalization for accurate time-series forecasting
against distribution shift") normalises each input window by its own mean and standard deviation per channel,
with an optional learnable affine map, and undoes both on the forecast.

Shapes: B batch, L look-back, H horizon, C channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn


class StandardScaler:
    """Per-series, per-channel ``(x - mean) / std``; statistics ignore NaN (missing values).

    A channel with zero spread gets std 1, so it is centred but not blown up.

    >>> s = StandardScaler().fit({"a": np.array([[1.0], [3.0]])})
    >>> s.transform("a", np.array([[3.0]])).tolist(), s.inverse("a", np.array([[1.0]])).tolist()
    ([[1.0]], [[3.0]])
    """

    def __init__(self, mean: dict[str, Sequence[float]] | None = None, std: dict[str, Sequence[float]] | None = None):
        self.mean = {k: np.asarray(v, np.float64) for k, v in (mean or {}).items()}
        self.std = {k: np.asarray(v, np.float64) for k, v in (std or {}).items()}

    def fit(self, train: dict[str, np.ndarray]) -> StandardScaler:
        """Fit on ``{series id: training rows (T, C)}``; only the rows given are ever looked at."""
        for sid, x in train.items():
            x = np.asarray(x, np.float64)
            if x.ndim != 2 or len(x) == 0:
                raise ValueError(f"series {sid!r}: expected non-empty training rows (T, C), got shape {x.shape}")
            if np.isnan(x).all(axis=0).any():
                raise ValueError(f"series {sid!r}: a channel has no observed value in the training rows")
            mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
            self.mean[sid] = mean
            self.std[sid] = np.where(std > 1e-8, std, 1.0)
        return self

    def _stats(self, sid: str) -> tuple[np.ndarray, np.ndarray]:
        if sid not in self.mean:
            known = sorted(self.mean)
            raise ValueError(f"unknown series id {sid!r}: the scaler was fitted on {known[:10]}")
        return self.mean[sid], self.std[sid]

    def transform(self, sid: str, x: np.ndarray) -> np.ndarray:
        """(..., C) values of series ``sid`` in data units -> scaled units."""
        mean, std = self._stats(sid)
        return ((np.asarray(x, np.float64) - mean) / std).astype(np.float32)

    def inverse(self, sid: str, x: np.ndarray, *, scale_only: bool = False) -> np.ndarray:
        """Scaled units -> data units; ``scale_only`` for spreads (standard deviations, interval widths)."""
        mean, std = self._stats(sid)
        x = np.asarray(x, np.float64) * std
        return (x if scale_only else x + mean).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "mean": {k: v.tolist() for k, v in self.mean.items()},
            "std": {k: v.tolist() for k, v in self.std.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> StandardScaler:
        return cls(d["mean"], d["std"])


class RevIN(nn.Module):
    """Reversible instance normalisation over the time axis of (B, L, C) windows.

    ``normalize`` returns the normalised window and the statistics; ``denormalize`` maps a (B, H, C) forecast
    (or a location parameter) back, ``denormalize(..., scale_only=True)`` a spread.

    >>> revin = RevIN(2)
    >>> x = torch.randn(3, 8, 2) * 5 + 1
    >>> z, stats = revin.normalize(x)
    >>> torch.allclose(revin.denormalize(z, stats), x, atol=1e-4)
    True
    """

    def __init__(self, num_channels: int, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_channels))
            self.bias = nn.Parameter(torch.zeros(num_channels))

    def normalize(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """x (B, L, C), mask (B, L, C) of observed steps or None -> ((B, L, C), (mean, std) each (B, 1, C))."""
        if mask is None:
            mean = x.mean(dim=1, keepdim=True)
            var = x.var(dim=1, keepdim=True, unbiased=False)
        else:
            m = mask.to(x.dtype)
            n = m.sum(dim=1, keepdim=True).clamp_min(1.0)
            mean = (x * m).sum(dim=1, keepdim=True) / n
            var = (((x - mean) * m) ** 2).sum(dim=1, keepdim=True) / n
        std = torch.sqrt(var + self.eps)
        mean, std = mean.detach(), std.detach()  # as in the reference code: statistics carry no gradient
        z = (x - mean) / std
        if mask is not None:
            z = z * mask.to(x.dtype)
        if self.affine:
            z = z * self.weight + self.bias
        return z, (mean, std)

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor], *, scale_only: bool = False) -> Tensor:
        """y (B, H, C) in normalised units -> the input's units (``scale_only``: multiply only, for spreads)."""
        mean, std = stats
        if self.affine:
            w = self.weight + self.eps * self.eps  # as in the reference code
            y = y / w.abs() if scale_only else (y - self.bias) / w
        y = y * std
        return y if scale_only else y + mean
