"""Training a text classifier: the settings (the flags of ``rnnkit text classify-train`` but the files), the
split, the step and the validation, shared by :class:`~rnnkit.text.classify.estimator.TextCategorizer` and the CLI.

Shapes: B batch, T tokens, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from rnnkit.text.checks import fraction, one_of
from rnnkit.text.classify.model import CELLS, TextClassifier
from rnnkit.text.splits import split_indices
from rnnkit.text.tokenize import LEVELS, PAD, UNK, build_tokenizer
from rnnkit.train import StepOutput, TrainConfig
from rnnkit.train.driver import Fitted


@dataclass
class ClassifySettings(TrainConfig):
    """How to build and train a text classifier: tokens, model sizes, and the engine's settings."""

    level: str = "word"
    """Tokens: char, word or bpe."""
    vocab_size: int | None = 20000
    """Cap on the vocabulary (specials included)."""
    max_tokens: int = 256
    """Texts are cut to this many tokens."""
    val_fraction: float = 0.1
    """Fraction of the training rows held out to pick the best checkpoint."""
    cell: str = "gru"
    """gru or lstm."""
    embed_size: int = 128
    """Embedding size."""
    hidden_size: int = 128
    """Hidden units per direction."""
    num_layers: int = 1
    """Stacked bidirectional layers."""
    dropout: float = 0.2
    """Dropout on embeddings and before the output layer."""
    # The engine's settings whose default text classification changes.
    out: str = "runs/text-classify"
    epochs: int = 20
    early_stopping: int | None = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("level", self.level, LEVELS)
        one_of("cell", self.cell, CELLS)
        fraction("val_fraction", self.val_fraction)
        if self.max_tokens < 1:
            raise ValueError(f"expected --max_tokens >= 1, got {self.max_tokens}")


def check_labels(texts: list[str], labels: list[Any], source: str = "the training data") -> list[Any]:
    """The sorted classes; a ValueError if the rows and labels do not match or there is only one class."""
    if len(texts) != len(labels):
        raise ValueError(f"{source}: {len(texts)} texts but {len(labels)} labels; give one label per text")
    for i, y in enumerate(labels):
        if isinstance(y, bool) or not isinstance(y, (str, int)):
            raise TypeError(f"{source}: expected labels as str or int, label {i} is a {type(y).__name__}: {y!r}")
    kinds = {type(y) for y in labels}
    if len(kinds) > 1:
        raise TypeError(f"{source}: labels mix {' and '.join(sorted(k.__name__ for k in kinds))}; use one type")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"{source}: every row has the label {classes[0]!r}; a classifier needs at least 2 classes")
    return classes


def build(settings: ClassifySettings, texts: list[str], labels: list[Any], classes: list[Any]) -> TextClassifier:
    """Fit the tokeniser on the training rows (not the held-out ones) and build the classifier."""
    tok = build_tokenizer(
        settings.level, texts, vocab_size=settings.vocab_size, specials=(PAD, UNK), lower=settings.level == "word"
    )
    return TextClassifier(
        tok.to_config(),
        classes,
        settings.embed_size,
        settings.hidden_size,
        settings.num_layers,
        settings.cell,
        settings.dropout,
        settings.max_tokens,
    )


def split(settings: ClassifySettings, n: int) -> tuple[list[int], list[int]]:
    """(fit, validation) row indices; a ValueError if either side would be empty."""
    fit_idx, val_idx = split_indices(n, settings.val_fraction, settings.seed)
    if not fit_idx or not val_idx:
        raise ValueError(
            f"{n} training rows are too few to hold out --val_fraction {settings.val_fraction} "
            f"({len(val_idx)} validation rows); give more rows or change --val_fraction"
        )
    return fit_idx, val_idx


def classify_step(model: Any, batch: dict[str, Tensor], carry: Any) -> StepOutput:
    logits = model(batch["ids"], batch["lengths"])  # (B, C)
    acc = float((logits.argmax(-1) == batch["y"]).float().mean())
    return StepOutput(F.cross_entropy(logits, batch["y"]), len(batch["y"]), metrics={"acc": acc})


def classify_evaluate(model: Any, batches: Any) -> dict[str, float]:
    device = next(model.parameters()).device
    total, correct, n = 0.0, 0, 0
    for batch in batches:
        logits = model(batch["ids"].to(device), batch["lengths"])
        target = batch["y"].to(device)
        total += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(-1) == target).sum())
        n += len(target)
    return {"val_loss": total / max(n, 1), "val_acc": correct / max(n, 1)}


def fit_classifier(
    s: ClassifySettings,
    texts: list[str],
    labels: list[Any],
    classes: list[Any],
    run_dir: Path | None = None,
    run_config: Any = None,
) -> Fitted:
    """Split, fit the tokeniser, build and train (torch already seeded with ``s.seed``, by the driver or caller)."""
    from rnnkit.text.classify.data import TextBatches
    from rnnkit.train import Trainer

    fit_idx, val_idx = split(s, len(texts))
    model = build(s, [texts[i] for i in fit_idx], labels, classes)
    y = [classes.index(label) for label in labels]
    train = TextBatches(model, [texts[i] for i in fit_idx], [y[i] for i in fit_idx], s.batch_size, True)
    val = TextBatches(model, [texts[i] for i in val_idx], [y[i] for i in val_idx], 256, False)
    trainer = Trainer(model, s, step=classify_step, evaluate=classify_evaluate, run_dir=run_dir, run_config=run_config)
    result = trainer.fit(train, val)
    model.cpu()
    metrics = {"labels": classes, "train_texts": len(fit_idx), "parameters": sum(p.numel() for p in model.parameters())}
    return Fitted(model=model, results=[result], metrics=metrics)


def headline(m: dict[str, Any]) -> str:
    """Text classification's part of the summary line."""
    if "accuracy" not in m:
        return f"{len(m['labels'])} classes"
    return f"test accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} on {m['test_texts']} texts"
