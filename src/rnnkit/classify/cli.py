"""``rnnkit classify train | predict | eval``: time-series classification from the command line.

Each command is a dataclass (its fields are the flags, their docstrings the ``--help``) and a function.
Every command writes DIR/metrics.json and DIR/config.json (the resolved config) to its output folder.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.classify.data import SeriesSet, check_compatible, load_dataset, load_file
from rnnkit.classify.estimator import Classifier, ClassifierOptions, fit_members
from rnnkit.classify.fit import predict_proba
from rnnkit.classify.inputs import check_trainable
from rnnkit.classify.metrics import confusion_matrix, plot_confusion, scores
from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier
from rnnkit.classify.reservoir import ReservoirClassifier
from rnnkit.train import write_json
from rnnkit.train.driver import Fitted, Run, run_training

log = logging.getLogger(__name__)
Model = SequenceClassifier | ClassifierEnsemble | ReservoirClassifier


@dataclass
class TrainArgs(ClassifierOptions):
    """Train a recurrent classifier on a UCR/UEA data set (--dataset) or on files (--train/--test)."""

    dataset: str | None = None
    """A UCR/UEA data set with its official train/test split: a name shipped with aeon (JapaneseVowels, GunPoint,
    ...) or a data set folder of the archive (e.g. Univariate_ts/ArrowHead, holding ArrowHead_TRAIN.ts and _TEST.ts)."""
    train: str | None = None
    """Training file: .ts, .arff or .csv (one row per series, a label column; see --label_column)."""
    test: str | None = None
    """Test file (same format as --train), evaluated after training. Optional with --train."""
    label_column: str = "label"
    """CSV only: the column holding the class."""

    def __post_init__(self) -> None:
        super().__post_init__()  # the model's and the engine's checks
        if (self.dataset is None) == (self.train is None):
            raise ValueError("give either --dataset NAME or --train FILE (with --test FILE), not both or neither")
        if self.dataset is not None and self.test is not None:
            raise ValueError("--test goes with --train; --dataset NAME uses that data set's own test split")


def _load_train_test(args: TrainArgs) -> tuple[SeriesSet, SeriesSet | None]:
    if args.dataset is not None:
        return load_dataset(args.dataset, "train"), load_dataset(args.dataset, "test")
    assert args.train is not None
    train = load_file(args.train, args.label_column)
    test = None if args.test is None else load_file(args.test, args.label_column)
    if test is not None:
        check_compatible(train, test)
    return train, test


def _evaluate(model: Model, data: SeriesSet, out: Path, prefix: str = "") -> dict[str, Any]:
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


def _check_channels(model: Model, data: SeriesSet) -> None:
    if data.channels != model.input_size:
        raise ValueError(
            f"the model expects {model.input_size} channels per time step; {data.source} has {data.channels}"
        )


def train(args: TrainArgs) -> dict[str, Any]:
    """Load the data, train (the engine's driver: OUT/model, config.json, metrics.json), evaluate on the test split."""
    train_data, test_data = _load_train_test(args)  # a bad file fails before the run folder is touched
    check_trainable(train_data)

    def fit(run: Run) -> Fitted:
        model, results, metrics = fit_members(train_data, args, run.out, run.resolved)
        run.resolved.update(metrics.get("chosen", {}).get("values", {}))  # config.json: the values trained with
        return Fitted(model=model, results=results, metrics=metrics)

    def evaluate(model: Any) -> dict[str, Any]:
        return {} if test_data is None else _evaluate(model, test_data, Path(args.out), prefix="test_")

    def headline(m: dict[str, Any]) -> str:
        text = f"{train_data.source}: {len(m['classes'])} classes, {m['parameters']} parameters"
        if "test_accuracy" in m:
            text += f"; test accuracy {m['test_accuracy']:.4f}, macro-F1 {m['test_macro_f1']:.4f}"
        return text

    return run_training(args, fit, command="classify train", evaluate=evaluate, headline=headline)


def _model_and_data(args: PredictArgs | EvalArgs, path: str, verb: str, labels_required: bool) -> tuple[Any, Any, Path]:
    """The saved classifier (model folder or run folder), the series of ``path`` checked against it, the output
    folder (default: MODEL/<verb>)."""
    model = Classifier.load(args.model).model
    assert model is not None  # load() sets it or raises
    data = load_file(path, args.label_column, labels_required=labels_required)
    _check_channels(model, data)
    out = Path(args.out) if args.out is not None else Path(args.model) / verb
    out.mkdir(parents=True, exist_ok=True)
    return model, data, out


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
    model, data, out = _model_and_data(args, args.input, "predict", labels_required=False)
    probs = predict_proba(model, data)  # (N, C)
    pred = [model.labels[i] for i in probs.argmax(axis=1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "predicted", *(f"p_{c}" for c in model.labels), *(["label"] if data.labels else [])])
    for i, row in enumerate(probs):
        writer.writerow([i, pred[i], *(f"{p:.6f}" for p in row), *([data.labels[i]] if data.labels else [])])
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
    model, data, out = _model_and_data(args, args.test, "eval", labels_required=True)
    metrics = _evaluate(model, data, out)
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", {"command": "classify eval", **asdict(args), "out": str(out)})
    print(
        f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on {metrics['n']} series of "
        f"{data.source}; details in {out / 'metrics.json'}"
    )
    return metrics


COMMANDS = {"train": (TrainArgs, train), "predict": (PredictArgs, predict), "eval": (EvalArgs, evaluate)}
