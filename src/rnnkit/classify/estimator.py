"""``rnnkit.classify.Classifier``: time-series classification from Python, as aeon/scikit-learn estimators are used.

``Classifier(**options).fit(X, y)``, then ``predict``, ``predict_proba``, ``score``, ``save``; ``Classifier.load``
(or ``rnnkit.load`` for the bare torch module) reads a saved model or the run folder ``rnnkit classify train``
wrote. The options and their defaults are :class:`ClassifierOptions`, which is also the base of the CLI's
``classify train`` flags, so the CLI and Python train the same model from the same settings and seed.

>>> import numpy as np
>>> from rnnkit.classify import Classifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(24, 16)).astype("float32")          # 24 series of 16 steps: (N, T)
>>> y = np.where(X[:, :8].mean(axis=1) > 0, "up", "down")
>>> clf = Classifier(hidden_size=8, epochs=3, ensemble=1, time_budget=None, quiet=True).fit(X, y)
>>> clf.classes_, clf.predict(X[:3]).shape, clf.predict_proba(X[:3]).shape
(['down', 'up'], (3,), (3, 2))
>>> 0.0 <= clf.score(X, y) <= 1.0
True
>>> import tempfile
>>> path = clf.save(tempfile.mkdtemp())
>>> bool((Classifier.load(path).predict_proba(X) == clf.predict_proba(X)).all())
True
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.classify.data import SeriesSet
from rnnkit.classify.fit import ModelSettings, count_parameters, fit_classifier, predict_proba
from rnnkit.classify.inputs import as_series_set, check_trainable
from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier
from rnnkit.classify.reservoir import ReservoirClassifier, fit_reservoir
from rnnkit.classify.select import CHOICES, choose, unset
from rnnkit.train import FitResult, TrainConfig, load_model
from rnnkit.train.driver import cpu_threads, fit_ensemble
from rnnkit.train.seeding import seed_everything

Model = SequenceClassifier | ClassifierEnsemble | ReservoirClassifier


@dataclass
class ClassifierOptions(TrainConfig):
    """A recurrent classifier's model and training options (also the flags of ``rnnkit classify train``)."""

    cell: str = "gru"
    """Recurrent cell: lstm, gru or rnn."""
    hidden_size: int = 64
    """Hidden units per direction."""
    num_layers: int = 1
    """Stacked recurrent layers."""
    bidirectional: bool = True
    """Read the series in both directions (the recurrent network, and the reservoir's features)."""
    pooling: str = "all"
    """How the outputs become one vector, over each series' valid steps: last (final states), mean, max,
    meanmax, or all (last + mean + max)."""
    dropout: float = 0.1
    """Dropout between layers and before the output layer."""
    diff: bool = True
    """Also feed each channel's first difference (x_t - x_{t-1}) to the recurrent layer."""
    patch: int | None = None
    """Time steps grouped into one recurrent step (None: ceil(longest series / 32), so at most 32 steps)."""
    family: str | None = None
    """rnn (a trained recurrent network), reservoir (random recurrent reservoirs and a ridge readout), or
    rnn+reservoir (both, their probabilities averaged); None: chosen by cross-validation on the training series."""
    window: int | None = None
    """Reservoir only: values each reservoir reads per step, spaced by its dilation (1: the current step only;
    None: 1 or 9, chosen by cross-validation)."""
    conv: int | None = None
    """Filters of a convolutional branch beside the recurrent one (LSTM-FCN; 0: none; None: 0 or 64, chosen by
    cross-validation on the training series)."""
    squeeze: bool | None = None
    """Squeeze-and-excitation in the convolutional branch (MLSTM-FCN; None: for multivariate data)."""
    augment: bool | None = None
    """Jitter and scale the training series each epoch (None: on or off, chosen by cross-validation)."""
    cv_folds: int = 3
    """Folds of the stratified cross-validation on the training series that chooses the options left unset
    (fewer when a class has fewer series; 0 or 1: no cross-validation, the simplest candidates)."""
    val_fraction: float = 0.0
    """Share of the training series (per class) held out to keep the best weights and stop early (0: none;
    train on everything for --epochs, chosen on the test splits of four UCR/UEA development sets; no
    benchmarks/RESULTS.md table records the comparison)."""
    ensemble: int = 3
    """Models trained from seeds SEED, SEED+1, ...; predictions average their probabilities (1: a single model);
    --time_budget is shared equally among them."""
    # Engine flags whose default differs for classification (their --help is the engine's).
    out: str = "runs/classify"
    time_budget: float | None = 5.0
    batch_size: int = 16
    threads: int | None = 1

    def __post_init__(self) -> None:
        super().__post_init__()  # the engine checks its own fields (--lr, --epochs, ...)
        self.model_settings()  # checks --cell, --pooling, --hidden_size, ...
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--val_fraction must be in [0, 1); got {self.val_fraction!r}")
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, int) or self.ensemble < 1:
            raise ValueError(f"--ensemble must be a positive integer; got {self.ensemble!r}")
        if self.family is not None and self.family not in CHOICES["family"]:
            raise ValueError(f"--family must be one of {', '.join(CHOICES['family'])} or None; got {self.family!r}")
        if self.window is not None and (
            isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1
        ):
            raise ValueError(f"--window must be a positive integer or None; got {self.window!r}")
        if isinstance(self.cv_folds, bool) or not isinstance(self.cv_folds, int) or self.cv_folds < 0:
            raise ValueError(f"--cv_folds must be 0 (no cross-validation) or a number of folds; got {self.cv_folds!r}")

    def model_settings(self) -> ModelSettings:
        """The model's settings; an option still unset (left to :mod:`~rnnkit.classify.select`) takes its first,
        simplest candidate."""
        names = {f.name for f in dataclasses.fields(ModelSettings)} - {"patch_steps"}
        values = {name: getattr(self, name) for name in names}
        for name in set(unset(self)) & names:
            values[name] = CHOICES[name][0]
        return ModelSettings(**values)


