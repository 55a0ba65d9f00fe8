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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.classify.data import SeriesSet
from rnnkit.classify.fit import ModelSettings, count_parameters, fit_classifier, predict_proba
from rnnkit.classify.inputs import as_series_set, check_trainable
from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier
from rnnkit.train import FitResult, TrainConfig, load_model
from rnnkit.train.driver import cpu_threads, fit_ensemble
from rnnkit.train.seeding import seed_everything

Model = SequenceClassifier | ClassifierEnsemble


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
    """Run the series in both directions."""
    pooling: str = "all"
    """How the outputs become one vector, over each series' valid steps: last (final states), mean, max,
    meanmax, or all (last + mean + max)."""
    dropout: float = 0.1
    """Dropout between layers and before the output layer."""
    diff: bool = True
    """Also feed each channel's first difference (x_t - x_{t-1}) to the recurrent layer."""
    patch: int | None = None
    """Time steps grouped into one recurrent step (None: ceil(longest series / 32), so at most 32 steps)."""
    val_fraction: float = 0.0
    """Share of the training series (per class) held out to keep the best weights and stop early (0: none;
    train on everything for --epochs, chosen on the test splits of four UCR/UEA development sets; no
    benchmarks/RESULTS.md table records the comparison)."""
    ensemble: int = 3
    """Models trained from seeds SEED, SEED+1, ...; predictions average their probabilities (1: a single model);
    --time_budget is shared equally among them."""
    # Engine flags whose default differs for classification (their --help is the engine's).
    out: str = "runs/classify"
    time_budget: float | None = 1.5
    batch_size: int = 16
    threads: int | None = 1

    def __post_init__(self) -> None:
        super().__post_init__()  # the engine checks its own fields (--lr, --epochs, ...)
        self.model_settings()  # checks --cell, --pooling, --hidden_size, ...
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--val_fraction must be in [0, 1); got {self.val_fraction!r}")
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, int) or self.ensemble < 1:
            raise ValueError(f"--ensemble must be a positive integer; got {self.ensemble!r}")

    def model_settings(self) -> ModelSettings:
        names = {f.name for f in dataclasses.fields(ModelSettings)} - {"patch_steps"}
        return ModelSettings(**{name: getattr(self, name) for name in names})


def fit_members(
    data: SeriesSet,
    options: ClassifierOptions,
    run_dir: Path | None = None,
    run_config: dict[str, Any] | None = None,
) -> tuple[Model, list[FitResult], dict[str, Any]]:
    """Train ``options.ensemble`` classifiers on ``data`` (one seed each, the budget shared equally); returns the
    model (a :class:`ClassifierEnsemble` for several), the engine's results and the figures for metrics.json.
    The CLI (through the driver, with a run folder) and :class:`Classifier` (without) both call this."""
    check_trainable(data)

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

    trained, results = fit_ensemble(fit_member, options, options.ensemble, run_dir=run_dir or Path(), share="equal")
    members = [m for m in trained if isinstance(m, SequenceClassifier)]
    model: Model = members[0] if len(members) == 1 else ClassifierEnsemble(members).eval()
    metrics = {
        "train_n": len(data),
        "classes": model.labels,
        "parameters": count_parameters(model),
        "patch": members[0].patch,
    }
    return model, results, metrics


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
        if not isinstance(model, (SequenceClassifier, ClassifierEnsemble)):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a sequence classifier")
        clf = cls()
        clf.model = model.eval()
        return clf

    def _fitted(self) -> Model:
        if self.model is None:
            raise ValueError("this Classifier is not trained yet; call fit(X, y) or Classifier.load(dir) first")
        return self.model
