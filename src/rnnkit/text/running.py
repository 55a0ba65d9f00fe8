"""How every text estimator trains: in memory (no ``out``), or in a run folder through the engine's driver.

One function so that the three estimators (and their command lines) cannot drift apart in seeding, threads,
metrics or the run folder's handling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from torch import nn

from rnnkit.train import TrainConfig
from rnnkit.train.driver import Fitted, Run, cpu_threads, prepare_run_dir, run_training, summarize
from rnnkit.train.seeding import seed_everything

M = TypeVar("M", bound=nn.Module)
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


class Estimator(Generic[M]):
    """What the three text estimators share: settings checked at construction, ``.model``, ``.metrics``,
    ``save``/``load``. A subclass names its settings dataclass, its model class and how to train one."""

    settings_class: ClassVar[type[TrainConfig]]
    model_class: ClassVar[type[nn.Module]]
    what: ClassVar[str]  # "a language model", for the error when a folder holds another kind
    fit_hint: ClassVar[str]  # ".fit(text)", for the error when it is used untrained
    train_hint: ClassVar[str]  # the command line that trains one, for the error when a folder holds none

    def __init__(self, **settings: Any) -> None:
        known = {f.name for f in dataclasses.fields(self.settings_class)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown setting(s) {', '.join(unknown)}; "
                f"expected fields of {self.settings_class.__name__}"
            )
        self.settings: Any = self.settings_class(**settings)
        self.model: M | None = None
        self.metrics: dict[str, Any] = {}
        """After ``fit``: what the run's metrics.json holds (steps, stop reason, best validation, the figures)."""

    @classmethod
    def from_settings(cls, settings: TrainConfig) -> Self:
        """From a settings dataclass (or the command line's config, which extends it)."""
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls.settings_class)})

    @property
    def fitted(self) -> M:
        """The trained model; a ValueError if there is none yet."""
        if self.model is None:
            name = type(self).__name__
            raise ValueError(f"this {name} is not trained yet; call {self.fit_hint} or {name}.load(dir)")
        return self.model

    def save(self, directory: str | Path) -> Path:
        """Write the model: config.json (tokenisers and labels included) + model.safetensors."""
        from rnnkit.train import save_model

        return save_model(self.fitted, directory)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A model written by :meth:`save` or by the training command (its ``--out`` DIR or DIR/model)."""
        from rnnkit.text.loading import load_kind

        est = cls()
        est.model = load_kind(path, cls.model_class, cls.what, cls.train_hint)  # type: ignore[assignment]
        return est