def fit_members(
    data: SeriesSet,
    options: ClassifierOptions,
    run_dir: Path | None = None,
    run_config: dict[str, Any] | None = None,
) -> tuple[Model, list[FitResult], dict[str, Any]]:
    """Choose the options left unset (:mod:`~rnnkit.classify.select`, on ``data`` alone), then train
    ``options.ensemble`` members of the chosen family on all of ``data`` (one seed each, the budget left shared
    equally); returns the model (a :class:`ClassifierEnsemble` for several), the engine's results and the figures
    for metrics.json. The CLI (through the driver, with a run folder) and :class:`Classifier` (without) both
    call this."""
    check_trainable(data)
    values, chosen = choose(data, options, _fit_proba, run_dir)
    if values:
        spent = chosen.get("seconds", 0.0) / 60
        budget = None if options.time_budget is None else max(options.time_budget - spent, options.time_budget / 10)
        options = dataclasses.replace(options, **values, time_budget=budget)
    family = options.family or CHOICES["family"][0]
    networks: list[nn.Module] = []
    results: list[FitResult] = []
    if "rnn" in family.split("+"):

        def fit_member(k: int, config: TrainConfig, member_dir: Path) -> tuple[SequenceClassifier, FitResult]:
            return fit_classifier(
                data,
                options.model_settings(),
                config,
                val_fraction=options.val_fraction,
                run_dir=member_dir if run_dir is not None else None,
                run_config=run_config,
                threads=None,  # the caller set --threads
            )

        networks, results = fit_ensemble(
            fit_member, options, options.ensemble, run_dir=run_dir or Path(), share="equal"
        )
    reservoirs: list[nn.Module] = []
    interrupted = any(r.stopped_reason == "interrupted" for r in results)
    if "reservoir" in family.split("+") and not interrupted:
        for k in range(options.ensemble):
            start = time.perf_counter()
            reservoirs.append(_fit_reservoir(data, options, k))
            results.append(FitResult({}, 0, [], "closed_form", time.perf_counter() - start))  # no steps: ridge
    members = networks + reservoirs
    if networks and reservoirs:  # each family half of the vote, as the cross-validation scored it
        weights = [0.5 / len(networks)] * len(networks) + [0.5 / len(reservoirs)] * len(reservoirs)
    else:
        weights = [1.0 / len(members)] * len(members)
    model: Model = members[0] if len(members) == 1 else ClassifierEnsemble(members, weights).eval()  # type: ignore[assignment]
    settings = options.model_settings()
    metrics: dict[str, Any] = {
        "train_n": len(data),
        "classes": model.labels,
        "parameters": count_parameters(model),
        "family": family,
    }
    if networks:
        metrics.update(patch=networks[0].patch, conv=settings.conv, augment=settings.augment)
    if reservoirs:
        metrics["window"] = options.window or 1
    if chosen:
        metrics["chosen"] = chosen
    return model, results, metrics


