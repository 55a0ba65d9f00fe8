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
from rnnkit.classify.fit import ModelSettings, count_parameters, fit_ensemble, predict_proba
from rnnkit.classify.metrics import confusion_matrix, plot_confusion, scores
from rnnkit.classify.model import CELLS, POOLINGS, ClassifierEnsemble, SequenceClassifier
from rnnkit.train import TrainConfig, load_model, write_json

log = logging.getLogger(__name__)
Classifier = SequenceClassifier | ClassifierEnsemble


@dataclass
class TrainArgs:
    """Train a recurrent classifier on a UCR/UEA data set (--dataset) or on files (--train/--test)."""

    dataset: str | None = None
    """A UCR/UEA data set shipped with aeon (e.g. JapaneseVowels, GunPoint); uses its official train/test split."""
    train: str | None = None
    """Training file: .ts, .arff or .csv (one row per series, a label column; see --label_column)."""
    test: str | None = None
    """Test file (same format as --train), evaluated after training. Optional with --train."""
    label_column: str = "label"
    """CSV only: the column holding the class."""
    out: str = "runs/classify"
    """Output folder: model/ (the saved model), metrics.json, config.json, confusion_matrix.png, training logs."""
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
    epochs: int = 100
    """Passes over the training data (the cosine schedule spans them)."""
    time_budget: float | None = 1.5
    """Minutes of training at most, shared by the ensemble members (None: no limit)."""
    early_stopping: int | None = 20
    """With --val_fraction > 0: stop after this many epochs without a better validation loss (None: off)."""
    batch_size: int = 16
    """Series per batch."""
    lr: float = 3e-3
    """Peak learning rate (AdamW, cosine schedule)."""
    weight_decay: float = 1e-2
    """AdamW weight decay."""
    seed: int = 0
    """Random seed (weights, validation split, batch order)."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quiet: bool = False
    """No progress bar."""
    ensemble: int = 3
    """Models trained from seeds SEED, SEED+1, ...; predictions average their probabilities (1: a single model)."""
    threads: int | None = 1
    """torch CPU threads while training (None: torch's default). One keeps these small models from slowing down
    when other processes share the cores (not benchmarked in benchmarks/RESULTS.md)."""

    def __post_init__(self) -> None:
        if (self.dataset is None) == (self.train is None):
            raise ValueError("give either --dataset NAME or --train FILE (with --test FILE), not both or neither")
        if self.dataset is not None and self.test is not None:
            raise ValueError("--test goes with --train; --dataset NAME uses that data set's own test split")
        if self.cell not in CELLS:
            raise ValueError(f"--cell must be one of {', '.join(CELLS)}; got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"--pooling must be one of {', '.join(POOLINGS)}; got {self.pooling!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--val_fraction must be in [0, 1); got {self.val_fraction!r}")
        for name in ("hidden_size", "num_layers", "ensemble"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be a positive integer; got {getattr(self, name)!r}")
        if self.patch is not None and self.patch < 1:
            raise ValueError(f"--patch must be a positive integer or None; got {self.patch!r}")
        self.train_config()  # the engine checks its own fields (--lr, --epochs, ...)

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

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            time_budget=self.time_budget,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            early_stopping=self.early_stopping if self.val_fraction > 0 else None,
            seed=self.seed,
            device=self.device,
            quiet=self.quiet,
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
    """Load the data, train, save the model to OUT/model, evaluate on the test split, write OUT/metrics.json."""
    out = Path(args.out)
    start = time.perf_counter()
    train_data, test_data = _load_train_test(args)
    config = {"command": "classify train", **asdict(args)}
    model, results = fit_ensemble(
        train_data,
        args.model_settings(),
        args.train_config(),
        args.ensemble,
        val_fraction=args.val_fraction,
        run_dir=out,
        run_config=config,
        threads=args.threads,
    )
    model.save(out / "model")
    first = model if isinstance(model, SequenceClassifier) else model.members[0]
    metrics: dict[str, Any] = {
        "train_n": len(train_data),
        "classes": model.labels,
        "members": len(results),
        "parameters": count_parameters(model),
        "patch": first.patch,
        "train_seconds": round(sum(r.seconds for r in results), 2),
        "steps": [r.steps for r in results],
        "stopped_reason": [r.stopped_reason for r in results],
        "final_train_loss": [r.history[-1].get("train_loss") if r.history else None for r in results],
    }
    if args.val_fraction > 0:
        metrics["best_val"] = [{k: v for k, v in r.best_metrics.items() if k.startswith("val_")} for r in results]
    if test_data is not None:
        metrics.update(_evaluate(model, test_data, out, prefix="test_"))
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", config)
    summary = f"{len(model.labels)} classes, {metrics['parameters']} parameters, {metrics['train_seconds']}s"
    if test_data is not None:
        summary += f"; test accuracy {metrics['test_accuracy']:.4f}, macro-F1 {metrics['test_macro_f1']:.4f}"
    print(f"trained on {train_data.source}: {summary}; model saved to {out / 'model'}")
    return metrics


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
