"""The forecasting estimator: ``Forecaster(horizon=...).fit(df)`` -> ``.predict()`` / ``.evaluate()`` /
``.backtest()``, ``.save(dir)``, :func:`load`. ``rnnkit forecast train|predict|eval|backtest`` is a thin layer
over it (same settings, same defaults: :class:`ForecastConfig`).

>>> import numpy as np, pandas as pd
>>> t = np.arange(200)
>>> df = pd.DataFrame({"step": t, "y": np.sin(2 * np.pi * t / 12) + 0.01 * t})
>>> f = Forecaster(horizon=6, d_model=16, ensemble=1, epochs=3, compile=False, quiet=True).fit(df)
>>> f.settings["lookback"], f.settings["season"]  # chosen from the data: 12 steps per cycle, found in it
(60, 12)
>>> f.predict().columns.tolist(), len(f.predict())  # the 6 steps after the last row
(['step', 'target', 'forecast'], 6)
>>> sorted(f.metrics["val"])  # the network and the baselines on the validation windows
['linear', 'model', 'naive', 'seasonal_naive']
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.forecast.data import GAP_METHODS, MISSING_METHODS, SeriesSet, load_series
from rnnkit.forecast.fallback import choose
from rnnkit.forecast.heads import HEADS
from rnnkit.forecast.models import MODELS, ForecastModel
from rnnkit.forecast.pipeline import PROTOCOLS, Prepared, calibrate, evaluate, future_frame, model_meta, prepare
from rnnkit.forecast.scale import StandardScaler
from rnnkit.forecast.timeaxis import is_step
from rnnkit.forecast.training import resolve, train_network
from rnnkit.forecast.windows import backtest_index
from rnnkit.train import FitResult, TrainConfig
from rnnkit.train.driver import summarize

log = logging.getLogger(__name__)

BACKTEST_WINDOWS = 10
"""The most backtest origins per series when ``windows`` is left unset."""


def _choice(flag: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"--{flag} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")


@dataclass
class ForecastConfig(TrainConfig):
    """What to forecast and how to train: the settings of :class:`Forecaster` and the flags of
    ``rnnkit forecast train``. Settings left at None are chosen from the data (:mod:`rnnkit.forecast.auto`)."""

    horizon: int | None = None
    """Steps to forecast (default: one season, 24 without one; at most the validation/test rows)."""
    lookback: int | None = None
    """Input window in steps (default: up to 96, whole seasons, at most half the training rows)."""
    model: str = "segrnn"
    """segrnn (segment RNN, no covariates) | rnn (direct multi-step) | ar (autoregressive)."""
    cell: str = "gru"
    """Recurrent cell: gru | lstm | rnn."""
    hidden_size: int = 128
    """Hidden size of the rnn/ar models."""
    num_layers: int = 1
    """Stacked recurrent layers of the rnn/ar models."""
    d_model: int = 256
    """Hidden size of segrnn."""
    seg_len: int | None = None
    """segrnn segment length (default: the largest divisor of both look-back and horizon up to 24)."""
    dropout: float | None = None
    """Dropout (default: 0.5 for segrnn, 0 for rnn/ar)."""
    revin: bool | None = None
    """Reversible instance normalisation of each window (default: off for segrnn, on for rnn/ar)."""
    cycle: int | None = None
    """Learn a periodic pattern of this many steps, removed before and added after the network (CycleNet;
    default: the season; 0: none)."""
    season: int | None = None
    """Seasonal period (default: from the frequency, e.g. 24 hourly, 12 monthly; from the data for integer steps)."""
    head: str = "median"
    """Output: median (MAE loss) | point (MSE) | gaussian | studentt | quantile (the last three give intervals)."""
    quantiles: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.5, 0.9])
    """Levels of the quantile head."""
    level: float = 0.8
    """Central interval level reported and plotted."""
    calibrate: bool = True
    """Rescale the intervals to cover --level of the validation windows."""
    rolling: int | None = 500
    """Calibrate each scored window's interval on the last N windows known at its origin (None: the validation
    factor)."""
    protocol: str = "holdout"
    """holdout: --val_frac/--test_frac of the rows, metrics in data units | ltsf: the literature's borders, scaled."""
    val_frac: float = 0.1
    """Validation fraction of the rows (holdout)."""
    test_frac: float = 0.2
    """Test fraction of the rows (holdout; 0: no test split)."""
    ensemble: int = 2
    """Models trained from seeds --seed, --seed+1, ...; forecasts are combined (1: a single model)."""
    fill_budget: bool = True
    """With --time_budget: train more members while the budget allows one more."""
    compile: bool = True
    """torch.compile segrnn's decoder step while training (falls back to eager with a warning)."""
    fallback: bool = True
    """Keep the best baseline (naive, seasonal naive, linear) for predict when it beats the network on validation."""
    # Engine settings whose default forecasting changes (their help is TrainConfig's). epochs None: enough for
    # 1000 optimizer steps, at least 30, with validation every ~30 steps when epochs are shorter (auto.py).
    epochs: int | None = None  # type: ignore[assignment]
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    early_stopping: int | None = 5
    # --ema off (the engine's default): validation never favoured the average (Melbourne temperatures h96 seeds
    # 0-1, ETTh1 h720; benchmarks/forecast_defaults.py and forecast_ema_curve.py in RESULTS.md), and on short runs
    # 0.995 still averages in the untrained first weights.

    def __post_init__(self) -> None:
        epochs, self.epochs = self.epochs, self.epochs or 1  # None (chosen from the data) passes the engine's check
        super().__post_init__()
        self.epochs = epochs
        if epochs is not None:
            _positive("epochs", epochs)
        for flag in ("horizon", "lookback", "seg_len", "season", "ensemble", "hidden_size", "num_layers", "d_model"):
            if getattr(self, flag) is not None:
                _positive(flag, getattr(self, flag))
        _choice("model", self.model, MODELS)
        _choice("head", self.head, HEADS)
        _choice("protocol", self.protocol, PROTOCOLS)
        if self.rolling is not None:
            _positive("rolling", self.rolling)
        if not 0 < self.level < 1:
            raise ValueError(f"--level must be in (0, 1); got {self.level}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"--dropout must be in [0, 1); got {self.dropout}")
        if self.cycle is not None and (isinstance(self.cycle, bool) or self.cycle < 0):
            raise ValueError(f"--cycle must be a whole number of steps >= 0 (0: none); got {self.cycle!r}")


def _positive(flag: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"--{flag} must be a positive integer; got {value!r}")


@dataclass
class DataOptions:
    """Which columns hold what, and how to treat gaps; given at fit time and stored with the model."""

    target: str | list[str] | None = None
    time_col: str | None = None
    past: str | list[str] | None = None
    future: str | list[str] | None = None
    calendar: str | list[str] | None = None
    id_col: str | None = None
    missing: str = "interpolate"
    gaps: str = "error"

    def __post_init__(self) -> None:
        _choice("missing", self.missing, MISSING_METHODS)
        _choice("gaps", self.gaps, GAP_METHODS)


def _target_of(data: Any, opts: DataOptions) -> str | list[str]:
    """The target columns: as given, or the one column that is neither time nor id."""
    if opts.target:
        return opts.target
    from rnnkit.forecast.data import read_table

    cols = [str(c) for c in read_table(data).columns]
    time_col = opts.time_col or (cols[0] if cols else None)
    rest = [c for c in cols if c not in (time_col, opts.id_col)]
    if len(rest) != 1:
        raise ValueError(f"--target is required: the column(s) to forecast, one or more of {rest}")
    return rest[0]


@dataclass
class _Plan:
    """What :meth:`Forecaster.fit` knows before training: the data, the settings chosen, the splits, the meta."""

    series: SeriesSet
    settings: dict[str, Any]
    prep: Prepared
    meta: dict


class Forecaster:
    """Forecast one or several series with a recurrent network, checked against baselines on validation.

    ``Forecaster(horizon=24, **settings)``: the settings are :class:`ForecastConfig`'s fields (the flags of
    ``rnnkit forecast train``). After :meth:`fit`: ``model`` (the model kept for forecasting: the network, or a
    baseline that beat it on validation), ``network`` (the trained network), ``settings`` (every setting, the ones
    chosen from the data included), ``metrics`` (validation and test figures of the network and the baselines).
    """

    def __init__(self, horizon: int | None = None, **settings: Any):
        names = {f.name for f in dataclasses.fields(ForecastConfig)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise TypeError(f"Forecaster got unknown setting(s) {unknown}; the settings are {sorted(names)}")
        self.config = ForecastConfig(horizon=horizon, **settings)
        self.model: ForecastModel | None = None
        self.network: ForecastModel | None = None
        self.settings: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self._series: SeriesSet | None = None
        self._overrides: dict[str, Any] = {}  # missing/gaps for later data, instead of the stored ones (CLI flags)

    # ---- training ----------------------------------------------------------------------------------------------

    def fit(
        self,
        data: str | Path | pd.DataFrame,
        target: str | list[str] | None = None,
        *,
        run_dir: str | Path | None = None,
        **data_options: Any,
    ) -> Forecaster:
        """Train on ``data`` (a CSV/Parquet path or a DataFrame). ``target``: the column(s) to forecast (default:
        the one column besides the time column). ``data_options``: time_col, past, future, calendar, id_col,
        missing, gaps (see :func:`~rnnkit.forecast.data.load_series`), stored with the model for later calls.
        ``run_dir``: where the trainer writes checkpoints and logs (default: none). Returns self."""
        plan = self._plan(data, target, **data_options)
        network, results = self._train(plan, run_dir)
        self._finish(plan, network, results)
        return self

    def _plan(self, data: str | Path | pd.DataFrame, target: str | list[str] | None, **data_options: Any) -> _Plan:
        """Read and check the data, choose the settings left to the data, cut the splits: all before training."""
        opts = DataOptions(target=target, **data_options)
        opts.target = _target_of(data, opts)
        cfg = self.config
        if cfg.model == "segrnn" and (opts.past or opts.future or opts.calendar):
            raise ValueError("--model segrnn uses no covariates; drop --past/--future/--calendar or use --model rnn|ar")
        series = load_series(data, **dataclasses.asdict(opts))
        name = Path(data).name if isinstance(data, (str, Path)) else ""
        settings = resolve(cfg, series, name)
        prep = prepare(
            series,
            settings["lookback"],
            settings["horizon"],
            protocol=cfg.protocol,
            name=name,
            val_frac=cfg.val_frac,
            test_frac=cfg.test_frac,
        )
        meta = model_meta(
            prep,
            season=settings["season"],
            val_frac=cfg.val_frac,
            test_frac=cfg.test_frac,
            level=cfg.level,
            gaps=opts.gaps,
            train_end={s.id: str(s.time[b["train"][1] - 1]) for s, b in zip(series.series, prep.borders)},
        )
        return _Plan(series, settings, prep, meta)

    def _train(
        self, plan: _Plan, run_dir: str | Path | None, run_config: dict | None = None
    ) -> tuple[ForecastModel, list[FitResult]]:
        return train_network(self.config, plan.settings, plan.prep, plan.meta, run_dir, run_config or plan.settings)

    def _finish(self, plan: _Plan, network: ForecastModel, results: list[FitResult]) -> None:
        """Calibrate the intervals, keep the network or the baseline that beats it on validation, score both."""
        cfg, prep = self.config, plan.prep
        if cfg.calibrate and network.head.intervals and len(prep.index("val")):
            calibrate(network, prep, cfg.level)
        model = choose(network, prep, season=plan.settings["season"], level=cfg.level, fallback=cfg.fallback)
        if model is not network and cfg.calibrate and model.head.intervals:
            calibrate(model, prep, cfg.level)
        model.meta["settings"] = network.meta["settings"] = plan.settings
        self.model, self.network, self.settings, self._series = model, network, plan.settings, plan.series
        self.metrics = {**summarize(results), **self._scores(prep)}

    def _scores(self, prep: Prepared) -> dict[str, Any]:
        """Validation figures of the network and the baselines, test figures of the kept model (and of the network
        when a baseline was kept), and what was kept."""
        assert self.model is not None and self.network is not None
        cfg, season = self.config, self.settings["season"]
        choice = self.model.meta.get("choice", {})
        metrics: dict[str, Any] = {
            "protocol": cfg.protocol,
            "units": "scaled" if cfg.protocol == "ltsf" else "data",
            "model": cfg.model,
            "ensemble": len(getattr(self.network, "members", [self.network])),  # members trained (>= --ensemble)
            "kept": choice.get("kept", "model"),
            "lookback": prep.lookback,
            "horizon": prep.horizon,
            "settings": self.settings,
            "windows": {split: len(prep.index(split)) for split in ("train", "val", "test")},
            "interval_calibration": self.model.meta.get("interval_calibration"),
            "choice": choice,
        }
        if len(prep.index("val")):
            metrics["val"], _ = evaluate(self.network, prep, "val", level=cfg.level, season=season)
        if len(prep.index("test")):
            results, arrays = evaluate(self.model, prep, "test", level=cfg.level, season=season, rolling=cfg.rolling)
            if self.model is not self.network:
                network, _ = evaluate(self.network, prep, "test", season=season, baselines=False)
                results["network"] = network["model"]
            metrics["test"] = results
            self._test_arrays = arrays
        self._prep = prep
        return metrics

    # ---- using the model ---------------------------------------------------------------------------------------

    def _need_model(self) -> ForecastModel:
        if self.model is None:
            raise ValueError("this Forecaster has no model yet: call fit(data) or rnnkit.forecast.load(dir) first")
        return self.model

    def _series_of(self, data: str | Path | pd.DataFrame | None, **overrides: Any) -> SeriesSet:
        """``data`` read with the column roles and data options the model was trained with."""
        model = self._need_model()
        if data is None:
            if self._series is None:
                raise ValueError("pass the series to forecast from (data=...): a loaded model keeps no data")
            return self._series
        meta = model.meta
        overrides = {**self._overrides, **overrides}
        return load_series(
            data,
            meta["targets"],
            time_col=meta["time_col"],
            past=meta["past"],
            future=meta["future"],
            calendar=meta["calendar"],
            id_col=meta["id_col"],
            missing=overrides.get("missing") or meta.get("missing", "interpolate"),
            gaps=overrides.get("gaps") or meta.get("gaps", "error"),
        )

    def predict(self, data: str | Path | pd.DataFrame | None = None, *, level: float | None = None) -> pd.DataFrame:
        """Forecast the horizon after the end of each series of ``data`` (default: the training data): one row per
        (series, step, target) with ``forecast`` and, for a model with intervals, ``lo``/``hi`` (data units)."""
        model = self._need_model()
        return future_frame(model, self._series_of(data), level=level or model.meta.get("level", 0.8))

    def _prepared(self, data: str | Path | pd.DataFrame | None) -> Prepared:
        model = self._need_model()
        if data is None and getattr(self, "_prep", None) is not None:
            return self._prep
        meta = model.meta
        return prepare(
            self._series_of(data),
            model.lookback,
            model.horizon,
            protocol=meta["protocol"],
            name=Path(data).name if isinstance(data, (str, Path)) else "",
            val_frac=meta.get("val_frac", 0.1),
            test_frac=meta.get("test_frac", 0.2),
            scaler=StandardScaler.from_dict(meta["scaler"]),
        )

    def evaluate(
        self,
        data: str | Path | pd.DataFrame | None = None,
        split: str = "test",
        *,
        level: float | None = None,
        rolling: int | None = 500,
    ) -> dict[str, dict[str, float]]:
        """Metrics of the model and the baselines on every window of ``split`` (train | val | test, by the borders
        the model was trained with)."""
        _choice("split", split, ("train", "val", "test"))
        model = self._need_model()
        level = level or model.meta.get("level", 0.8)
        results, self._last_arrays = evaluate(
            model, self._prepared(data), split, level=level, season=model.meta.get("season"), rolling=rolling
        )
        return results

    def backtest(
        self,
        data: str | Path | pd.DataFrame | None = None,
        *,
        windows: int | None = None,
        stride: int | None = None,
        in_sample: bool = False,
        level: float | None = None,
        rolling: int | None = 500,
    ) -> dict[str, Any]:
        """Rolling-origin backtest (no refit): forecasts from the last ``windows`` origins of each series,
        ``stride`` steps apart (default: the horizon). Origins whose forecast would cover training rows are
        excluded unless ``in_sample`` (their errors would be in-sample; a warning then says how many).
        ``windows=None`` takes as many origins as fit, at most :data:`BACKTEST_WINDOWS` per series (the log says
        when fewer fit); asking for more origins than fit is an error that says how many do."""
        model = self._need_model()
        if windows is not None:
            _positive("windows", windows)
        if stride is not None:
            _positive("stride", stride)
        stride = stride or model.horizon
        prep = self._prepared(data)
        first = np.array([_first_out_of_sample(s, model) for s in prep.series.series])  # per series
        earliest = np.zeros_like(first) if in_sample else first
        wanted = windows or BACKTEST_WINDOWS
        index = backtest_index([len(s) for s in prep.series.series], model.lookback, model.horizon, wanted, stride)
        fits = index[:, 1] >= earliest[index[:, 0]]
        where = "in the series" if in_sample else "after the training period"
        for k, s in enumerate(prep.series.series):
            room = int(((index[:, 0] == k) & fits).sum())
            if windows is None and room == 0:
                raise ValueError(
                    f"series {s.id!r} has no backtest origin {where} (look-back {model.lookback}, horizon "
                    f"{model.horizon}); give a longer series"
                    + ("" if in_sample else ", or --in_sample true to include in-sample origins")
                )
            if windows is None and room < wanted:
                log.info("backtest: series %r has room for %d of %d origins %s", s.id, room, wanted, where)
            if windows is not None and room < windows:
                raise ValueError(
                    f"--windows {windows}: series {s.id!r} has room for {room} origin(s) {stride} steps apart "
                    f"{where}; use --windows {room} or less"
                    + (
                        " or a smaller --stride"
                        if in_sample
                        else ", a smaller --stride, or --in_sample true to include in-sample origins"
                    )
                )
        if windows is None:
            index = index[fits]
        inside = int((index[:, 1] < first[index[:, 0]]).sum())  # 0 unless in_sample
        if inside:
            log.warning(
                "%d of the %d backtest origins forecast training rows: their errors are in-sample", inside, len(index)
            )
        level = level or model.meta.get("level", 0.8)
        results, arrays = evaluate(
            model, prep, index=index, level=level, season=model.meta.get("season"), rolling=rolling
        )
        self._last_arrays, self._last_prep = arrays, prep
        origins = []
        for i, (k, start) in enumerate(index):
            s = prep.series.series[k]
            err, m = arrays["forecast"][i] - arrays["y"][i], arrays["mask"][i]
            origin = s.time[start + model.lookback - 1]
            origins.append(
                {
                    "series": s.id,
                    "origin": str(origin),
                    "mae": float(np.abs(err)[m].mean()),
                    "mse": float((err**2)[m].mean()),
                }
            )
        return {"windows": len(index), "stride": stride, **results, "origins": origins}

    # ---- files ---------------------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the kept model to ``directory`` (config.json + model.safetensors); :func:`load` reads it back."""
        self._need_model().save(directory)
        return Path(directory)


def _first_out_of_sample(s: Any, model: ForecastModel) -> int:
    """The first window start of series ``s`` whose forecast lies wholly after the training rows (0 for a series
    the model was not trained on)."""
    end = model.meta.get("train_end", {}).get(s.id)
    if end is None:
        return 0
    last = int(end) if is_step(model.meta["freq"]) else pd.Timestamp(end)
    return max(0, int(s.time.searchsorted(last, side="right")) - model.lookback)


def load(directory: str | Path) -> Forecaster:
    """A :class:`Forecaster` from a directory written by :meth:`Forecaster.save` or by ``rnnkit forecast train``
    (its run folder DIR or DIR/model).

    >>> load("nowhere")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no trained model in nowhere (expected model/model.safetensors)
    """
    from rnnkit.train import load_model

    d = Path(directory)
    if not (d / "model.safetensors").exists() and (d / "model" / "model.safetensors").exists():
        d = d / "model"
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(f"no trained model in {directory} (expected model/model.safetensors)")
    model = load_model(d)
    if not isinstance(model, ForecastModel):
        raise ValueError(f"{directory} holds a {type(model).__name__}, not a forecasting model")
    settings = dict(model.meta.get("settings", {}))
    names = {f.name for f in dataclasses.fields(ForecastConfig)}
    f = Forecaster(**{k: v for k, v in settings.items() if k in names})
    f.model, f.settings = model, settings
    return f


__all__ = ["DataOptions", "ForecastConfig", "Forecaster", "load"]
