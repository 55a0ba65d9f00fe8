"""When the trained network loses to a baseline on validation: say so, and keep the better one (issue 14).

On small or simple data a network can score worse than a linear map or a seasonal repeat (AirPassengers: 144
monthly rows). :func:`choose` compares the network with the naive, seasonal-naive and linear baselines on the
VALIDATION windows (never the test ones) by MASE, a scale-free error, so every target counts alike; when a
baseline scores lower it is wrapped as a :class:`BaselineModel`, a model like any other, so ``predict``,
``eval`` and ``backtest`` use it unchanged. The choice and the figures are recorded in ``meta["choice"]``.

Shapes: B batch, L look-back, H horizon, C targets, K head parameters.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor

from rnnkit.forecast.baselines import LinearForecaster, _moving_average_matrix
from rnnkit.forecast.models import ForecastModel
from rnnkit.train import register_model

log = logging.getLogger(__name__)

BASELINES = ("naive", "seasonal_naive", "linear")


@register_model("forecast.baseline")
class BaselineModel(ForecastModel):
    """A baseline as a forecasting model: ``kind`` naive | seasonal_naive | linear, in the batch's scaled units.

    With ``spread`` (C, 2), the lower and upper quantile offsets of its validation errors per target, it has a
    quantile head with levels ``((1 - level) / 2, 0.5, (1 + level) / 2)``: its intervals are the forecast plus
    those offsets, the same at every step ahead (validation on small data has too few windows for one per step).

    >>> m = BaselineModel(kind="naive", lookback=3, horizon=2, num_targets=1)
    >>> m({"x": torch.tensor([[[1.0], [2.0], [5.0]]])})[0, :, 0, 0].tolist()
    [5.0, 5.0]
    """

    def __init__(
        self,
        *,
        kind: str,
        season: int = 1,
        weight: list | None = None,
        spread: list | None = None,
        level: float = 0.8,
        **kw: Any,
    ):
        if kind not in BASELINES:
            raise ValueError(f"unknown baseline {kind!r}; choose one of {', '.join(repr(b) for b in BASELINES)}")
        if spread is not None:
            kw.update(head="quantile", quantiles=[(1 - level) / 2, 0.5, (1 + level) / 2])
        super().__init__(**{**kw, "revin": False, "cycle": 0})
        self._args.update(kind=kind, season=season, weight=weight, spread=spread, level=level)
        self.kind, self.season = kind, season
        # (L + 1, H): the linear map and its bias (last row); (C, 2): interval offsets. Stored in the config (JSON),
        # a few hundred numbers, so the model file needs no tensors.
        as_tensor = lambda v: torch.tensor(v, dtype=torch.float32) if v is not None else None  # noqa: E731
        self.register_buffer("weight", as_tensor(weight), persistent=False)
        self.register_buffer("spread", as_tensor(spread), persistent=False)
        self.anchor = torch.nn.Parameter(torch.zeros(0))  # no weights; a parameter so .device/.parameters() work

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Batch dict -> parameters (B, H, C, K): K = 1, or 3 quantiles with ``spread``."""
        self._check_batch(batch)
        x = batch["x"]  # (B, L, C)
        H = self.horizon
        if self.kind == "naive":
            f = x[:, -1:].expand(-1, H, -1)
        elif self.kind == "seasonal_naive":
            idx = self.lookback - self.season + torch.arange(H, device=x.device) % self.season
            f = x[:, idx]
        else:
            w = cast(Tensor, self.weight)  # (L + 1, H)
            f = torch.einsum("blc,lh->bhc", x, w[:-1]) + w[-1][None, :, None]
        f = f.unsqueeze(-1)  # (B, H, C, 1)
        if self.spread is None:
            return f
        spread = cast(Tensor, self.spread)
        lo, hi = spread[:, 0], spread[:, 1]  # (C,)
        return torch.cat([f + lo[:, None], f, f + hi[:, None]], dim=-1)

    def model_config(self) -> dict:
        args = {k: v for k, v in self._args.items() if k not in ("revin", "cycle")}
        if args.get("spread") is not None:  # the head follows from spread and level
            args.pop("head", None)
            args.pop("quantiles", None)
        return {**args, "meta": self.meta}


