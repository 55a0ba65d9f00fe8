"""``rnnkit forecast train|predict|eval|backtest``: one dataclass per command (its fields are the flags).

    rnnkit forecast train --csv ETTh1.csv --target HUFL,HULL,MUFL,MULL,LUFL,LULL,OT --lookback 96 --horizon 96 \\
        --protocol ltsf --out runs/etth1
    rnnkit forecast predict --model runs/etth1 --csv ETTh1.csv --out runs/etth1/predict
    rnnkit forecast eval --model runs/etth1 --csv ETTh1.csv --out runs/etth1/eval
    rnnkit forecast backtest --model runs/etth1 --csv ETTh1.csv --windows 20 --out runs/etth1/backtest

Every command writes DIR/metrics.json and DIR/config.json (the resolved flags).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.forecast.data import GAP_METHODS, MISSING_METHODS, SeriesSet, load_series, season_of
from rnnkit.forecast.heads import HEADS
from rnnkit.forecast.models import MODELS, ForecastEnsemble, Forecaster, make_model
from rnnkit.forecast.pipeline import PROTOCOLS, Prepared, calibrate, evaluate, future_frame, model_meta, prepare
from rnnkit.forecast.plots import plot_forecast
from rnnkit.forecast.scale import StandardScaler
from rnnkit.forecast.windows import backtest_index
from rnnkit.train.config import SCHEDULES

log = logging.getLogger(__name__)


def _choice(flag: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"--{flag} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")


@dataclass
class DataArgs:
    """Where the series are and what the columns mean (shared by every command)."""

    csv: str = ""
    """CSV or Parquet file with a time column and the target column(s)."""
    target: str = ""
    """Target column(s), comma-separated (train only; other commands read them from the model)."""
    time_col: str | None = None
    """Time column (default: the first column)."""
    id_col: str | None = None
    """Column naming the series when the file holds several."""
    past: str | None = None
    """Past-only covariate columns, comma-separated (known up to the forecast origin)."""
    future: str | None = None
    """Known-future covariate columns, comma-separated (known over the horizon too)."""
    calendar: str | None = None
    """Calendar features to add as known-future covariates: hour,dayofweek,dayofmonth,dayofyear,month."""
    missing: str = "interpolate"
    """Missing targets: interpolate | ffill | zero | mask (left out of the loss and the metrics) | error."""
    gaps: str = "error"
    """Missing timestamps: error | fill (insert them as missing values)."""


@dataclass
class TrainCommand(DataArgs):
    """Train a forecaster; report test metrics beside naive, seasonal-naive and linear baselines."""

    out: str = "runs/forecast"
    """Output directory (model, metrics.json, config.json, plots)."""
    lookback: int = 96
    """Input window L (time steps)."""
    horizon: int = 24
    """Forecast horizon H (time steps)."""
    model: str = "segrnn"
    """segrnn (segment RNN, parallel decoding; no covariates) | rnn (direct multi-horizon) | ar (autoregressive)."""
    cell: str = "gru"
    """Recurrent cell: gru | lstm | rnn."""
    hidden_size: int = 128
    """Hidden size of the rnn/ar models."""
    num_layers: int = 1
    """Stacked recurrent layers of the rnn/ar models."""
    d_model: int = 256
    """Hidden size of segrnn."""
    seg_len: int | None = None
    """segrnn segment length (default: the largest of 24, 12, 8, 6, 4, 2, 1 dividing both L and H)."""
    dropout: float | None = None
    """Dropout (default 0.5 for segrnn, before its output layer; 0 for rnn/ar, where it acts between layers)."""
    revin: bool | None = None
    """Reversible instance normalisation of each input window (default: on for rnn/ar; off for segrnn, which
    subtracts each window's last value instead, as in its paper). Validation does not settle segrnn's default:
    RevIN lost on ETTh1 at horizon 96 (0.685 against 0.660, one 3-minute run), tied at 720 (1.581 against 1.584),
    and won on the Melbourne temperatures at 96 (12.55 against 13.41, seeds 0-1; benchmarks/RESULTS.md:
    forecast_ett.py --ablate, forecast_defaults.py)."""
    cycle: int | None = None
    """Learn a periodic pattern of this many steps per target, removed from the input and added back to the
    forecast (residual cycle forecasting, CycleNet). Default: the season of the data's frequency (24 for hourly
    data, 7 for daily, 12 for monthly; --season overrides); 0: none."""
    head: str = "median"
    """median (MAE loss) | point (MSE loss) | gaussian | studentt | quantile: the last three give intervals.
    On validation MSE the MAE loss won on ETTh1 at horizon 96 (0.651 against 0.660) and on the Melbourne
    temperatures at 96 (13.41 against 13.47, seeds 0-1) and lost on ETTh1 at 720 (1.592 against 1.584; RESULTS.md:
    forecast_ett.py --ablate, forecast_defaults.py)."""
    quantiles: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.5, 0.9])
    """Levels learnt by the quantile head."""
    level: float = 0.8
    """Central prediction-interval level reported (coverage) and plotted."""
    calibrate: bool = True
    """Rescale the --level intervals so they cover --level of the validation windows (probabilistic heads)."""
    rolling: int | None = 500
    """Intervals of the scored windows calibrated on the last N windows whose truth was known at each origin
    (rolling conformal; validation windows count); None: the factor fitted on validation when training."""
    protocol: str = "holdout"
    """ltsf: literature borders (ETTh*/ETTm*: 12/4/4 months; else 70/10/20), metrics on scaled values.
    holdout: --val_frac/--test_frac by rows, metrics in the data's units."""
    val_frac: float = 0.1
    """Validation fraction of the rows (holdout protocol)."""
    test_frac: float = 0.2
    """Test fraction of the rows (holdout protocol; 0 trains on everything but the validation rows)."""
    season: int | None = None
    """Seasonal period for the seasonal-naive baseline and MASE (default: from the frequency, e.g. 24 for hourly)."""
    epochs: int = 30
    """Passes over the training windows (early stopping may stop sooner)."""
    batch_size: int = 256
    """Windows per batch."""
    lr: float = 1e-3
    """Peak AdamW learning rate (see --schedule)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    schedule: str = "cosine"
    """Learning-rate schedule: cosine (to zero by --epochs or the end of --time_budget) | constant | linear |
    plateau (halved when the validation loss stalls)."""
    early_stopping: int | None = 5
    """Stop after this many epochs without a better validation loss."""
    ema: float | None = None
    """Validate, keep and forecast with an exponential average of the weights, this decay per step (e.g. 0.995;
    null: off, the default). Off because validation never favoured it: best validation MSE 13.19 without it against
    13.41 with 0.995 on the Melbourne temperatures (horizon 96, seeds 0-1; benchmarks/forecast_defaults.py), 1.563
    against 1.566 on ETTh1 at horizon 720 (benchmarks/forecast_ema_curve.py), and on short runs (a few hundred
    steps) 0.995 still averages in the first, untrained weights (tests/forecast/test_learns.py)."""
    time_budget: float | None = None
    """Minutes of training at most."""
    max_steps: int | None = None
    """Optimizer steps at most."""
    ensemble: int = 2
    """Train this many models from seeds --seed, --seed+1, ... and forecast with their combination (their mean forecast;
    averaged quantiles; the moment-matched Gaussian); --time_budget is shared among them, and with --fill_budget
    members that stop early leave room for more. An ensemble is steadier from seed to seed than one model; on
    validation, 2 models scored 13.32 against one's 13.41 and against 14.15 for 3 sharing the same epochs on the
    Melbourne temperatures (horizon 96, seeds 0-1; benchmarks/forecast_defaults.py), and on ETTh1's test split (a
    development set) the ensemble's MSE ranged from 0.011 below to 0.003 above its first member's
    (benchmarks/RESULTS.md). 1 trains a single model, 2x faster without a budget."""
    fill_budget: bool = True
    """With --time_budget and --ensemble > 1: while the time left is at least what a member took on average, train
    one more member (seeds continuing; it stops when the budget is spent). So members that early-stop (short
    horizons) leave room for more, and members that need the whole budget (long horizons) get a full share.
    Chosen on ETTh1's test split (a development set); not yet compared on validation data, since it acts only under
    a time budget, which the machine's load changes."""
    compile: bool = True
    """Train segrnn's GRU decoder step through torch.compile: on 2 CPU cores a training step at horizon 720 is 1.5x
    faster (481 against 704 ms; within noise at 96 to 336: 0.9x to 1.2x), after compiling (1-5 s measured with
    inductor's on-disk kernel cache warm, longer on a first run; benchmarks/segrnn_decoder.py). It falls back to
    running eagerly, with a warning, where compilation fails (no C++ compiler)."""
    seed: int = 0
    """Random seed."""
    device: str = "auto"
    """auto | cpu | cuda."""
    quiet: bool = False
    """No progress bar."""

    def __post_init__(self) -> None:
        if not self.csv:
            raise ValueError("--csv is required: a CSV or Parquet file with a time column")
        if self.rolling is not None and self.rolling < 1:
            raise ValueError(f"--rolling must be a positive number of windows or None; got {self.rolling}")
        if not self.target:
            raise ValueError("--target is required: the column(s) to forecast, e.g. --target OT or --target a,b")
        _choice("model", self.model, MODELS)
        _choice("head", self.head, HEADS)
        _choice("protocol", self.protocol, PROTOCOLS)
        _choice("missing", self.missing, MISSING_METHODS)
        _choice("gaps", self.gaps, GAP_METHODS)
        _choice("schedule", self.schedule, SCHEDULES)
        for flag in ("lookback", "horizon", "epochs", "batch_size", "ensemble"):
            value = getattr(self, flag)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{flag} must be a positive integer; got {value!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"--level must be in (0, 1); got {self.level}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"--dropout must be in [0, 1); got {self.dropout}")
        if self.model == "segrnn" and (self.past or self.future or self.calendar):
            raise ValueError("--model segrnn uses no covariates; drop --past/--future/--calendar or use --model rnn|ar")


def _seg_len(lookback: int, horizon: int) -> int:
    return next(w for w in (24, 12, 8, 6, 4, 2, 1) if lookback % w == 0 and horizon % w == 0)


def _load(args: DataArgs, meta: dict | None = None) -> SeriesSet:
    if not args.csv:
        raise ValueError("--csv is required: the series to read")
    if meta is None:
        return load_series(
            args.csv,
            args.target,
            time_col=args.time_col,
            past=args.past,
            future=args.future,
            calendar=args.calendar,
            id_col=args.id_col,
            missing=args.missing,
            gaps=args.gaps,
        )
    return load_series(
        args.csv,
        meta["targets"],
        time_col=meta["time_col"],
        past=meta["past"],
        future=meta["future"],
        calendar=meta["calendar"],
        id_col=meta["id_col"],
        missing=args.missing,
        gaps=args.gaps,
    )


def _write(out: Path, metrics: dict, config: Any) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2) + "\n")


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


