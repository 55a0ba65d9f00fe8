"""How every text estimator trains: in memory (no ``out``), or in a run folder through the engine's driver.

One function so that the three estimators (and their command lines) cannot drift apart in seeding, threads,
metrics or the run folder's handling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from rnnkit.train import TrainConfig
from rnnkit.train.driver import Fitted, Run, cpu_threads, prepare_run_dir, run_training, summarize
from rnnkit.train.seeding import seed_everything

FitFn = Callable[[Path | None, Any], Fitted]  # (trainer's run_dir or None, run_config or None) -> Fitted


def check_out(out: str | Path | None, resume: bool) -> None:
    """Refuse, before any work, a run folder that must not be overwritten (a finished or interrupted run)."""
    if out is not None:
        prepare_run_dir(out, resume)


def train(
    settings: TrainConfig,
    fit: FitFn,
    *,
    command: str,
    out: str | Path | None,
    resume: bool = False,
    record: TrainConfig | None = None,
    evaluate: Callable[[nn.Module], dict[str, Any]] | None = None,
    headline: Callable[[dict[str, Any]], str] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train with ``fit`` and return (model, metrics), the metrics as the driver writes them to metrics.json.

    Without ``out``: seeded and threaded as the driver does, nothing written. With ``out``:
    :func:`rnnkit.train.driver.run_training` with ``record`` (default ``settings``; the command line passes its
    own config so config.json holds its file flags too) and ``out``/``resume`` set. A Ctrl-C there raises
    :class:`~rnnkit.train.driver.TrainingInterrupted` once the best model is saved in ``out/model``.
    """
    if out is None:
        with cpu_threads(settings.threads):
            seed_everything(settings.seed)
            fitted = fit(None, None)
        metrics = {**summarize(fitted.results), **fitted.metrics}
        if evaluate is not None:
            metrics.update(evaluate(fitted.model))
        return fitted.model, metrics
    config = dataclasses.replace(record if record is not None else settings, out=str(out), resume=resume)
    models: list[nn.Module] = []

    def run_fit(run: Run) -> Fitted:
        fitted = fit(run.run_dir(), run.resolved)
        models.append(fitted.model)
        return fitted

    metrics = run_training(config, run_fit, command=command, evaluate=evaluate, headline=headline)
    return models[0], metrics