def linear_weight(lin: LinearForecaster) -> np.ndarray:
    """The fitted DLinear-style baseline as one (L + 1, H) map (last row: bias): trend and remainder are linear in
    the look-back, so their two maps fold into one.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(50, 8, 1)), rng.normal(size=(50, 2, 1))
    >>> lin = LinearForecaster(8, 2).fit(x, y)
    >>> w = linear_weight(lin)
    >>> bool(np.allclose(x[:, :, 0] @ w[:-1] + w[-1], lin.predict(x)[:, :, 0], atol=1e-5))
    True
    """
    assert lin.weight is not None
    L = lin.lookback
    W = lin.weight
    if not lin.decompose:
        return W
    A = _moving_average_matrix(L, min(lin.kernel, L))  # trend = x @ A
    eff = (np.eye(L) - A) @ W[:L] + A @ W[L : 2 * L]
    return np.concatenate([eff, W[-1:]], axis=0)


def choose(model: ForecastModel, prep: Any, *, season: int | None, level: float, fallback: bool) -> ForecastModel:
    """The model to keep: ``model``, or the baseline that beats it on the validation windows (when ``fallback``).

    Records ``meta["choice"] = {"kept", "metric", "val": {name: MASE}, "val_mae": {name: MAE}}`` on the kept
    model and logs a warning when a baseline scores lower, whether or not it is kept.
    """
    from rnnkit.forecast.pipeline import evaluate

    if not len(prep.index("val")):
        model.meta["choice"] = {"kept": "model", "reason": "no validation windows to compare on"}
        return model
    results, _ = evaluate(model, prep, "val", level=level, season=season)
    mase = {name: m["mase"] for name, m in results.items()}
    best = min((n for n in mase if n != "model"), key=lambda n: mase[n])
    loses = mase[best] < mase["model"]
    kept = best if loses and fallback else "model"
    choice = {
        "kept": kept,
        "metric": "validation MASE",
        "val": mase,
        "val_mae": {name: m["mae"] for name, m in results.items()},
    }
    if loses:
        what = f"keeping {best} for predict (--fallback false keeps the network)" if fallback else "kept as asked"
        log.warning(
            "the trained network scores worse than the %s baseline on validation (MASE %.3f against %.3f); %s",
            best,
            mase["model"],
            mase[best],
            what,
        )
    if kept == "model":
        model.meta["choice"] = choice
        return model
    baseline = _baseline(model, prep, best, season or 1, level)
    baseline.meta["choice"] = choice
    return baseline


def _baseline(model: ForecastModel, prep: Any, kind: str, season: int, level: float) -> BaselineModel:
    from rnnkit.forecast.pipeline import _windows, predict_params

    weight = None
    if kind == "linear":
        tw = _windows(prep, prep.index("train"))
        lin = LinearForecaster(prep.lookback, prep.horizon).fit(tw["x"], tw["y"], tw["y_mask"])
        weight = linear_weight(lin).tolist()
    common: dict[str, Any] = {
        "kind": kind,
        "season": season,
        "weight": weight,
        "lookback": model.lookback,
        "horizon": model.horizon,
        "num_targets": model.num_targets,
        "num_past": model.num_past,
        "num_future": model.num_future,
        "meta": {k: v for k, v in model.meta.items() if k != "interval_calibration"},
    }
    point = BaselineModel(**common)
    if not model.head.intervals:
        return point
    index = prep.index("val")
    f = predict_params(point, prep.data, index)[..., 0]  # (N, H, C) scaled
    w = _windows(prep, index)
    spread = []
    for c in range(model.num_targets):
        err = (w["y"][..., c] - f[..., c])[w["y_mask"][..., c]]
        lo, hi = np.quantile(err, [(1 - level) / 2, (1 + level) / 2]) if len(err) else (0.0, 0.0)
        spread.append([min(float(lo), 0.0), max(float(hi), 0.0)])  # the interval holds the forecast
    return BaselineModel(**common, spread=spread, level=level)
