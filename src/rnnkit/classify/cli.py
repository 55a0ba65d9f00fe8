"""``rnnkit classify train | predict | eval``: time-series classification from the command line.

Each command is a dataclass (its fields are the flags, their docstrings the ``--help``) and a function.
Every command writes DIR/metrics.json and DIR/config.json (the resolved config) to its output folder.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.classify.data import SeriesSet, check_compatible, load_dataset, load_file
from rnnkit.classify.fit import ModelSettings, count_parameters, fit_classifier, predict_proba
from rnnkit.classify.metrics import confusion_matrix, plot_confusion, scores
from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier
from rnnkit.train import FitResult, TrainConfig, load_model, write_json
from rnnkit.train.driver import Fitted, Run, fit_ensemble, run_training

log = logging.getLogger(__name__)
Classifier = SequenceClassifier | ClassifierEnsemble


@dataclass
class TrainArgs(TrainConfig):
    """Train a recurrent classifier on a UCR/UEA data set (--dataset) or on files (--train/--test)."""

    dataset: str | None = None
    """A UCR/UEA data set shipped with aeon (e.g. JapaneseVowels, GunPoint); uses its official train/test split."""
    train: str | None = None
    """Training file: .ts, .arff or .csv (one row per series, a label column; see --label_column)."""
    test: str | None = None
    """Test file (same format as --train), evaluated after training. Optional with --train."""
    label_column: str = "label"
    """CSV only: the column holding the class."""
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
    train on everything for --epochs, which measured better on small UCR training sets)."""
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
        if (self.dataset is None) == (self.train is None):
            raise ValueError("give either --dataset NAME or --train FILE (with --test FILE), not both or neither")
        if self.dataset is not None and self.test is not None:
            raise ValueError("--test goes with --train; --dataset NAME uses that data set's own test split")
        self.model_settings()  # checks --cell, --pooling, --hidden_size, ...
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--val_fraction must be in [0, 1); got {self.val_fraction!r}")
        if self.ensemble < 1:
            raise ValueError(f"--ensemble must be a positive integer; got {self.ensemble!r}")

    def model_settings(self) -> ModelSettings:
        return ModelSettings(
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            pooling=self.pooling,
            dropout=self.dropout,
            diff=self.diff,
            patch=self.patch,
        )


def _load_train_test(args: TrainArgs) -> tuple[SeriesSet, SeriesSet | None]:
    if args.dataset is not None:
        return load_dataset(args.dataset, "train"), load_dataset(args.dataset, "test")
    assert args.train is not None
    train = load_file(args.train, args.label_column)
    test = None if args.test is None else load_file(args.test, args.label_column)
    if test is not None:
        check_compatible(train, test)
    return train, test


