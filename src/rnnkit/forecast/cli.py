"""``rnnkit forecast train|predict|eval|backtest``: one dataclass per command (its fields are the flags), each a
thin layer over :class:`rnnkit.forecast.Forecaster`.

    rnnkit forecast train --csv AirPassengers.csv --target '#Passengers' --out runs/air
    rnnkit forecast predict --model runs/air --csv AirPassengers.csv
    rnnkit forecast eval --model runs/air --csv AirPassengers.csv --split val
    rnnkit forecast backtest --model runs/air --csv AirPassengers.csv --windows 3

Every command writes DIR/metrics.json and DIR/config.json (the resolved flags); train writes DIR/model (the model
kept for forecasting) and, when a baseline beat the network on validation, the network in DIR/network.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.forecast.data import GAP_METHODS, MISSING_METHODS, SeriesSet, load_series
from rnnkit.forecast.forecaster import ForecastConfig, Forecaster, _choice, _positive
from rnnkit.forecast.forecaster import load as load_forecaster_estimator
from rnnkit.forecast.models import ForecastModel
from rnnkit.forecast.pipeline import Prepared
from rnnkit.forecast.plots import plot_forecast
from rnnkit.train import is_main_process
from rnnkit.train.driver import Fitted, Run, run_training, summarize
from rnnkit.train.runlog import write_json

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TrainCommand(ForecastConfig):
    """Train a forecaster (settings left at null are chosen from the data) and score it beside baselines.

    The validation and test metrics of the network are reported beside the naive, seasonal-naive and linear
    baselines; when a baseline beats the network on validation it is kept for forecasting (--fallback).
    """

    csv: str
    """CSV or Parquet file: a time column (dates or integer steps 0, 1, 2, ...) and the target column(s)."""
    target: str
    """Column(s) to forecast, comma-separated."""
    time_col: str | None = None
    """Time column (default: the first column)."""
    id_col: str | None = None
    """Column naming the series when the file holds several."""
    past: str | None = None
    """Past-only covariates, comma-separated (rnn/ar models)."""
    future: str | None = None
    """Known-future covariates, comma-separated (rnn/ar models)."""
    calendar: str | None = None
    """Calendar covariates: some of hour,dayofweek,dayofmonth,dayofyear,month (rnn/ar models)."""
    missing: str = "interpolate"
    """Missing targets: interpolate | ffill | zero | mask (left out of loss and metrics) | error."""
    gaps: str = "error"
    """Missing timestamps: error | fill (inserted as missing values). Stored with the model."""
    out: str = "runs/forecast"

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("missing", self.missing, MISSING_METHODS)
        _choice("gaps", self.gaps, GAP_METHODS)
        if self.model == "segrnn" and (self.past or self.future or self.calendar):
            raise ValueError("--model segrnn uses no covariates; drop --past/--future/--calendar or use --model rnn|ar")


def _load(cfg: TrainCommand) -> SeriesSet:
    """The series a train command reads (its --csv with its column flags); benchmarks/forecast_ema_curve.py uses it."""
    data = {k: getattr(cfg, k) for k in ("time_col", "id_col", "past", "future", "calendar", "missing", "gaps")}
    return load_series(cfg.csv, cfg.target, **data)


def _write(out: Path, metrics: dict, config: Any) -> None:
    write_json(out / "metrics.json", metrics)  # atomic, as every run file
    write_json(out / "config.json", dataclasses.asdict(config))


def _plot_window(prep: Prepared, arrays: dict, path: Path, title: str, level: float, k: int = -1) -> Path:
    """Plot window ``k`` of an evaluation (default: the last): its look-back, truth, forecast and band."""
    sidx, start = arrays["index"][k]
    s = prep.series.series[sidx]
    L, H = prep.lookback, prep.horizon
    scaled = prep.protocol == "ltsf"
    hist = s.target[start : start + L]
    hist = prep.scaler.transform(s.id, hist) if scaled else hist
    return plot_forecast(
        path,
        history_t=s.time[start : start + L],
        history=hist,
        future_t=s.time[start + L : start + L + H],
        forecast=arrays["forecast"][k],
        truth=arrays["y"][k],
        lo=arrays["lo"][k] if "lo" in arrays else None,
        hi=arrays["hi"][k] if "hi" in arrays else None,
        names=prep.series.targets,
        title=title + (" (scaled units)" if scaled else ""),
        level=level,
    )


def _table(results: dict[str, dict[str, float]], title: str = "") -> str:
    keys = ["mse", "mae", "rmse", "smape", "mase"]
    lines = [f"{title:16s}" + "".join(f"{k:>10s}" for k in keys)]
    for name, m in results.items():
        lines.append(f"{name:16s}" + "".join(f"{m[k]:10.4f}" if k in m else f"{'-':>10s}" for k in keys))
    return "\n".join(lines)


def train(cfg: TrainCommand) -> dict:
    """Train with the engine's driver (OUT/model, config.json, metrics.json, Ctrl-C, --resume), keep the network or
    the baseline that beats it on validation, score both on the test windows."""
    settings = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(ForecastConfig)}
    data = {k: getattr(cfg, k) for k in ("time_col", "id_col", "past", "future", "calendar", "missing", "gaps")}
    f = Forecaster(**settings)
    plan = f._plan(cfg.csv, cfg.target, **data)  # a bad file or setting fails before the run folder is touched

    def fit(run: Run) -> Fitted:
        network, results = f._train(plan, run.out, run.resolved)
        if any(r.stopped_reason == "interrupted" for r in results):
            return Fitted(model=network, results=results)
        f._finish(plan, network, results)
        assert f.model is not None
        if f.model is not network and is_main_process():
            network.save(run.out / "network")
        metrics = {k: v for k, v in f.metrics.items() if k not in summarize(results)}
        if "test" in metrics and is_main_process():
            kept = metrics["kept"] if metrics["kept"] != "model" else cfg.model
            _plot_window(
                plan.prep, f._test_arrays, run.out / "forecast_test.png", f"{kept}: last test window", cfg.level
            )
        if not cfg.quiet and is_main_process():
            for split in ("val", "test"):
                if split in metrics:
                    print(_table(metrics[split], {"val": "validation", "test": "test"}[split]))
        return Fitted(model=f.model, results=results, metrics=metrics)

    return run_training(cfg, fit, command="forecast train", headline=_headline)


def _headline(metrics: dict) -> str:
    """The forecasting part of the summary line: what was kept, on which validation figure, and its test MAE."""
    choice = metrics.get("choice", {})
    val, kept = choice.get("val", {}), choice.get("kept", "model")
    if kept == "model":
        text = f"kept the network (validation MASE {val['model']:.3f})" if val else "kept the network"
    else:
        text = f"kept the {kept} baseline (validation MASE {val[kept]:.3f}, network {val['model']:.3f})"
    if "test" in metrics:
        text += f"; test MAE {metrics['test']['model']['mae']:.4g}, MASE {metrics['test']['model']['mase']:.3f}"
    return text


@dataclass(kw_only=True)
class ModelCommand:
    """Options of the commands that use a trained model."""

    model: str
    """Run folder written by `rnnkit forecast train` (or its model/ folder)."""
    csv: str
    """CSV or Parquet file with the columns the model was trained on."""
    out: str = ""
    """Output folder (default: MODEL/<command>)."""
    level: float | None = None
    """Central interval level (default: the training one)."""
    missing: str | None = None
    """Missing targets (default: as in training)."""
    gaps: str | None = None
    """Missing timestamps: error | fill (default: as in training)."""

    def __post_init__(self) -> None:
        if self.missing is not None:
            _choice("missing", self.missing, MISSING_METHODS)
        if self.gaps is not None:
            _choice("gaps", self.gaps, GAP_METHODS)
        if self.level is not None and not 0 < self.level < 1:
            raise ValueError(f"--level must be in (0, 1); got {self.level}")


def load_forecaster(directory: str | Path) -> ForecastModel:
    """The model saved by `rnnkit forecast train` in DIR/model (or DIR itself when it holds model.safetensors)."""
    model = load_forecaster_estimator(directory).model
    assert model is not None
    return model


def _open(cfg: ModelCommand) -> Forecaster:
    f = load_forecaster_estimator(cfg.model)
    f._overrides = {"missing": cfg.missing, "gaps": cfg.gaps}
    return f


def _out(cfg: ModelCommand, verb: str) -> Path:
    return Path(cfg.out) if cfg.out else Path(cfg.model) / verb


@dataclass(kw_only=True)
class PredictCommand(ModelCommand):
    """Forecast the horizon after the end of each series: forecast.csv (values and intervals) and a plot."""


def predict(cfg: PredictCommand) -> dict:
    f = _open(cfg)
    model = f._need_model()
    meta = model.meta
    series = f._series_of(cfg.csv, missing=cfg.missing, gaps=cfg.gaps)
    level = cfg.level or meta.get("level", 0.8)
    from rnnkit.forecast.pipeline import future_frame

    frame = future_frame(model, series, level=level)
    out = _out(cfg, "predict")
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "forecast.csv", index=False)
    s = series.series[-1]
    L, H, C = model.lookback, model.horizon, len(meta["targets"])
    part = frame if "id" not in frame else frame[frame["id"] == s.id]
    fc = part["forecast"].to_numpy().reshape(C, H).T
    lo = part["lo"].to_numpy().reshape(C, H).T if "lo" in part else None
    hi = part["hi"].to_numpy().reshape(C, H).T if "hi" in part else None
    plot_forecast(
        out / "forecast.png",
        history_t=s.time[-3 * L :],
        history=s.target[-3 * L :],
        future_t=part[meta["time_col"]].to_numpy()[:H],
        forecast=fc,
        lo=lo,
        hi=hi,
        names=meta["targets"],
        title=f"forecast of series {s.id}" if meta["id_col"] else "forecast",
        level=level,
    )
    metrics = {"series": len(series.series), "horizon": H, "rows": len(frame), "level": level}
    _write(out, metrics, cfg)
    print(f"wrote {out / 'forecast.csv'} ({len(frame)} rows) and {out / 'forecast.png'}")
    return metrics


@dataclass(kw_only=True)
class EvalCommand(ModelCommand):
    """Score a trained model and the baselines on one split of a file (metrics.json and a forecast plot)."""

    split: str = "test"
    """train | val | test (by the borders the model was trained with)."""
    rolling: int | None = 500
    """Calibrate each window's interval on the last N windows known at its origin (None: the validation factor)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("split", self.split, ("train", "val", "test"))
        if self.rolling is not None:
            _positive("rolling", self.rolling)


