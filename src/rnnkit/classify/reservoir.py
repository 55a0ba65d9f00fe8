"""An echo-state (reservoir) classifier: fixed random leaky recurrent networks read the series, a ridge readout
is the only thing fitted.

Reservoir computing (Jaeger 2001; for classification, Bianchi et al. 2020) trains no recurrent weights: the
series drives ``groups`` random tanh reservoirs of ``units`` units each, with leak rates spread from 1 to 0.01 so
they remember from one to about a hundred steps. With ``window`` > 1 each reservoir reads, at every step, the
last ``window`` values spaced by its own dilation (1 up to about T / window across the groups, as ROCKET spaces
its kernels), so each group sees the series' local shape at its own scale. Each unit's mean, maximum, final
value and the share of steps it exceeds its threshold (over each series' valid steps) are the features (the
threshold: zero, or with ``calibrated`` the unit's mean state over the training series, as ROCKET draws each
kernel's bias from the training data; :func:`fit_reservoir` calibrates). With ``bidirectional`` the same
reservoirs also read each series backwards (end to start) and those features are added, as a bidirectional
recurrent network reads both ways (the final state then sums up the series' start, not only its end). A ridge
classifier on the standardised features gives one score per class. The ridge penalty is chosen by
leave-one-out cross-validation on the training series (closed form, as scikit-learn's RidgeClassifierCV does),
and a softmax temperature fitted to the leave-one-out scores turns them into probabilities.

It is the recurrent counterpart of ROCKET (random dilated convolutions, the same kind of pooled features, the
same readout). Only a penalised linear readout is fitted, with its penalty chosen on held-out series, so it
overfits a few dozen training series far less than a network trained by gradient descent; it is one of the
candidates :mod:`rnnkit.classify.select` chooses among.

Shapes: B batch, T time steps, F channels (2F with first differences), N = units * groups, D directions (1 or 2),
C classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.classify.data import SeriesSet, channel_stats, class_order, diff_stats, pad
from rnnkit.classify.model import _batch, preprocessing_config, set_preprocessing, standardise
from rnnkit.nn.base import reverse_padded
from rnnkit.train import SavableModel, register_model

ALPHAS = np.logspace(-3, 4, 15)
"""Ridge penalties tried by leave-one-out cross-validation (on standardised features, as in ROCKET)."""
FEATURES = ("mean", "max", "last", "positive")


@register_model("reservoir_classifier")
class ReservoirClassifier(SavableModel, nn.Module):
    """Random leaky tanh reservoirs + a ridge readout (see the module docstring); ``forward`` gives logits (B, C).

    ``bidirectional`` and ``calibrated`` are off by default here so that model files written before they existed
    load unchanged; :func:`fit_reservoir` (and ``rnnkit classify train``) turn them on.

    >>> import torch
    >>> model = ReservoirClassifier(2, 3, units=4, groups=2)
    >>> model(torch.randn(5, 7, 2), lengths=torch.tensor([7, 3, 5, 1, 7])).shape
    torch.Size([5, 3])
    """

    w_in: Tensor
    w_rec: Tensor
    bias: Tensor
    leak: Tensor
    threshold: Tensor  # (D, N), only when calibrated
    labels: list[str]
    mean: Tensor
    std: Tensor
    diff_std: Tensor
    feature_mean: Tensor
    feature_std: Tensor

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        units: int = 64,
        groups: int = 8,
        diff: bool = True,
        window: int = 1,
        dilations: Sequence[int] | None = None,
        bidirectional: bool = False,
        calibrated: bool = False,
        seed: int = 0,
        temperature: float = 1.0,
        alpha: float = 1.0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        diff_std: Sequence[float] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("num_classes", num_classes), ("units", units)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive integer, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"expected groups to be a positive integer, got {groups!r}")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"expected window to be a positive integer, got {window!r}")
        dilations = [1] * groups if dilations is None else [int(d) for d in dilations]
        if len(dilations) != groups or min(dilations) < 1:
            raise ValueError(f"expected {groups} dilations >= 1 (one per group), got {dilations}")
        self.input_size, self.num_classes, self.units, self.groups = input_size, num_classes, units, groups
        self.window, self.dilations, self.bidirectional = window, dilations, bool(bidirectional)
        self.calibrated = bool(calibrated)
        self.diff, self.seed, self.temperature, self.alpha = bool(diff), seed, float(temperature), float(alpha)
        set_preprocessing(self, input_size, num_classes, mean, std, diff_std, labels)
        w_in, w_rec, bias, leak = _reservoir(input_size * (2 if diff else 1) * window, units, groups, seed)
        w_in = w_in / math.sqrt(window)  # the same drive variance whatever the window
        # The reservoir follows from the seed; the weights are saved anyway, so a model file does not depend on
        # torch's generator staying the same across versions.
        self.register_buffer("w_in", w_in)
        self.register_buffer("w_rec", w_rec)
        self.register_buffer("bias", bias)
        self.register_buffer("leak", leak)
        if self.calibrated:  # the "positive" feature's threshold per unit and direction, set by fit_reservoir
            self.register_buffer("threshold", torch.zeros(2 if self.bidirectional else 1, units * groups))
        n_features = len(FEATURES) * units * groups * (2 if self.bidirectional else 1)
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.head = nn.Linear(n_features, num_classes)

    def model_config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "num_classes": self.num_classes,
            "units": self.units,
            "groups": self.groups,
            "diff": self.diff,
            "window": self.window,
            "dilations": list(self.dilations),
            "bidirectional": self.bidirectional,
            "calibrated": self.calibrated,
            "seed": self.seed,
            "temperature": self.temperature,
            "alpha": self.alpha,
            **preprocessing_config(self),
        }

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> ReservoirClassifier:
        return cls(**config)

    @torch.no_grad()
    def features(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Raw series (B, T, F), padded past ``lengths`` -> reservoir features (B, 4ND), not standardised: those of
        the series read forwards, then (``bidirectional``) backwards."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"ReservoirClassifier: expected input of shape (batch, time, {self.input_size}), got {tuple(x.shape)}"
            )
        B, T, _ = x.shape
        lengths = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths, device=x.device)
        threshold = self.threshold if self.calibrated else x.new_zeros(2, self.units * self.groups)  # (D, N)
        forwards = self._read(x, lengths, threshold[0])  # (B, 4N)
        if not self.bidirectional:
            return forwards
        return torch.cat([forwards, self._read(reverse_padded(x, lengths), lengths, threshold[1])], dim=-1)

    def _read(self, x: Tensor, lengths: Tensor, threshold: Tensor) -> Tensor:
        """Run the reservoirs over raw series (B, T, F) -> features (B, 4N); "positive" counts the steps a unit's
        state exceeds its ``threshold`` (N,)."""
        B, T, _ = x.shape
        x, valid_steps = standardise(self, x, lengths)  # (B, T, F or 2F), (B, T, 1)
        assert valid_steps is not None
        mask = valid_steps[..., 0].to(x.dtype)  # (B, T)
        drive = torch.cat([self._windows(x, d) @ w for d, w in zip(self.dilations, self.w_in)], dim=-1)  # (B, T, N)
        drive = drive + self.bias
        h = torch.zeros(B, self.w_rec.shape[0], dtype=x.dtype, device=x.device)
        total, positive = torch.zeros_like(h), torch.zeros_like(h)
        top = torch.full_like(h, -math.inf)
        for t in range(T):
            new = (1 - self.leak) * h + self.leak * torch.tanh(drive[:, t] + h @ self.w_rec)  # (B, N)
            valid = mask[:, t, None]  # (B, 1): a finished series keeps its state
            h = valid * new + (1 - valid) * h
            total += valid * h
            positive += valid * (h > threshold).to(h.dtype)
            top = torch.where(valid > 0, torch.maximum(top, h), top)
        n = lengths[:, None].to(h.dtype).clamp_min(1)
        return torch.cat([total / n, top, h, positive / n], dim=-1)  # (B, 4N)

    def _windows(self, x: Tensor, dilation: int) -> Tensor:
        """(B, T, F') -> (B, T, F' * window): at step t, the values at t - (window-1)*dilation, ..., t (zeros
        before the start)."""
        if self.window == 1:
            return x
        T = x.shape[1]
        past = nn.functional.pad(x, (0, 0, (self.window - 1) * dilation, 0))  # (B, T + (window-1)*dilation, F')
        return torch.cat([past[:, j * dilation : j * dilation + T] for j in range(self.window)], dim=-1)

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Raw series (B, T, F) -> logits (B, C): the ridge scores divided by the fitted temperature."""
        z = (self.features(x, lengths) - self.feature_mean) / self.feature_std
        return self.head(z) / self.temperature

    @torch.no_grad()
    def predict_proba(self, x: Any, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        x, lengths = _batch(x, lengths)
        return torch.softmax(self(x, lengths), dim=-1)


def _reservoir(inputs: int, units: int, groups: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Input weights (groups, inputs, units) ~ N(0, 1), one block per group; a block-diagonal recurrent matrix
    (N, N), each block's spectral radius drawn in [0.5, 1), 20% dense; biases (N,); leak rates (N,) from 1
    down to 0.01 across the groups."""
    g = torch.Generator().manual_seed(seed)
    N = units * groups
    w_in = torch.randn(groups, inputs, units, generator=g)
    w_rec = torch.zeros(N, N)
    for k in range(groups):
        block = torch.randn(units, units, generator=g) * (torch.rand(units, units, generator=g) < 0.2)
        radius = float(torch.linalg.eigvals(block).abs().max().clamp_min(1e-6))
        scale = 0.5 + 0.5 * float(torch.rand(1, generator=g))
        w_rec[k * units : (k + 1) * units, k * units : (k + 1) * units] = block / radius * scale
    bias = 0.2 * torch.randn(N, generator=g)
    leak = torch.logspace(0, -2, groups).repeat_interleave(units)
    return w_in, w_rec, bias, leak


def dilations_for(length: int, window: int, groups: int) -> list[int]:
    """Dilations from 1 up to (length - 1) / (window - 1), spaced exponentially over the groups (all 1 for a
    window of 1).

    >>> dilations_for(251, 9, 8)
    [1, 2, 3, 4, 7, 12, 19, 31]
    """
    if window == 1:
        return [1] * groups
    top = max(1.0, (length - 1) / (window - 1))
    return [max(1, round(top ** (g / max(groups - 1, 1)))) for g in range(groups)]


def fit_reservoir(
    data: SeriesSet,
    window: int = 1,
    units: int = 64,
    groups: int = 8,
    bidirectional: bool = True,
    calibrated: bool = True,
    seed: int = 0,
) -> ReservoirClassifier:
    """Fit the readout on ``data``: features, standardisation, the ridge penalty and the temperature by
    leave-one-out cross-validation; returns the model in eval mode. The dilations follow from the longest
    training series. With ``calibrated``, each unit's "positive" feature counts the steps its state exceeds its
    mean state over (up to 64 of) the training series rather than zero, as ROCKET draws each kernel's bias from
    the training data."""
    assert data.labels is not None, "training data needs labels"
    mean, std = channel_stats(data)
    classes = class_order(data.labels)
    model = ReservoirClassifier(
        data.channels,
        len(classes),
        units=units,
        groups=groups,
        window=window,
        dilations=dilations_for(max(data.lengths), window, groups),
        bidirectional=bidirectional,
        calibrated=calibrated,
        seed=seed,
        mean=mean,
        std=std,
        diff_std=diff_stats(data, mean, std),
        labels=classes,
    ).eval()
    if calibrated:
        per_feature = model.features(*pad(data.series[:64])).mean(dim=0).view(-1, len(FEATURES), units * groups)
        model.threshold.copy_(per_feature[:, FEATURES.index("mean")])  # (D, N)
    X = torch.cat([model.features(*pad(data.series[i : i + 64])) for i in range(0, len(data), 64)]).double()
    mu, sd = X.mean(dim=0), X.std(dim=0)
    sd[sd < 1e-8] = 1.0
    index = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([index[c] for c in data.labels])
    weight, bias, alpha, temperature = ridge_loo((X - mu) / sd, y, len(classes))
    with torch.no_grad():
        model.feature_mean.copy_(mu.float())
        model.feature_std.copy_(sd.float())
        model.head.weight.copy_(weight.float())
        model.head.bias.copy_(bias.float())
    model.alpha, model.temperature = alpha, temperature
    return model


def ridge_loo(X: Tensor, y: Tensor, classes: int) -> tuple[Tensor, Tensor, float, float]:
    """Ridge regression on +-1 class targets with an intercept, the penalty chosen from :data:`ALPHAS` by the
    closed-form leave-one-out squared error, and a softmax temperature fitted to the leave-one-out scores by
    log-loss. ``X`` (n, p) float64, ``y`` (n,) class indices -> weight (C, p), bias (C,), alpha, temperature."""
    Y = -torch.ones(len(y), classes, dtype=X.dtype)
    Y[torch.arange(len(y)), y] = 1.0
    x_mean, y_mean = X.mean(dim=0), Y.mean(dim=0)
    Xc, Yc = X - x_mean, Y - y_mean
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)  # Xc = U diag(S) Vh
    UtY = U.T @ Yc  # (r, C)
    best = None
    for alpha in ALPHAS:
        shrink = S**2 / (S**2 + alpha)  # (r,)
        fitted = U @ (shrink[:, None] * UtY)  # (n, C)
        hat = (U**2 * shrink).sum(dim=1).clamp_max(1 - 1e-9)  # (n,): diagonal of the hat matrix (centred)
        hat = hat + 1.0 / len(y)  # the intercept's share
        loo = Yc - (Yc - fitted) / (1 - hat)[:, None]  # leave-one-out predictions, centred
        error = float(((Yc - loo) ** 2).mean())
        if best is None or error < best[0]:
            best = (error, float(alpha), loo + y_mean)
    assert best is not None
    _, alpha, loo_scores = best
    coef = Vh.T @ ((S / (S**2 + alpha))[:, None] * UtY)  # (p, C)
    bias = y_mean - x_mean @ coef
    return coef.T, bias, alpha, _temperature(loo_scores, y)


def _temperature(scores: Tensor, y: Tensor) -> float:
    """The temperature T minimising the log-loss of softmax(scores / T) (a grid over 0.01..10)."""
    grid = torch.logspace(-2, 1, 61, dtype=scores.dtype)
    losses = [float(nn.functional.cross_entropy(scores / t, y)) for t in grid]
    return float(grid[int(np.argmin(losses))])
