"""Baselines reported beside every model: naive (last value), seasonal naive, and a linear model.

They work on the same windows as the models: ``x`` (N, L, C) look-backs in, (N, H, C) forecasts out.

The linear model is DLinear-style (Zeng et al., AAAI 2023, "Are Transformers Effective for Time Series
Forecasting?"): channel-independent, the look-back split into a moving-average trend and a remainder, each mapped
to the horizon by its own linear map; here both maps are fitted in closed form (ridge least squares on the
training windows) instead of by gradient descent, which takes a second and has no learning rate to tune.
Trend and remainder are linear in x, so without the ridge penalty this equals one plain linear map; the split
only changes what the penalty shrinks (the remainder's and the trend's weights separately), as in DLinear.

Shapes: N windows, L look-back, H horizon, C channels.
"""

from __future__ import annotations

import numpy as np


def naive(x: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last observed value.

    >>> naive(np.arange(6.0).reshape(1, 3, 2), 2)[0].tolist()
    [[4.0, 5.0], [4.0, 5.0]]
    """
    return np.repeat(x[:, -1:], horizon, axis=1)


def seasonal_naive(x: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season: f[t] = x[L - m + (t mod m)].

    >>> seasonal_naive(np.arange(4.0).reshape(1, 4, 1), 3, 2)[0, :, 0].tolist()
    [2.0, 3.0, 2.0]
    """
    L = x.shape[1]
    if not 1 <= season <= L:
        raise ValueError(f"seasonal naive needs 1 <= season <= lookback ({L}), got season={season}")
    idx = L - season + (np.arange(horizon) % season)
    return x[:, idx]


def _moving_average_matrix(L: int, kernel: int) -> np.ndarray:
    """(L, L) matrix A with trend = x @ A: centred moving average, edges padded by repetition (as DLinear)."""
    pad = (kernel - 1) // 2
    A = np.zeros((L, L))
    for t in range(L):
        for j in range(t - pad, t - pad + kernel):
            A[min(max(j, 0), L - 1), t] += 1.0 / kernel
    return A


class LinearForecaster:
    """Channel-independent linear map from the look-back to the horizon, fitted by ridge least squares.

    ``decompose=True`` is DLinear's trend/remainder split (two maps); False is a plain Linear map.

    >>> rng = np.random.default_rng(0)
    >>> x = np.sin(np.arange(200) / 5.0)[None, :, None] + 0 * rng.normal(size=(1, 200, 1))
    >>> from numpy.lib.stride_tricks import sliding_window_view
    >>> w = sliding_window_view(x[0, :, 0], 30)[:, :, None]  # (171, 30, 1)
    >>> model = LinearForecaster(24, 6).fit(w[:, :24], w[:, 24:])
    >>> bool(np.abs(model.predict(w[:, :24]) - w[:, 24:]).max() < 1e-3)
    True
    """

    def __init__(self, lookback: int, horizon: int, *, decompose: bool = True, kernel: int = 25, ridge: float = 1e-3):
        self.lookback, self.horizon, self.decompose, self.kernel, self.ridge = (
            lookback,
            horizon,
            decompose,
            kernel,
            ridge,
        )
        self.weight: np.ndarray | None = None  # (2L + 1, H) decomposed, else (L + 1, H); last row: bias

    def _features(self, x: np.ndarray) -> np.ndarray:
        """(N, L, C) -> (N*C, 2L + 1) when decomposing (remainder, trend, 1), else (N*C, L + 1)."""
        n, L, c = x.shape
        if self.lookback != L:
            raise ValueError(f"expected look-back windows of {self.lookback} steps, got {L}")
        rows = np.asarray(x, np.float64).transpose(0, 2, 1).reshape(n * c, L)
        parts = [rows]
        if self.decompose:
            trend = rows @ _moving_average_matrix(L, min(self.kernel, L))
            parts = [rows - trend, trend]
        return np.concatenate([*parts, np.ones((n * c, 1))], axis=1)

    def fit(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> LinearForecaster:
        """Fit on training windows x (N, L, C), y (N, H, C); windows with a missing target are left out."""
        feats = self._features(x)
        targets = np.asarray(y, np.float64).transpose(0, 2, 1).reshape(-1, self.horizon)
        if mask is not None:
            keep = np.asarray(mask, bool).transpose(0, 2, 1).reshape(-1, self.horizon).all(axis=1)
            feats, targets = feats[keep], targets[keep]
        if len(feats) == 0:
            raise ValueError("no complete training window to fit the linear baseline")
        gram = feats.T @ feats
        reg = self.ridge * len(feats) * np.eye(len(gram))
        reg[-1, -1] = 0.0  # the bias is not shrunk
        self.weight = np.linalg.solve(gram + reg, feats.T @ targets)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.weight is None:
            raise ValueError("LinearForecaster.predict called before fit")
        n, _, c = x.shape
        out = self._features(x) @ self.weight  # (N*C, H)
        return out.reshape(n, c, self.horizon).transpose(0, 2, 1).astype(np.float32)