def _table(results: dict[str, dict[str, float]]) -> str:
    keys = ["mse", "mae", "rmse", "smape", "mase"]
    lines = [f"{'':16s}" + "".join(f"{k:>10s}" for k in keys)]
    for name, m in results.items():
        lines.append(f"{name:16s}" + "".join(f"{m[k]:10.4f}" if k in m else f"{'-':>10s}" for k in keys))
    return "\n".join(lines)


def train(cfg: TrainCommand) -> dict:
    """Train, save DIR/model, evaluate on the test windows (when there are any), write metrics.json."""
    from rnnkit.train import TrainConfig, seed_everything

    out = Path(cfg.out)
    seed_everything(cfg.seed)
    series = _load(cfg)
    prep = prepare(
        series,
        cfg.lookback,
        cfg.horizon,
        protocol=cfg.protocol,
        name=Path(cfg.csv).name,
        val_frac=cfg.val_frac,
        test_frac=cfg.test_frac,
    )
    season = cfg.season or season_of(series.freq)
    cycle = (season if season > 1 else 0) if cfg.cycle is None else cfg.cycle
    if cycle > 0 and prep.data.steps is None:
        raise ValueError(f"--cycle {cycle} needs time steps, which the frequency {series.freq!r} lacks; pass --cycle 0")
    kwargs: dict[str, Any] = {
        "lookback": cfg.lookback,
        "horizon": cfg.horizon,
        "num_targets": len(series.targets),
        "num_past": len(series.past),
        "num_future": len(series.future),
        "head": cfg.head,
        "quantiles": cfg.quantiles,
        "revin": cfg.revin if cfg.revin is not None else cfg.model != "segrnn",
        "cycle": cycle,
        "meta": model_meta(prep, season=season, val_frac=cfg.val_frac, test_frac=cfg.test_frac, level=cfg.level),
        "cell": cfg.cell,
        "dropout": cfg.dropout if cfg.dropout is not None else (0.5 if cfg.model == "segrnn" else 0.0),
    }
    if cfg.model == "segrnn":
        kwargs.update(seg_len=cfg.seg_len or _seg_len(cfg.lookback, cfg.horizon), d_model=cfg.d_model)
    else:
        kwargs.update(hidden_size=cfg.hidden_size, num_layers=cfg.num_layers)
    from rnnkit.forecast.pipeline import train as fit

    members, results_fit = [], []
    took: list[float] = []  # minutes each member trained for
    start = time.perf_counter()

    def left() -> float:  # minutes of --time_budget not yet spent
        assert cfg.time_budget is not None
        return cfg.time_budget - (time.perf_counter() - start) / 60

    def more() -> bool:  # --fill_budget: time for one more member than --ensemble?
        fill = cfg.fill_budget and cfg.ensemble > 1 and cfg.time_budget is not None
        return fill and left() >= sum(took) / len(took)

    i = 0
    while i < cfg.ensemble or more():
        budget = None
        if cfg.time_budget is not None:  # what is left, shared among the members still to train (all to an extra)
            budget = max(left(), 1e-3) / max(cfg.ensemble - i, 1)
        seed_everything(cfg.seed + i)
        member = make_model(cfg.model, **kwargs)
        tc = TrainConfig(
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            schedule=cfg.schedule,
            ema=cfg.ema,
            early_stopping=cfg.early_stopping,
            time_budget=budget,
            max_steps=cfg.max_steps,
            seed=cfg.seed + i,
            device=cfg.device,
            quiet=cfg.quiet,
        )
        run_dir = out / "run" if cfg.ensemble == 1 else out / "run" / f"member{i}"
        t0 = time.perf_counter()
        member.compile_step = cfg.compile  # segrnn's decoder reads it; inert in the other models
        results_fit.append(fit(member, prep, tc, run_dir=run_dir, run_config=dataclasses.asdict(cfg)))
        member.compile_step = False
        took.append((time.perf_counter() - t0) / 60)
        members.append(member.cpu())
        i += 1
    if len(members) > cfg.ensemble:
        log.info("%d members trained (--ensemble %d) in the --time_budget", len(members), cfg.ensemble)
    model = members[0] if cfg.ensemble == 1 else ForecastEnsemble(members)
    result = results_fit[0]
    if cfg.calibrate and model.head.intervals and len(prep.index("val")):
        calibrate(model, prep, cfg.level)
    model.save(out / "model")
    metrics: dict[str, Any] = {
        "protocol": cfg.protocol,
        "units": "scaled" if cfg.protocol == "ltsf" else "data",
        "model": cfg.model,
        "lookback": cfg.lookback,
        "horizon": cfg.horizon,
        "ensemble": len(members),
        "train_seconds": sum(r.seconds for r in results_fit),
        "steps": sum(r.steps for r in results_fit),
        "stopped": result.stopped_reason if cfg.ensemble == 1 else [r.stopped_reason for r in results_fit],
        "best_val": {k: v for k, v in result.best_metrics.items() if k.startswith("val_")}
        if cfg.ensemble == 1
        else [{k: v for k, v in r.best_metrics.items() if k.startswith("val_")} for r in results_fit],
        "windows": {split: len(prep.index(split)) for split in ("train", "val", "test")},
        "interval_calibration": model.meta.get("interval_calibration"),
    }
    if len(prep.index("test")):
        results, arrays = evaluate(model, prep, "test", level=cfg.level, season=season, rolling=cfg.rolling)
        metrics["test"] = results
        _plot_window(prep, arrays, out / "forecast_test.png", f"{cfg.model}: last test window", cfg.level)
        print(_table(results))
    _write(out, metrics, cfg)
    return metrics


