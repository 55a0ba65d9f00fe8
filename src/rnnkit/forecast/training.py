"""Training a forecasting network: settings resolved from the data, then one model or a seed ensemble.

:func:`resolve` fills every setting left at None (:mod:`rnnkit.forecast.auto` says how); :func:`train_network`
builds the network and trains it with the engine (:func:`rnnkit.forecast.pipeline.train`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.forecast import auto
from rnnkit.forecast.data import SeriesSet
from rnnkit.forecast.models import ForecastEnsemble, ForecastModel, make_model
from rnnkit.forecast.pipeline import Prepared
from rnnkit.forecast.timeaxis import detect_season, is_step, season_of
from rnnkit.forecast.windows import split_borders
from rnnkit.train import FitResult, TrainConfig
from rnnkit.train.driver import fit_ensemble

if TYPE_CHECKING:
    from rnnkit.forecast.forecaster import ForecastConfig

log = logging.getLogger(__name__)


def resolve(cfg: ForecastConfig, series: SeriesSet, name: str = "") -> dict[str, Any]:
    """Every setting of ``cfg`` with those left at None chosen from ``series`` (``name``: the file name, which
    selects the ETT borders under the ltsf protocol). Returns a dict of :class:`ForecastConfig` fields."""
    out = dataclasses.asdict(cfg)
    ett = cfg.protocol == "ltsf"
    splits = [
        split_borders(len(s), 0, name=name, ett=ett, val_frac=cfg.val_frac, test_frac=cfg.test_frac)
        for s in series.series
    ]
    rows = {k: min(b[k][1] - b[k][0] for b in splits) for k in ("train", "val", "test")}
    season = cfg.season
    if season is None:
        season = season_of(series.freq)
        if is_step(series.freq):  # no calendar to suggest one: look in the training rows of the first series
            s = series.series[0]
            season = detect_season(s.target[: splits[0]["train"][1]], max_period=rows["train"] // 3)
    horizon = cfg.horizon or auto.horizon(season, rows["val"], rows["test"])
    lookback = cfg.lookback or auto.lookback(rows["train"], horizon, season)
    windows = sum(max(0, b["train"][1] - lookback - horizon + 1) for b in splits)
    per_epoch = max(1, math.ceil(windows / cfg.batch_size))
    out.update(
        season=season,
        horizon=horizon,
        lookback=lookback,
        cycle=(season if season > 1 else 0) if cfg.cycle is None else cfg.cycle,
        dropout=cfg.dropout if cfg.dropout is not None else (0.5 if cfg.model == "segrnn" else 0.0),
        revin=cfg.revin if cfg.revin is not None else cfg.model != "segrnn",
        epochs=cfg.epochs or auto.epochs(per_epoch),
        val_every=cfg.val_every if cfg.val_every is not None or cfg.epochs else auto.val_every(per_epoch),
    )
    if cfg.model == "segrnn":
        out["seg_len"] = cfg.seg_len or auto.seg_len(lookback, horizon)
    return out


def _model_kwargs(settings: dict[str, Any], prep: Prepared, meta: dict) -> dict[str, Any]:
    series = prep.series
    kwargs: dict[str, Any] = {
        "lookback": settings["lookback"],
        "horizon": settings["horizon"],
        "num_targets": len(series.targets),
        "num_past": len(series.past),
        "num_future": len(series.future),
        "head": settings["head"],
        "quantiles": settings["quantiles"],
        "revin": settings["revin"],
        "cycle": settings["cycle"],
        "meta": meta,
        "cell": settings["cell"],
        "dropout": settings["dropout"],
    }
    if settings["model"] == "segrnn":
        kwargs.update(seg_len=settings["seg_len"], d_model=settings["d_model"])
    else:
        kwargs.update(hidden_size=settings["hidden_size"], num_layers=settings["num_layers"])
    return kwargs


def train_network(
    cfg: ForecastConfig,
    settings: dict[str, Any],
    prep: Prepared,
    meta: dict,
    run_dir: str | Path | None,
    run_config: dict | None = None,
) -> tuple[ForecastModel, list[FitResult]]:
    """Train ``cfg.ensemble`` networks (more with --fill_budget under a --time_budget) from seeds --seed,
    --seed+1, ... with the engine's ensemble helper (the time left is shared among the members still to train);
    returns the model (one network or their :class:`~rnnkit.forecast.models.ForecastEnsemble`) and the engine's
    results. ``run_dir``: checkpoints and logs (RUN_DIR, or RUN_DIR/member<k>); None: none written."""
    from rnnkit.forecast.pipeline import train as fit

    if settings["cycle"] > 0 and prep.data.steps is None:
        raise ValueError(
            f"--cycle {settings['cycle']} needs time steps, which the frequency {prep.series.freq!r} lacks; "
            "pass --cycle 0"
        )
    kwargs = _model_kwargs(settings, prep, meta)
    engine = TrainConfig(**{f.name: settings[f.name] for f in dataclasses.fields(TrainConfig)})  # epochs resolved

    def fit_member(k: int, config: TrainConfig, member_dir: Path) -> tuple[ForecastModel, FitResult]:
        member = make_model(cfg.model, **kwargs)
        member.compile_step = cfg.compile  # segrnn's decoder reads it; inert in the other models
        try:
            result = fit(member, prep, config, run_dir=member_dir if run_dir else None, run_config=run_config)
        finally:
            member.compile_step = False
        return member, result

    models, results = fit_ensemble(
        fit_member, engine, cfg.ensemble, run_dir=run_dir or ".", share="rest", fill_budget=cfg.fill_budget
    )
    members = [m for m in models if isinstance(m, ForecastModel)]
    return (members[0] if len(members) == 1 else ForecastEnsemble(members)), results
