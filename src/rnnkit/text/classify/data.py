"""Text-classification data: (text, label) rows from CSV, TSV or JSONL."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rnnkit.text.tokenize import read_text

if TYPE_CHECKING:
    from rnnkit.text.classify.model import TextClassifier


def read_labelled(
    path: str | Path, text_field: str = "text", label_field: str | None = "label"
) -> tuple[list[str], list[str]]:
    """Read (text, label) rows from CSV, TSV (by extension) or JSONL; CSV/TSV need a header naming the fields.

    With ``label_field=None`` only the texts are read (the labels come back empty).
    """
    fields = (text_field,) if label_field is None else (text_field, label_field)
    path = Path(path)
    content = read_text(path)
    texts, labels = [], []
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: line {number} is not valid JSON ({err.msg})") from None
            if not isinstance(row, dict) or any(f not in row for f in fields):
                raise ValueError(f"{path}: line {number}: expected an object with {' and '.join(map(repr, fields))}")
            texts.append(str(row[text_field]))
            if label_field is not None:
                labels.append(str(row[label_field]))
    elif path.suffix.lower() in (".csv", ".tsv", ".tab"):
        delimiter = "," if path.suffix.lower() == ".csv" else "\t"
        reader = csv.DictReader(content.splitlines(), delimiter=delimiter)
        header = reader.fieldnames or []
        if any(f not in header for f in fields):
            flags = "--text_field" if label_field is None else "--text_field/--label_field"
            raise ValueError(
                f"{path}: expected a header with columns {' and '.join(map(repr, fields))}, got {header}; "
                f"name {'them' if len(fields) > 1 else 'it'} with {flags}"
            )
        for row in reader:
            texts.append(row[text_field] or "")
            if label_field is not None:
                labels.append(row[label_field] or "")
    else:
        raise ValueError(f"{path}: expected a .csv, .tsv or .jsonl file, got {path.suffix or 'no extension'!r}")
    if not texts:
        raise ValueError(f"{path}: no rows found")
    return texts, labels


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
