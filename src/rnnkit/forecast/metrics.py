"""Point and interval metrics, averaged over every (window, step, channel) that was observed.

Arrays are (N, H, C) (or anything that broadcasts); ``mask`` (same shape, bool) marks observed truth and
defaults to all. MASE scales by the in-sample mean absolute (seasonal) naive error of the training rows, per
channel, as Hyndman & Koehler (2006) define it.

>>> y, f = np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]])
>>> mae(y, f), mse(y, f), rmse(y, f)
(1.0, 2.0, 1.4142135623730951)
"""

from __future__ import annotations

import numpy as np


def _prep(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, f = np.asarray(y, np.float64), np.asarray(f, np.float64)
    if y.shape != f.shape:
        raise ValueError(f"expected truth and forecast of the same shape, got {y.shape} and {f.shape}")
    m = np.ones(y.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), y.shape)
    m = m & np.isfinite(y)
    if not m.any():
        raise ValueError("no observed value to score")
    return y, f, m


def mae(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float:
    y, f, m = _prep(y, f, mask)
    return float(np.abs(y - f)[m].mean())


def mse(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float:
    y, f, m = _prep(y, f, mask)
    return float(((y - f) ** 2)[m].mean())


def rmse(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float:
    return float(np.sqrt(mse(y, f, mask)))


def smape(y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Symmetric MAPE in percent, 200 |y - f| / (|y| + |f|); terms with y = f = 0 count as 0.

    >>> smape(np.array([1.0, 0.0]), np.array([3.0, 0.0]))
    50.0
    """
    y, f, m = _prep(y, f, mask)
    den = np.abs(y) + np.abs(f)
    term = np.where(den > 0, 200.0 * np.abs(y - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(term[m].mean())


def naive_scale(train: np.ndarray, season: int = 1) -> np.ndarray:
    """Per-channel mean |y_t - y_{t-m}| over the training rows (T, C): the MASE denominator.

    >>> naive_scale(np.array([[1.0], [2.0], [4.0]])).tolist()
    [1.5]
    """
    train = np.asarray(train, np.float64)
    if train.ndim == 1:
        train = train[:, None]
    if len(train) <= season:
        raise ValueError(f"MASE needs more than season={season} training rows, got {len(train)}")
    scale = np.nanmean(np.abs(train[season:] - train[:-season]), axis=0)
    return np.where(scale > 0, scale, 1.0)


def mase(y: np.ndarray, f: np.ndarray, scale: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error divided by :func:`naive_scale` (per channel, last axis)."""
    y, f, m = _prep(y, f, mask)
    return float((np.abs(y - f) / np.asarray(scale, np.float64))[m].mean())


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fraction of observed truths inside [lo, hi].

    >>> coverage(np.array([0.0, 5.0]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    0.5
    """
    y, lo, m = _prep(y, lo, mask)
    hi = np.asarray(hi, np.float64)
    return float(((y >= lo) & (y <= hi))[m].mean())


def point_metrics(
    y: np.ndarray, f: np.ndarray, mask: np.ndarray | None = None, scale: np.ndarray | None = None
) -> dict[str, float]:
    """MAE, MSE, RMSE, sMAPE (and MASE when the naive ``scale`` is given) in one dict."""
    out = {"mae": mae(y, f, mask), "mse": mse(y, f, mask), "rmse": rmse(y, f, mask), "smape": smape(y, f, mask)}
    if scale is not None:
        out["mase"] = mase(y, f, scale, mask)
    return out