@dataclass
class ModelCommand(DataArgs):
    """Options shared by the commands that use a trained model."""

    model: str = ""
    """Directory written by `rnnkit forecast train` (or its model/ sub-directory)."""
    out: str = ""
    """Output directory (default: a sub-directory of --model named after the command)."""
    level: float | None = None
    """Central interval level (default: the one the model was trained with)."""
    rolling: int | None = 500
    """Intervals of the scored windows calibrated on the last N windows whose truth was known at each origin
    (rolling conformal; validation windows count); None: the factor fitted on validation when training."""

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("--model is required: a directory written by `rnnkit forecast train`")
        if self.rolling is not None and self.rolling < 1:
            raise ValueError(f"--rolling must be a positive number of windows or None; got {self.rolling}")
        if not self.csv:
            raise ValueError("--csv is required: the series to forecast")
        _choice("missing", self.missing, MISSING_METHODS)
        _choice("gaps", self.gaps, GAP_METHODS)
        if self.level is not None and not 0 < self.level < 1:
            raise ValueError(f"--level must be in (0, 1); got {self.level}")


def load_forecaster(directory: str | Path) -> Forecaster:
    """A model saved by `rnnkit forecast train`: DIR/model (or DIR itself when it holds model.safetensors)."""
    from rnnkit.train import load_model

    d = Path(directory)
    if not (d / "model.safetensors").exists() and (d / "model" / "model.safetensors").exists():
        d = d / "model"
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(f"no trained model in {directory} (expected model/model.safetensors)")
    model = load_model(d)
    if not isinstance(model, Forecaster):
        raise ValueError(f"{directory} holds a {type(model).__name__}, not a forecasting model")
    return model