def _evaluate(model: Classifier, data: SeriesSet, out: Path, prefix: str = "") -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (numbers + PNG in ``out``) of ``model`` on labelled ``data``."""
    assert data.labels is not None
    index = {c: i for i, c in enumerate(model.labels)}
    unknown = sorted(set(data.labels) - set(index))
    if unknown:
        raise ValueError(
            f"{data.source} has classes the model was not trained on: {', '.join(repr(c) for c in unknown)}; "
            f"the model knows {', '.join(repr(c) for c in model.labels)}"
        )
    pred = predict_proba(model, data).argmax(axis=1)
    matrix = confusion_matrix([index[c] for c in data.labels], pred, len(model.labels))
    plot_confusion(matrix, model.labels, out / "confusion_matrix.png", title=f"Confusion matrix: {data.source}")
    result = {f"{prefix}{k}": v for k, v in scores(matrix).items()}
    result[f"{prefix}n"] = len(data)
    result[f"{prefix}confusion_matrix"] = matrix.tolist()
    return result


def _check_channels(model: Classifier, data: SeriesSet) -> None:
    if data.channels != model.input_size:
        raise ValueError(
            f"the model expects {model.input_size} channels per time step; {data.source} has {data.channels}"
        )


def train(args: TrainArgs) -> dict[str, Any]:
    """Load the data, train (the engine's driver: OUT/model, config.json, metrics.json), evaluate on the test split."""
    train_data, test_data = _load_train_test(args)  # a bad file fails before the run folder is touched
    out = Path(args.out)

    def fit(run: Run) -> Fitted:
        def fit_member(k: int, config: TrainConfig, run_dir: Path) -> tuple[SequenceClassifier, FitResult]:
            return fit_classifier(
                train_data,
                args.model_settings(),
                config,
                val_fraction=args.val_fraction,
                run_dir=run_dir,
                run_config=run.resolved,
                threads=None,  # the driver set --threads
            )

        fitted, results = fit_ensemble(fit_member, args, args.ensemble, run_dir=run.out, share="equal")
        members = [m for m in fitted if isinstance(m, SequenceClassifier)]
        model = members[0] if len(members) == 1 else ClassifierEnsemble(members).eval()
        first = members[0]
        metrics = {
            "train_n": len(train_data),
            "classes": model.labels,
            "parameters": count_parameters(model),
            "patch": first.patch,
        }
        return Fitted(model=model, results=results, metrics=metrics)

    def evaluate(model: Any) -> dict[str, Any]:
        return {} if test_data is None else _evaluate(model, test_data, out, prefix="test_")

    def headline(m: dict[str, Any]) -> str:
        text = f"{train_data.source}: {len(m['classes'])} classes, {m['parameters']} parameters"
        if "test_accuracy" in m:
            text += f"; test accuracy {m['test_accuracy']:.4f}, macro-F1 {m['test_macro_f1']:.4f}"
        return text

    return run_training(args, fit, command="classify train", evaluate=evaluate, headline=headline)


def _load_classifier(directory: str) -> Classifier:
    """A saved classifier from its model folder, or from a `classify train` output folder holding model/."""
    path = Path(directory)
    if (path / "model" / "config.json").is_file() and not (path / "model.safetensors").is_file():
        path = path / "model"
    model = load_model(path)
    if not isinstance(model, (SequenceClassifier, ClassifierEnsemble)):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a sequence classifier")
    return model


@dataclass
class PredictArgs:
    """Predict the class of every series in a file with a trained classifier."""

    model: str
    """The model folder (or the `classify train --out` folder holding model/)."""
    input: str
    """Series to classify: .ts, .arff or .csv (a label column, if present, is reported beside the predictions)."""
    label_column: str = "label"
    """CSV only: the column holding the class, if any; every other column is a time step."""
    out: str | None = None
    """Output folder for predictions.csv, metrics.json and config.json (default: MODEL/predict)."""


def predict(args: PredictArgs) -> dict[str, Any]:
    """Write OUT/predictions.csv (index, predicted class, one probability per class, the label if given); print it."""
    start = time.perf_counter()
    model = _load_classifier(args.model)
    data = load_file(args.input, args.label_column, labels_required=False)
    _check_channels(model, data)
    out = Path(args.out) if args.out is not None else Path(args.model) / "predict"
    probs = predict_proba(model, data)  # (N, C)
    pred = [model.labels[i] for i in probs.argmax(axis=1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "predicted", *(f"p_{c}" for c in model.labels), *(["label"] if data.labels else [])])
    for i, row in enumerate(probs):
        writer.writerow([i, pred[i], *(f"{p:.6f}" for p in row), *([data.labels[i]] if data.labels else [])])
    out.mkdir(parents=True, exist_ok=True)
    (out / "predictions.csv").write_text(buffer.getvalue(), encoding="utf-8")
    metrics: dict[str, Any] = {"n": len(data), "seconds": round(time.perf_counter() - start, 3)}
    if data.labels is not None:
        metrics["accuracy"] = float(np.mean([p == t for p, t in zip(pred, data.labels)]))
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", {"command": "classify predict", **asdict(args), "out": str(out)})
    print(buffer.getvalue(), end="")
    return metrics


@dataclass
class EvalArgs:
    """Evaluate a trained classifier on labelled series: accuracy, macro-F1 and a confusion-matrix plot."""

    model: str
    """The model folder (or the `classify train --out` folder holding model/)."""
    test: str
    """Labelled series: .ts, .arff or .csv with a label column."""
    label_column: str = "label"
    """CSV only: the column holding the class."""
    out: str | None = None
    """Output folder for metrics.json, confusion_matrix.png and config.json (default: MODEL/eval)."""


def evaluate(args: EvalArgs) -> dict[str, Any]:
    """Write OUT/metrics.json (accuracy, macro_f1, n, confusion_matrix) and OUT/confusion_matrix.png."""
    start = time.perf_counter()
    model = _load_classifier(args.model)
    data = load_file(args.test, args.label_column)
    _check_channels(model, data)
    out = Path(args.out) if args.out is not None else Path(args.model) / "eval"
    out.mkdir(parents=True, exist_ok=True)
    metrics = _evaluate(model, data, out)
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", {"command": "classify eval", **asdict(args), "out": str(out)})
    print(json.dumps({k: metrics[k] for k in ("accuracy", "macro_f1", "n")}))
    return metrics


COMMANDS = {"train": (TrainArgs, train), "predict": (PredictArgs, predict), "eval": (EvalArgs, evaluate)}
