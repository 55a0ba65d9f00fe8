"""Text classification: embeddings -> bidirectional recurrent encoder -> masked mean+max pooling -> Linear.

Pooling reads only each text's own tokens (padding is masked out), so a text's prediction does not depend on
what it was batched with. The tokeniser and the label names are saved with the model.

Shapes: B batch, T tokens, E embedding size, H hidden size, C classes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM
from rnnkit.text.tokenize import PAD, Tokenizer, tokenizer_from_config
from rnnkit.train import SavableModel, register_model
from rnnkit.train.metrics import confusion_matrix, scores

CELLS: dict[str, type[nn.Module]] = {"gru": GRU, "lstm": LSTM}


@register_model("text.classifier")
class TextClassifier(SavableModel, nn.Module):
    """Bidirectional recurrent text classifier.

    >>> from rnnkit.text.tokenize import build_tokenizer, PAD, UNK
    >>> tok = build_tokenizer("word", "good bad film", specials=(PAD, UNK)).to_config()
    >>> model = TextClassifier(tok, ["neg", "pos"], 8, 16)
    >>> model.predict(["good film", "bad"])[0] in ("neg", "pos")
    True
    """

    def __init__(
        self,
        tokenizer: dict[str, Any],
        labels: list[str],
        embed_size: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "gru",
        dropout: float = 0.2,
        max_tokens: int = 256,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"TextClassifier: unknown cell {cell!r}; choose one of {', '.join(map(repr, CELLS))}")
        if len(labels) < 2:
            raise ValueError(f"TextClassifier: expected at least 2 classes, got {labels}")
        self.args: dict[str, Any] = {
            "tokenizer": tokenizer,
            "labels": list(labels),
            "embed_size": embed_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "cell": cell,
            "dropout": dropout,
            "max_tokens": max_tokens,
        }
        self.tokenizer: Tokenizer = tokenizer_from_config(tokenizer)
        self.labels = list(labels)
        self.max_tokens = max_tokens
        self.pad_id = self.tokenizer.token_id(PAD) if PAD in self.tokenizer.specials else 0
        self.embed = nn.Embedding(self.tokenizer.vocab_size, embed_size, padding_idx=self.pad_id)
        rnn_dropout = dropout if num_layers > 1 else 0.0
        self.rnn = CELLS[cell](
            embed_size, hidden_size, num_layers, batch_first=True, bidirectional=True, dropout=rnn_dropout
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden_size, len(labels))

    def model_config(self) -> dict[str, Any]:
        return dict(self.args)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> TextClassifier:
        return cls(**config)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """ids (B, T) padded, lengths (B,) -> logits (B, C)."""
        x = self.drop(self.embed(ids))  # (B, T, E)
        y, _ = self.rnn(x, lengths=lengths.cpu())  # (B, T, 2H), zero past each length
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None]).unsqueeze(-1)
        mean = (y * mask).sum(1) / lengths.to(y.device).clamp(min=1).unsqueeze(1)  # (B, 2H)
        top = y.masked_fill(~mask, float("-inf")).amax(1)  # (B, 2H)
        return self.head(self.drop(torch.cat([mean, top], dim=-1)))

    def encode(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        rows = [self.tokenizer.encode(t)[: self.max_tokens] or [self.tokenizer.token_id("<unk>")] for t in texts]
        lengths = torch.tensor([len(r) for r in rows])
        ids = torch.full((len(rows), int(lengths.max())), self.pad_id, dtype=torch.long)
        for b, row in enumerate(rows):
            ids[b, : len(row)] = torch.tensor(row)
        return ids, lengths

    @torch.no_grad()
    def predict(self, texts: list[str], batch_size: int = 256) -> list[str]:
        self.eval()
        device = self.head.weight.device
        out: list[str] = []
        for i in range(0, len(texts), batch_size):
            ids, lengths = self.encode(texts[i : i + batch_size])
            out.extend(self.labels[j] for j in self(ids.to(device), lengths).argmax(-1).tolist())
        return out


class TextBatches:
    """Shuffled (when training) batches {ids, lengths, y}; texts of similar length batched together."""

    def __init__(self, model: TextClassifier, texts: list[str], labels: list[int], batch_size: int, shuffle: bool):
        self.model, self.texts, self.labels, self.batch_size, self.shuffle = model, texts, labels, batch_size, shuffle
        self.sizes = [len(model.tokenizer.encode(t)) for t in texts]

    def __len__(self) -> int:
        return (len(self.texts) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        n = len(self.texts)
        order = torch.randperm(n).tolist() if self.shuffle else list(range(n))
        chunk = self.batch_size * 20
        order = [i for c in range(0, n, chunk) for i in sorted(order[c : c + chunk], key=lambda i: self.sizes[i])]
        batches = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches)).tolist()]
        for idx in batches:
            ids, lengths = self.model.encode([self.texts[i] for i in idx])
            yield {"ids": ids, "lengths": lengths, "y": torch.tensor([self.labels[i] for i in idx])}


def classification_metrics(y_true: list[int], y_pred: list[int], n_classes: int) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class, columns: predicted).

    >>> classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)["confusion"]
    [[1, 1], [0, 2]]
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes)  # the engine's macro-F1: scikit-learn's definition
    return {**scores(matrix), "confusion": matrix.tolist()}


@dataclass
class ClassifyTrainConfig:
    """Train a text classifier on (text, label) rows from CSV, TSV or JSONL; report accuracy, macro-F1, confusion."""

    train: str
    """Training file: .csv/.tsv with a header, or .jsonl with one object per line."""
    test: str
    """Test file, same format."""
    out: str
    """Output directory: model/, metrics.json, config.json, logs."""
    text_field: str = "text"
    """Column/key holding the text."""
    label_field: str = "label"
    """Column/key holding the label."""
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
    batch_size: int = 64
    """Texts per batch."""
    lr: float = 3e-3
    """Peak learning rate (AdamW)."""
    epochs: int = 20
    """Passes over the training rows (upper bound)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps."""
    time_budget: float | None = None
    """Minutes of training."""
    early_stopping: int | None = 4
    """Stop after this many epochs without improvement of the validation loss."""
    seed: int = 0
    """Random seed."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quiet: bool = False
    """No progress bar."""

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"expected --cell to be one of {', '.join(CELLS)}, got {self.cell!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"expected --val_fraction in (0, 1), got {self.val_fraction}")


