"""``rnnkit text classify-train|classify-predict``: command lines over
:class:`~rnnkit.text.classify.estimator.TextCategorizer` (the group table in ``rnnkit.text.cli`` adds the
``classify-`` prefix)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.text.classify.data import read_labelled
from rnnkit.text.classify.estimator import TextCategorizer
from rnnkit.text.classify.fit import ClassifySettings
from rnnkit.text.loading import read_lines


@dataclass(kw_only=True)
class ClassifyTrainConfig(ClassifySettings):
    """Train a text classifier on (text, label) rows from CSV, TSV or JSONL; report accuracy, macro-F1, confusion."""

    train: str
    """Training file: .csv/.tsv with a header, or .jsonl with one object per line."""
    test: str
    """Test file, same format."""
    text_field: str = "text"
    """Column/key holding the text."""
    label_field: str = "label"
    """Column/key holding the label."""


def classify_train(config: ClassifyTrainConfig) -> dict[str, Any]:
    """Fit the tokeniser and the classifier on --train, pick the best epoch on a held-out part, score --test."""
    texts, names = read_labelled(config.train, config.text_field, config.label_field)
    test = read_labelled(config.test, config.text_field, config.label_field)
    unknown = sorted(set(test[1]) - set(names))
    if unknown:
        labels = sorted(set(names))
        raise ValueError(f"{config.test}: labels {unknown} do not occur in {config.train} (its labels: {labels})")
    clf = TextCategorizer.from_settings(config)
    try:
        clf.fit(texts, names, test=test, out=config.out, resume=config.resume, record=config)
    except ValueError as err:
        raise ValueError(str(err).replace("the training data", config.train, 1)) from None
    metrics = clf.metrics
    if not config.quiet and "confusion" in metrics:
        labels = [str(n) for n in metrics["labels"]]
        width = max(len(n) for n in labels)
        print("confusion (rows: true, columns: predicted)")
        print(" " * (width + 1) + " ".join(f"{n[:8]:>8}" for n in labels))
        for name, row in zip(labels, metrics["confusion"]):
            print(f"{name:>{width}} " + " ".join(f"{v:>8}" for v in row))
    return metrics


@dataclass
class ClassifyPredictConfig:
    """Label texts with a trained text classifier: one label per line, in the order of the texts."""

    model: str
    """Model directory (the --out of `rnnkit text classify-train`, or its model/ folder)."""
    text: str | None = None
    """Text to label (several: one per line)."""
    input: str | None = None
    """File of texts: .csv/.tsv/.jsonl (the --text_field column) or any other UTF-8 file, one text per line.
    Without --text and --input the texts are read from stdin, one per line."""
    text_field: str = "text"
    """Column/key holding the text in a .csv/.tsv/.jsonl --input."""
    probabilities: bool = False
    """Also print each class's probability after the label (tab-separated, in the order of the model's labels)."""

    def __post_init__(self) -> None:
        if self.text is not None and self.input is not None:
            raise ValueError("give the texts with --text or with --input, not both")


def classify_predict(config: ClassifyPredictConfig) -> list[Any]:
    clf = TextCategorizer.load(config.model)
    if config.input is not None and Path(config.input).suffix.lower() in (".csv", ".tsv", ".tab", ".jsonl", ".json"):
        texts = read_labelled(config.input, config.text_field, None)[0]
    else:
        texts = read_lines(config.text, config.input, "texts")
    labels = clf.predict(texts)
    if config.probabilities:
        probs = clf.predict_proba(texts)
        for label, row in zip(labels, probs.tolist()):
            print("\t".join([str(label), *(f"{p:.4f}" for p in row)]))
    else:
        print("\n".join(map(str, labels)))
    return labels


COMMANDS: dict[str, tuple[type, Any]] = {
    "train": (ClassifyTrainConfig, classify_train),
    "predict": (ClassifyPredictConfig, classify_predict),
}