def _out(cfg: ModelCommand, verb: str) -> Path:
    return Path(cfg.out) if cfg.out else Path(cfg.model) / verb


@dataclass
class PredictCommand(ModelCommand):
    """Forecast the horizon after the end of each series: forecast.csv (values and intervals) and a plot."""


def predict(cfg: PredictCommand) -> dict:
    model = load_forecaster(cfg.model)
    meta = model.meta
    series = _load(cfg, meta)
    level = cfg.level or meta.get("level", 0.8)
    frame = future_frame(model, series, level=level)
    out = _out(cfg, "predict")
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "forecast.csv", index=False)
    s = series.series[-1]
    L, H, C = model.lookback, model.horizon, len(meta["targets"])
    part = frame if "id" not in frame else frame[frame["id"] == s.id]
    f = part["forecast"].to_numpy().reshape(C, H).T
    lo = part["lo"].to_numpy().reshape(C, H).T if "lo" in part else None
    hi = part["hi"].to_numpy().reshape(C, H).T if "hi" in part else None
    plot_forecast(
        out / "forecast.png",
        history_t=s.time[-3 * L :],
        history=s.target[-3 * L :],
        future_t=part[meta["time_col"]].to_numpy()[:H],
        forecast=f,
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


def _prepare_from(model: Forecaster, series: SeriesSet, csv: str) -> Prepared:
    meta = model.meta
    return prepare(
        series,
        model.lookback,
        model.horizon,
        protocol=meta["protocol"],
        name=Path(csv).name,
        val_frac=meta.get("val_frac", 0.1),
        test_frac=meta.get("test_frac", 0.2),
        scaler=StandardScaler.from_dict(meta["scaler"]),
    )


@dataclass
class EvalCommand(ModelCommand):
    """Score a trained model and the baselines on one split of a file (metrics.json and a forecast plot)."""

    split: str = "test"
    """train | val | test (by the borders the model was trained with)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("split", self.split, ("train", "val", "test"))


def eval_(cfg: EvalCommand) -> dict:
    model = load_forecaster(cfg.model)
    meta = model.meta
    prep = _prepare_from(model, _load(cfg, meta), cfg.csv)
    level = cfg.level or meta.get("level", 0.8)
    results, arrays = evaluate(model, prep, cfg.split, level=level, season=meta.get("season"), rolling=cfg.rolling)
    out = _out(cfg, "eval")
    _plot_window(prep, arrays, out / f"forecast_{cfg.split}.png", f"last {cfg.split} window", level)
    metrics = {"split": cfg.split, "units": "scaled" if prep.protocol == "ltsf" else "data", **results}
    _write(out, metrics, cfg)
    print(_table(results))
    return metrics


@dataclass
class BacktestCommand(ModelCommand):
    """Rolling-origin backtest of a trained model (no refit): forecasts from the last --windows origins."""

    windows: int = 10
    """Number of forecast origins, ending at the last one with a full horizon of truth."""
    stride: int | None = None
    """Steps between origins (default: the horizon, so the windows tile the end of the series)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.windows < 1:
            raise ValueError(f"--windows must be a positive integer; got {self.windows}")
        if self.stride is not None and self.stride < 1:
            raise ValueError(f"--stride must be a positive integer; got {self.stride}")


def backtest(cfg: BacktestCommand) -> dict:
    model = load_forecaster(cfg.model)
    meta = model.meta
    prep = _prepare_from(model, _load(cfg, meta), cfg.csv)
    stride = cfg.stride or model.horizon
    index = backtest_index([len(s) for s in prep.series.series], model.lookback, model.horizon, cfg.windows, stride)
    level = cfg.level or meta.get("level", 0.8)
    results, arrays = evaluate(model, prep, index=index, level=level, season=meta.get("season"), rolling=cfg.rolling)
    per_origin = []
    for i, (k, start) in enumerate(index):
        s = prep.series.series[k]
        err = arrays["forecast"][i] - arrays["y"][i]
        m = arrays["mask"][i]
        per_origin.append(
            {
                "series": s.id,
                "origin": str(s.time[start + model.lookback - 1]),
                "mae": float(np.abs(err)[m].mean()),
                "mse": float((err**2)[m].mean()),
            }
        )
    out = _out(cfg, "backtest")
    _plot_window(prep, arrays, out / "backtest_last.png", "last backtest origin", level)
    metrics = {"windows": len(index), "stride": stride, **results, "origins": per_origin}
    _write(out, metrics, cfg)
    print(_table(results))
    return metrics


COMMANDS = {
    "train": (TrainCommand, train),
    "predict": (PredictCommand, predict),
    "eval": (EvalCommand, eval_),
    "backtest": (BacktestCommand, backtest),
}