def classify_train(config: ClassifyTrainConfig) -> dict[str, Any]:
    """Fit the tokeniser and the classifier on --train, pick the best epoch on a held-out part, score --test."""
    import torch.nn.functional as F

    from rnnkit.text.data import read_labelled, split_indices
    from rnnkit.text.tokenize import UNK, build_tokenizer
    from rnnkit.train import StepOutput, TrainConfig, Trainer, save_model, seed_everything

    out = Path(config.out)
    texts, names = read_labelled(config.train, config.text_field, config.label_field)
    test_texts, test_names = read_labelled(config.test, config.text_field, config.label_field)
    labels = sorted(set(names))
    unknown = sorted(set(test_names) - set(labels))
    if unknown:
        raise ValueError(f"{config.test}: labels {unknown} do not occur in {config.train} (its labels: {labels})")
    fit_idx, val_idx = split_indices(len(texts), config.val_fraction, config.seed)
    seed_everything(config.seed)
    tok = build_tokenizer(
        config.level,
        [texts[i] for i in fit_idx],
        vocab_size=config.vocab_size,
        specials=(PAD, UNK),
        lower=config.level == "word",
    )
    model = TextClassifier(
        tok.to_config(),
        labels,
        config.embed_size,
        config.hidden_size,
        config.num_layers,
        config.cell,
        config.dropout,
        config.max_tokens,
    )
    y = [labels.index(n) for n in names]
    train_b = TextBatches(model, [texts[i] for i in fit_idx], [y[i] for i in fit_idx], config.batch_size, True)
    val_b = TextBatches(model, [texts[i] for i in val_idx], [y[i] for i in val_idx], 256, False)

    def step(model: Any, batch: dict[str, Tensor], carry: Any) -> StepOutput:
        logits = model(batch["ids"], batch["lengths"])
        acc = float((logits.argmax(-1) == batch["y"]).float().mean())
        return StepOutput(F.cross_entropy(logits, batch["y"]), len(batch["y"]), metrics={"acc": acc})

    def evaluate(model: Any, batches: Any) -> dict[str, float]:
        device = next(model.parameters()).device
        total, correct, n = 0.0, 0, 0
        for batch in batches:
            logits = model(batch["ids"].to(device), batch["lengths"])
            target = batch["y"].to(device)
            total += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(-1) == target).sum())
            n += len(target)
        return {"val_loss": total / max(n, 1), "val_acc": correct / max(n, 1)}

    engine = TrainConfig(
        epochs=config.epochs,
        max_steps=config.max_steps,
        time_budget=config.time_budget,
        batch_size=config.batch_size,
        lr=config.lr,
        early_stopping=config.early_stopping,
        seed=config.seed,
        device=config.device,
        quiet=config.quiet,
    )
    run_config = {"command": "text classify-train", **dataclasses.asdict(config)}
    result = Trainer(model, engine, step=step, evaluate=evaluate, run_dir=out, run_config=run_config).fit(
        train_b, val_b
    )
    model.cpu()
    save_model(model, out / "model")
    predicted = model.predict(test_texts)
    metrics = classification_metrics(
        [labels.index(n) for n in test_names], [labels.index(p) for p in predicted], len(labels)
    )
    metrics = {**metrics, "labels": labels, "steps": result.steps, "stopped_reason": result.stopped_reason}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  on {len(test_texts)} test texts")
    width = max(len(n) for n in labels)
    print("confusion (rows: true, columns: predicted)")
    print(" " * (width + 1) + " ".join(f"{n[:8]:>8}" for n in labels))
    for name, row in zip(labels, metrics["confusion"]):
        print(f"{name:>{width}} " + " ".join(f"{v:>8}" for v in row))
    return metrics
