"""From a :class:`~rnnkit.forecast.data.SeriesSet` to splits, a trained model, forecasts and metrics.

Everything that touches the data in order lives here, so the order cannot go wrong: borders first, the scaler
fitted on each series' training rows only, then windows (stride 1) per split. Training is the engine's
:class:`rnnkit.train.Trainer`; this module only supplies its step and evaluate functions.

Shapes: N windows, L look-back, H horizon, C targets, K head parameters.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from rnnkit.forecast.baselines import LinearForecaster, naive, seasonal_naive
from rnnkit.forecast.data import SeriesSet, calendar_features, time_steps
from rnnkit.forecast.metrics import coverage, naive_scale, point_metrics
from rnnkit.forecast.models import ForecastModel
from rnnkit.forecast.scale import StandardScaler
from rnnkit.forecast.timeaxis import future_times
from rnnkit.forecast.windows import (
    Borders,
    WindowData,
    WindowLoader,
    build_window_data,
    split_borders,
    split_index,
    window_starts,
)

log = logging.getLogger(__name__)

PROTOCOLS = ("ltsf", "holdout")
"""``ltsf``: the literature's borders (ETTh*/ETTm* 12/4/4 months, else 70/10/20 by rows), metrics on scaled values.
``holdout``: 70/10/20 by rows (or --val_frac/--test_frac), metrics in the data's own units."""


@dataclass
class Prepared:
    """A data set cut into splits, scaled with training statistics, ready to window."""

    series: SeriesSet
    scaler: StandardScaler
    borders: list[Borders]  # per series
    data: WindowData
    lookback: int
    horizon: int
    protocol: str

    def index(self, split: str, stride: int = 1) -> np.ndarray:
        return split_index(self.borders, split, self.lookback, self.horizon, stride)

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> WindowLoader:
        return WindowLoader(
            self.data, self.index(split), self.lookback, self.horizon, batch_size, shuffle=shuffle, seed=seed
        )