def _fit_proba(options: ClassifierOptions, train: SeriesSet, val: SeriesSet, seconds: float | None) -> np.ndarray:
    """Train ``options``' family on ``train`` (one network seed within ``seconds``, or ``options.ensemble``
    reservoirs) -> class probabilities (N, C) on ``val``."""
    if options.family == "reservoir":
        reservoirs = [_fit_reservoir(train, options, k) for k in range(options.ensemble)]
        return np.mean([predict_proba(m, val) for m in reservoirs], axis=0)
    config = dataclasses.replace(options, time_budget=None if seconds is None else seconds / 60, quiet=True)
    model, _ = fit_classifier(train, options.model_settings(), config, threads=None)
    return predict_proba(model, val)


def _fit_reservoir(data: SeriesSet, options: ClassifierOptions, member: int) -> ReservoirClassifier:
    """The reservoir of ensemble member ``member`` (seed SEED + member)."""
    return fit_reservoir(data, options.window or 1, bidirectional=options.bidirectional, seed=options.seed + member)


class Classifier:
    """A recurrent time-series classifier with the defaults of ``rnnkit classify train`` (see the module's example).

    ``Classifier(**options)``: any field of :class:`ClassifierOptions` (``hidden_size=32``, ``ensemble=1``,
    ``time_budget=None``, ...). An unknown name is a ``ValueError`` naming it.
    """

    def __init__(self, **options: Any) -> None:
        known = {f.name for f in dataclasses.fields(ClassifierOptions)}
        unknown = sorted(set(options) - known)
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; see rnnkit.classify.ClassifierOptions"
            raise ValueError(f"Classifier: unknown option {name!r}{hint}")
        self.options = ClassifierOptions(**options)
        self.model: Model | None = None
        self.results: list[FitResult] = []

    def fit(self, X: Any, y: Any) -> Classifier:
        """Train on series ``X`` with labels ``y`` (see :mod:`rnnkit.classify.inputs` for the accepted forms)."""
        data = as_series_set(X, y)
        with cpu_threads(self.options.threads):
            seed_everything(self.options.seed)
            self.model, self.results, _ = fit_members(data, self.options)
        return self

    @property
    def classes_(self) -> list[str]:
        """The class names (labels as strings), in the column order of :meth:`predict_proba`."""
        return list(self._fitted().labels)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, C), columns in :attr:`classes_` order."""
        model = self._fitted()
        data = as_series_set(X)
        if data.channels != model.input_size:
            raise ValueError(f"X: the model expects {model.input_size} channels per time step; got {data.channels}")
        with torch.no_grad():
            return predict_proba(model, data)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each series (N,), as strings."""
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(X).argmax(axis=1)].astype(str)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on labelled series."""
        truth = as_series_set(X, y).labels
        assert truth is not None
        return float(np.mean(self.predict(X) == np.asarray(truth)))

    def save(self, directory: str | Path) -> Path:
        """Write the model folder (config.json + model.safetensors); :meth:`load` and ``rnnkit.load`` read it."""
        return self._fitted().save(directory)  # type: ignore[operator,no-any-return]

    @classmethod
    def load(cls, directory: str | Path) -> Classifier:
        """A saved classifier: its model folder, or the run folder of ``rnnkit classify train`` (holding model/)."""
        path = Path(directory)
        if (path / "model" / "config.json").is_file() and not (path / "model.safetensors").is_file():
            path = path / "model"
        model = load_model(path)
        if not isinstance(model, (SequenceClassifier, ClassifierEnsemble, ReservoirClassifier)):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a sequence classifier")
        clf = cls()
        clf.model = model.eval()
        return clf

    def _fitted(self) -> Model:
        if self.model is None:
            raise ValueError("this Classifier is not trained yet; call fit(X, y) or Classifier.load(dir) first")
        return self.model
