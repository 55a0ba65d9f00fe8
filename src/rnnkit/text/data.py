"""Text data: contiguous token streams for truncated BPTT, sentence pairs, and labelled texts.

Shapes: B batch (parallel streams), T window length (``bptt``), N tokens.

Truncated BPTT over a contiguous stream (Zaremba et al. 2014, §3; char-rnn): the token stream is cut into B
equal columns, and batch k holds window k of every column. Row b of batch k+1 continues row b of batch k, so the
recurrent state at the end of one batch is the right initial state for the next one (carried, detached).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.text.tokenize import read_text

log = logging.getLogger(__name__)


def split_stream(ids: list[int] | Tensor, val_fraction: float) -> tuple[Tensor, Tensor]:
    """First ``1 - val_fraction`` of the stream for training, the rest for validation (no shuffling: text order).

    >>> train, val = split_stream(list(range(10)), 0.2)
    >>> train.tolist(), val.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    data = torch.as_tensor(ids, dtype=torch.long)
    cut = round(len(data) * (1.0 - val_fraction))
    return data[:cut], data[cut:]


class StreamBatches:
    """Iterate (x, y) windows over B contiguous columns of a token stream: x (B, T), y = x shifted by one.

    With ``random_shift`` each epoch rotates the stream by a random number of tokens (drawn from torch's global
    RNG, which the Trainer seeds and checkpoints) before cutting the columns: where each row starts, the context
    its state has built up and the window boundaries all change from epoch to epoch, while rows stay contiguous
    (but for the one seam where the stream's end meets its start; every (x, y) pair is still a true next-token
    pair). Without it every epoch replays the same rows in the same order, which a model memorises faster than
    random windows. The number of windows per epoch does not change.

    >>> batches = StreamBatches(torch.arange(20), batch_size=2, bptt=3)
    >>> [(x.tolist(), y.tolist()) for x, y in batches][:2]
    [([[0, 1, 2], [9, 10, 11]], [[1, 2, 3], [10, 11, 12]]), ([[3, 4, 5], [12, 13, 14]], [[4, 5, 6], [13, 14, 15]])]
    """

    def __init__(self, data: Tensor, batch_size: int, bptt: int, random_shift: bool = False):
        if bptt < 1 or batch_size < 1:
            raise ValueError(f"expected --batch_size >= 1 and --bptt >= 1, got {batch_size} and {bptt}")
        columns = (len(data) - 1) // batch_size
        if columns < 2:
            raise ValueError(
                f"the text is too short for batch_size={batch_size}: {len(data)} tokens give {columns} per stream "
                "(need at least 2); use more text or a smaller --batch_size"
            )
        self.batch_size, self.bptt, self.columns = batch_size, bptt, columns
        self.x = data[: columns * batch_size].view(batch_size, columns)  # (B, N/B)
        self.y = data[1 : columns * batch_size + 1].view(batch_size, columns)
        self.random_shift = random_shift and columns > 2 * bptt

    def __len__(self) -> int:
        return (self.columns + self.bptt - 1) // self.bptt

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        x, y = self.x, self.y
        if self.random_shift:
            shift = -int(torch.randint(0, x.numel(), (1,)))
            x = x.flatten().roll(shift).view_as(x)
            y = y.flatten().roll(shift).view_as(y)
        for i in range(0, self.columns, self.bptt):
            yield x[:, i : i + self.bptt], y[:, i : i + self.bptt]

    @property
    def tokens(self) -> int:
        return self.columns * self.batch_size


# ---- sentence pairs ------------------------------------------------------------------------------------


@dataclass
class Pairs:
    sources: list[str]
    targets: list[str]
    skipped: list[int]  # 1-based line numbers of malformed lines


def read_pairs(path: str | Path, reverse: bool = False) -> Pairs:
    """Read ``source<TAB>target[<TAB>anything]`` lines (Tatoeba/Anki format).

    Malformed lines are skipped and reported, with their line numbers, in a warning: fewer than two fields,
    an empty side, or a side ending in whitespace (a line cut short: Tatoeba sentences end with their
    punctuation). An error if no line is usable.
    """
    text = read_text(path)
    sources, targets, skipped = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip() or fields[1] != fields[1].rstrip():
            skipped.append(number)
            continue
        src, tgt = fields[0].strip(), fields[1].strip()
        sources.append(tgt if reverse else src)
        targets.append(src if reverse else tgt)
    if skipped:
        shown = ", ".join(map(str, skipped[:20])) + (" ..." if len(skipped) > 20 else "")
        log.warning(
            "%s: skipped %d malformed line(s) (expected 'source<TAB>target', complete): line %s",
            path,
            len(skipped),
            shown,
        )
    if not sources:
        raise ValueError(f"{path}: no 'source<TAB>target' line found; every line is malformed")
    return Pairs(sources, targets, skipped)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A fixed random split of range(n): (train, held-out), the same for the same (n, fraction, seed)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    cut = round(n * val_fraction)
    return sorted(order[cut:]), sorted(order[:cut])


def split_by_key(keys: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A fixed random split of item indices that keeps items sharing a key together: (train, held-out).

    ``fraction`` of the distinct keys (drawn with ``seed``) go to the held-out side with all their items. For
    translation pairs the key is the source sentence: Tatoeba lists many sentences with several translations, and
    a split by pair would leave most held-out sources in the training data under another translation.

    >>> split_by_key(["a", "b", "a", "c", "b"], 0.34, seed=0)
    ([0, 1, 2, 4], [3])
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"expected a held-out fraction in (0, 1), got {fraction}")
    distinct = list(dict.fromkeys(keys))
    order = torch.randperm(len(distinct), generator=torch.Generator().manual_seed(seed)).tolist()
    held = {distinct[i] for i in order[: round(len(distinct) * fraction)]}
    train = [i for i, k in enumerate(keys) if k not in held]
    return train, [i for i, k in enumerate(keys) if k in held]


# ---- labelled texts (classification) ---------------------------------------------------------------------


def read_labelled(
    path: str | Path, text_field: str = "text", label_field: str = "label"
) -> tuple[list[str], list[str]]:
    """Read (text, label) rows from CSV, TSV (by extension) or JSONL; CSV/TSV need a header naming the fields."""
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
            if not isinstance(row, dict) or text_field not in row or label_field not in row:
                raise ValueError(f"{path}: line {number}: expected an object with {text_field!r} and {label_field!r}")
            texts.append(str(row[text_field]))
            labels.append(str(row[label_field]))
    elif path.suffix.lower() in (".csv", ".tsv", ".tab"):
        delimiter = "," if path.suffix.lower() == ".csv" else "\t"
        reader = csv.DictReader(content.splitlines(), delimiter=delimiter)
        header = reader.fieldnames or []
        if text_field not in header or label_field not in header:
            raise ValueError(
                f"{path}: expected a header with columns {text_field!r} and {label_field!r}, got {header}; "
                "name them with --text_field/--label_field"
            )
        for row in reader:
            texts.append(row[text_field] or "")
            labels.append(row[label_field] or "")
    else:
        raise ValueError(f"{path}: expected a .csv, .tsv or .jsonl file, got {path.suffix or 'no extension'!r}")
    if not texts:
        raise ValueError(f"{path}: no rows found")
    return texts, labels