def prepare(
    series: SeriesSet,
    lookback: int,
    horizon: int,
    *,
    protocol: str = "holdout",
    name: str = "",
    val_frac: float = 0.1,
    test_frac: float = 0.2,
    scaler: StandardScaler | None = None,
) -> Prepared:
    """Borders per series, scaler fitted on the training rows (unless a fitted one is given), windows.

    ``name`` (the file name) selects the ETT borders under ``protocol="ltsf"``.

    >>> from rnnkit.forecast.data import load_series
    >>> df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=100, freq="h"), "y": np.arange(100.0)})
    >>> prep = prepare(load_series(df, "y"), 8, 4)
    >>> prep.borders[0], len(prep.index("test")), prep.scaler.mean["0"].tolist()
    ({'train': (0, 70), 'val': (62, 80), 'test': (72, 100)}, 17, [34.5])
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(repr(p) for p in PROTOCOLS)}")
    if protocol == "ltsf":
        val_frac, test_frac = 0.1, 0.2
    borders = []
    for s in series.series:
        need = lookback + horizon
        if len(s) < need:
            raise ValueError(
                f"series {s.id!r} has {len(s)} rows, fewer than lookback {lookback} + horizon {horizon} = {need}; "
                "lower --lookback or --horizon (left unset, both are chosen to fit the data)"
            )
        n_train = int(len(s) * (1 - val_frac - test_frac))
        if protocol == "holdout" and 0 < n_train < need:
            raise ValueError(_no_window("training", s.id, n_train, lookback, horizon))
        b = split_borders(len(s), lookback, name=name, ett=protocol == "ltsf", val_frac=val_frac, test_frac=test_frac)
        for split, frac in (("train", None), ("val", val_frac), ("test", test_frac)):
            start, stop = b[split]
            rows = stop - start - (0 if split == "train" else lookback)  # rows whose values are forecast
            if (frac is None or rows > 0) and not len(window_starts(start, stop, lookback, horizon)):
                raise ValueError(_no_window(split, s.id, rows, lookback, horizon, frac))
        borders.append(b)
    if scaler is None:
        train_rows = {
            s.id: np.where(s.observed, s.target, np.nan)[: b["train"][1]] for s, b in zip(series.series, borders)
        }
        scaler = StandardScaler().fit(train_rows)
    data = build_window_data(series.series, scaler, series.freq)
    return Prepared(series, scaler, borders, data, lookback, horizon, protocol)


def _no_window(split: str, sid: str, rows: int, lookback: int, horizon: int, frac: float | None = None) -> str:
    """Why no window fits in a split, and what would."""
    name = {"train": "training", "val": "validation"}.get(split, split)
    if name == "training":
        fix = (
            f"use --lookback {rows - horizon} or less"
            if rows > horizon
            else f"use --horizon {rows - 1} or less and a shorter --lookback, or smaller --val_frac/--test_frac"
        )
        return (
            f"no training window fits: the training split of series {sid!r} has {rows} rows, fewer than "
            f"lookback {lookback} + horizon {horizon} = {lookback + horizon}; {fix}"
        )
    flag = "--val_frac" if split == "val" else "--test_frac"
    return (
        f"no {name} window fits: the {name} split of series {sid!r} has {rows} rows, fewer than the horizon "
        f"{horizon}; use --horizon {rows} or less, or a larger {flag} (now {frac})"
    )


def model_meta(prep: Prepared, **extra: Any) -> dict:
    """What a saved model needs to forecast from raw data: column roles, frequency, scaler, protocol."""
    ss = prep.series
    return {
        "targets": ss.targets,
        "past": ss.past,
        "future": [c for c in ss.future if not any(c.startswith(k + "_") for k in ss.calendar)],
        "calendar": ss.calendar,
        "freq": ss.freq,
        "time_col": ss.time_col,
        "id_col": ss.id_col,
        "missing": ss.missing,
        "scaler": prep.scaler.to_dict(),
        "protocol": prep.protocol,
        **extra,
    }


def train(
    model: ForecastModel,
    prep: Prepared,
    config: Any,
    *,
    run_dir: str | Path | None = None,
    run_config: dict | None = None,
) -> Any:
    """Fit ``model`` on the training windows with :class:`rnnkit.train.Trainer`, validating on the val windows.

    ``config`` is a :class:`rnnkit.train.TrainConfig`. Returns the trainer's FitResult; the model ends with the
    best weights by validation loss.
    """
    from rnnkit.train import StepOutput, Trainer

    def step(m: nn.Module, batch: dict, carry: Any) -> StepOutput:
        loss = m.loss(batch)  # type: ignore[operator]
        return StepOutput(loss=loss, n=len(batch["x"]))

    def evaluate(m: nn.Module, loader: Any) -> dict[str, float]:
        loss_sum, n, se, count = 0.0, 0, 0.0, 0.0
        device = next(m.parameters()).device
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            params = m(batch)
            head = model.head  # the ForecastModel's (m may be a DDP wrapper around it)
            loss_sum += float(head.loss(params, batch["y"], batch["y_mask"])) * len(batch["x"])
            mask = batch["y_mask"].to(params.dtype)
            se += float((((head.point(params) - batch["y"]) ** 2) * mask).sum())
            count += float(mask.sum())
            n += len(batch["x"])
        return {"val_loss": loss_sum / n, "val_mse": se / max(count, 1.0), "n": n}  # n: ranks weigh by it

    train_loader = prep.loader("train", config.batch_size, shuffle=True, seed=config.seed)
    val_index = prep.index("val")
    val_loader = prep.loader("val", 1024) if len(val_index) else None
    trainer = Trainer(model, config, step=step, evaluate=evaluate, run_dir=run_dir, run_config=run_config)
    return trainer.fit(train_loader, val_loader)


@torch.no_grad()
def predict_params(model: ForecastModel, data: WindowData, index: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Head parameters (N, H, C, K) in scaled units for the windows ``index`` (model in eval mode)."""
    model.eval()
    device = next(model.parameters()).device
    loader = WindowLoader(data, index, model.lookback, model.horizon, batch_size)
    out = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out.append(model(batch).cpu().numpy())
    return np.concatenate(out)