def eval_(cfg: EvalCommand) -> dict:
    f = _open(cfg)
    model = f._need_model()
    level = cfg.level or model.meta.get("level", 0.8)
    prep = f._prepared(cfg.csv)
    results = f.evaluate(cfg.csv, cfg.split, level=level, rolling=cfg.rolling)
    out = _out(cfg, "eval")
    _plot_window(prep, f._last_arrays, out / f"forecast_{cfg.split}.png", f"last {cfg.split} window", level)
    metrics = {"split": cfg.split, "units": "scaled" if prep.protocol == "ltsf" else "data", **results}
    _write(out, metrics, cfg)
    print(_table(results, cfg.split))
    return metrics


@dataclass(kw_only=True)
class BacktestCommand(ModelCommand):
    """Rolling-origin backtest of a trained model (no refit): forecasts from the last --windows origins."""

    windows: int | None = None
    """Forecast origins per series, ending at the last one with a full horizon of truth (None: as many as fit
    after the training period, at most 10)."""
    stride: int | None = None
    """Steps between origins (default: the horizon)."""
    in_sample: bool = False
    """Allow origins whose forecast covers training rows (in-sample errors; a warning says how many)."""
    rolling: int | None = 500
    """Calibrate each window's interval on the last N windows known at its origin (None: the validation factor)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.windows is not None:
            _positive("windows", self.windows)
        if self.stride is not None:
            _positive("stride", self.stride)
        if self.rolling is not None:
            _positive("rolling", self.rolling)


def backtest(cfg: BacktestCommand) -> dict:
    f = _open(cfg)
    model = f._need_model()
    level = cfg.level or model.meta.get("level", 0.8)
    metrics = f.backtest(
        cfg.csv, windows=cfg.windows, stride=cfg.stride, in_sample=cfg.in_sample, level=level, rolling=cfg.rolling
    )
    out = _out(cfg, "backtest")
    _plot_window(f._last_prep, f._last_arrays, out / "backtest_last.png", "last backtest origin", level)
    _write(out, metrics, cfg)
    print(_table({k: v for k, v in metrics.items() if isinstance(v, dict)}, "backtest"))
    return metrics


COMMANDS = {
    "train": (TrainCommand, train),
    "predict": (PredictCommand, predict),
    "eval": (EvalCommand, eval_),
    "backtest": (BacktestCommand, backtest),
}