def interval(model: ForecastModel, params: torch.Tensor, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` interval (lo, hi), each (..., H, C), from head parameters (..., H, C, K).

    When the model was calibrated at this level (``meta["interval_calibration"]``, see :func:`calibrate`), both
    ends move away from the median by the calibrated factor.
    """
    lo, mid, hi = _bounds(model, params, level)
    cal = model.meta.get("interval_calibration")
    if cal and abs(cal["level"] - level) < 1e-9:
        lo, hi = mid - cal["scale"] * (mid - lo), mid + cal["scale"] * (hi - mid)
    return lo, hi


def _bounds(model: ForecastModel, params: torch.Tensor, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The head's own (uncalibrated) central ``level`` interval and median: (lo, mid, hi), each (..., H, C)."""
    q = model.head.quantile
    return q(params, (1 - level) / 2).numpy(), q(params, 0.5).numpy(), q(params, (1 + level) / 2).numpy()


def calibrate(model: ForecastModel, prep: Prepared, level: float, split: str = "val") -> float:
    """Factor that widens (> 1) or narrows (< 1) the model's ``level`` intervals around their median so that they
    cover ``level`` of the ``split`` (validation) truths: split-conformal scaling, fitted without test data.

    Stores ``{"level", "scale", "raw_coverage"}`` in ``model.meta["interval_calibration"]`` and returns the scale.
    """
    index = prep.index(split)
    if len(index) == 0:
        raise ValueError(f"no {split} window to calibrate the intervals on")
    model.meta.pop("interval_calibration", None)
    params = torch.from_numpy(predict_params(model, prep.data, index))
    lo, hi = interval(model, params, level)
    w = _windows(prep, index)
    y, mask = w["y"], w["y_mask"]
    need = _conformity(model, params, y, level)[mask]
    n = len(need)
    scale = float(np.quantile(need, min(1.0, np.ceil((n + 1) * level) / n)))
    raw = float(((y >= lo) & (y <= hi))[mask].mean())
    model.meta["interval_calibration"] = {"level": level, "scale": scale, "raw_coverage": raw, "split": split}
    log.info("intervals at %.2f: %s coverage %.3f before calibration, scale %.3f", level, split, raw, scale)
    return scale


def _conformity(model: ForecastModel, params: torch.Tensor, y: np.ndarray, level: float) -> np.ndarray:
    """How far each truth lies out of the model's own (uncalibrated) ``level`` interval, relative to its half-width:
    <= 1 inside, > 1 outside; scaling both half-widths by s covers the truths with score <= s. (N, H, C)."""
    lo, mid, hi = _bounds(model, params, level)
    eps = 1e-12
    return np.maximum((mid - y) / np.maximum(mid - lo, eps), (y - mid) / np.maximum(hi - mid, eps))


def rolling_scales(model: ForecastModel, prep: Prepared, index: np.ndarray, level: float, window: int) -> np.ndarray:
    """Per-window interval factors (N,) by rolling split-conformal calibration (as darts' conformal models do).

    The factor of a window is the ``level`` quantile of the conformity scores of the last ``window`` windows of the
    same series whose whole horizon was observed by the window's forecast origin, taken from the validation
    windows and the earlier windows of ``index``. It uses only truths known at the origin, and it follows changes
    of volatility that a factor fitted once on validation cannot (on ETTh1 the validation months are more volatile
    than the test months). A window with no earlier one falls back to the stored split factor, else 1.
    """
    if window < 1:
        raise ValueError(f"expected a rolling calibration window >= 1, got {window}")
    cal = model.meta.pop("interval_calibration", None)
    fallback = cal["scale"] if cal and abs(cal["level"] - level) < 1e-9 else 1.0
    try:
        pool = np.unique(np.concatenate([prep.index("val"), index]), axis=0)  # sorted by (series, start)
        params = torch.from_numpy(predict_params(model, prep.data, pool))
        w = _windows(prep, pool)
        scores = _conformity(model, params, w["y"], level)
    finally:
        if cal is not None:
            model.meta["interval_calibration"] = cal
    mask = w["y_mask"]
    every = max(1, window // 20)  # refit the quantile every few origins: neighbouring sets differ by a few windows
    out = np.full(len(index), fallback)
    cache: dict[tuple[int, int], float] = {}
    rows_of = {int(k): np.flatnonzero(pool[:, 0] == k) for k in np.unique(index[:, 0])}
    for i, (k, start) in enumerate(index):
        rows = rows_of[int(k)]
        known = int(np.searchsorted(pool[rows, 1], start - prep.horizon, side="right"))  # horizons ended by start
        if known >= every:
            known -= known % every
        if known == 0:
            continue
        if (k, known) not in cache:
            sel = rows[max(0, known - window) : known]
            values = scores[sel][mask[sel]]
            n = len(values)
            cache[(k, known)] = float(np.quantile(values, min(1.0, np.ceil((n + 1) * level) / n))) if n else fallback
        out[i] = cache[(k, known)]
    return out


def _windows(prep: Prepared, index: np.ndarray) -> dict[str, np.ndarray]:
    batch = prep.data.gather(index[:, 0], index[:, 1], prep.lookback, prep.horizon)
    return {k: v.numpy() for k, v in batch.items()}


def evaluate(
    model: ForecastModel | None,
    prep: Prepared,
    split: str = "test",
    *,
    level: float = 0.8,
    season: int | None = None,
    index: np.ndarray | None = None,
    baselines: bool = True,
    rolling: int | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Metrics of the model and the baselines on every window of ``split`` (or of ``index``).

    Intervals use the stored split-conformal factor, or with ``rolling=N`` a factor per window calibrated on the
    last N windows whose truth was known at its origin (:func:`rolling_scales`).

    Units: scaled under the LTSF protocol (as the literature reports), the data's own otherwise. Returns
    ``({"model": {...}, "naive": {...}, ...}, arrays)`` with arrays ``y``, ``mask``, ``forecast``, ``lo``, ``hi``
    (N, H, C) in those units and ``index`` (N, 2).

    >>> from rnnkit.forecast.data import load_series
    >>> df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=100, freq="h"), "y": np.arange(100.0)})
    >>> results, arrays = evaluate(None, prepare(load_series(df, "y"), 8, 4))
    >>> round(results["naive"]["mae"], 3), arrays["y"].shape  # a straight line: naive is off by 2.5 on average
    (2.5, (17, 4, 1))
    """
    index = prep.index(split) if index is None else index
    if len(index) == 0:
        raise ValueError(f"no {split} window of lookback {prep.lookback} + horizon {prep.horizon} fits the data")
    w = _windows(prep, index)
    scaled = prep.protocol == "ltsf"
    sids = [prep.series.series[k].id for k in index[:, 0]]

    def units(a: np.ndarray, spread: bool = False) -> np.ndarray:
        if scaled:
            return a
        return np.stack([prep.scaler.inverse(sid, a[i], scale_only=spread) for i, sid in enumerate(sids)])

    y = units(w["y"])
    mask = w["y_mask"]
    # MASE denominators: each window divides by its own series' in-sample (seasonal) naive error on the
    # training rows, in the reporting units.
    per_series = []
    for s, b in zip(prep.series.series, prep.borders):
        rows = np.where(s.observed, s.target, np.nan)[: b["train"][1]]
        per_series.append(naive_scale(prep.scaler.transform(s.id, rows) if scaled else rows, season or 1))
    mscale = np.stack(per_series)[index[:, 0]][:, None, :]  # (N, 1, C)
    results: dict[str, dict[str, float]] = {}
    arrays: dict[str, np.ndarray] = {"y": y, "mask": mask, "index": index}
    if model is not None:
        params = predict_params(model, prep.data, index)
        t = torch.from_numpy(params)
        f = units(model.head.point(t).numpy())
        results["model"] = point_metrics(y, f, mask, mscale)
        arrays["forecast"] = f
        if model.head.intervals:
            if rolling is None:
                lo, hi = (units(a) for a in interval(model, t, level))
            else:
                scale = rolling_scales(model, prep, index, level, rolling)[:, None, None]  # (N, 1, 1)
                raw_lo, mid, raw_hi = _bounds(model, t, level)
                lo, hi = units(mid - scale * (mid - raw_lo)), units(mid + scale * (raw_hi - mid))
            results["model"][f"coverage_{round(level * 100)}"] = coverage(y, lo, hi, mask)
            results["model"][f"width_{round(level * 100)}"] = float(np.mean(hi - lo))
            arrays["lo"], arrays["hi"] = lo, hi
    if baselines:
        x = w["x"]
        results["naive"] = point_metrics(y, units(naive(x, prep.horizon)), mask, mscale)
        if season and 1 < season <= prep.lookback:  # season 1 would repeat the naive row
            results["seasonal_naive"] = point_metrics(y, units(seasonal_naive(x, prep.horizon, season)), mask, mscale)
        tw = _windows(prep, prep.index("train"))
        lin = LinearForecaster(prep.lookback, prep.horizon).fit(tw["x"], tw["y"], tw["y_mask"])
        results["linear"] = point_metrics(y, units(lin.predict(x)), mask, mscale)
    return results, arrays


def _short(value: Any) -> float:
    """A float32 result as the shortest decimal that reads back as the same float32: 440.57886, not the
    440.578857421875 that its float64 widening prints (the model computes in float32; more digits are noise).

    >>> _short(np.float32(440.57886))
    440.57886
    """
    return float(str(np.float32(value)))


def future_frame(model: ForecastModel, series: SeriesSet, *, level: float = 0.8) -> pd.DataFrame:
    """Forecast the H steps after the end of every series: one row per (series, step) and target, data units.

    Columns: ``id`` (when the data has several series), the time column, ``target``, ``forecast`` and, for
    probabilistic heads, ``lo``/``hi`` of the central ``level`` interval. Known-future covariates over the horizon
    come from calendar features; user-given future covariates must extend H rows past the last target (the
    target's trailing missing rows are the horizon), else a ValueError says so.
    """
    meta = model.meta
    scaler = StandardScaler.from_dict(meta["scaler"])
    L, H = model.lookback, model.horizon
    rows = []
    for s in series.series:
        if len(s) < L:
            raise ValueError(f"series {s.id!r} has {len(s)} rows; the model needs the last {L} (--lookback)")
        times = future_times(s.time[-1], meta["freq"], H)
        if model.num_future:
            user_f = len(meta["future"])
            if user_f:
                raise ValueError(
                    "this model uses known-future covariates "
                    f"{meta['future']}: forecast with `rnnkit forecast eval` on data that includes the horizon"
                )
            cal_past, _ = calendar_features(s.time[-L:], meta["calendar"])
            cal_fut, _ = calendar_features(times, meta["calendar"])
            future = np.concatenate([cal_past, cal_fut])[None]
        else:
            future = np.zeros((1, L + H, 0), np.float32)
        x = scaler.transform(s.id, s.target[-L:])
        obs = s.observed[-L:] & ~np.isnan(x)
        batch = {
            "x": torch.from_numpy(np.nan_to_num(x)[None]),
            "x_mask": torch.from_numpy(obs[None]),
            "past": torch.tensor(s.past[-L:][None]),  # a copy: pandas may hand out read-only arrays
            "future": torch.from_numpy(future.astype(np.float32)),
        }
        # The first look-back row's time step, for a model with a cycle (a frequency with no step count has
        # none, and such a model says so).
        with contextlib.suppress(ValueError):
            batch["t"] = torch.from_numpy(time_steps(s.time[-L:], meta["freq"])[:1])
        model.eval()
        with torch.no_grad():
            params = model(batch)
            f = scaler.inverse(s.id, model.head.point(params)[0].numpy())
            if model.head.intervals:
                lo, hi = (scaler.inverse(s.id, a[0]) for a in interval(model, params, level))
        for c, name in enumerate(meta["targets"]):
            for h in range(H):
                row = {"id": s.id, meta["time_col"]: times[h], "target": name, "forecast": _short(f[h, c])}
                if model.head.intervals:
                    row["lo"], row["hi"] = _short(lo[h, c]), _short(hi[h, c])
                rows.append(row)
    df = pd.DataFrame(rows)
    return df if len(series.series) > 1 else df.drop(columns="id")
