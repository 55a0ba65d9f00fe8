"""Translation data: ``source<TAB>target`` pairs, the held-out split by source sentence, and padded batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rnnkit.text.splits import split_by_key
from rnnkit.text.tokenize import read_text

if TYPE_CHECKING:
    from rnnkit.text.translate.model import Seq2Seq

log = logging.getLogger(__name__)


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


def source_key(sentence: str) -> str:
    """What makes two source sentences the same for the held-out split (case and outer spaces ignored)."""
    return sentence.strip().lower()


def held_out_split(pairs: Pairs, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) pair indices, split by source sentence (see the module docstring)."""
    return split_by_key([source_key(s) for s in pairs.sources], fraction, seed)


def grouped_references(pairs: Pairs, idx: list[int]) -> tuple[list[str], list[list[str]]]:
    """The distinct sources among ``idx`` (first spelling seen) and, for each, all its targets in ``idx``."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for i in idx:
        groups.setdefault(source_key(pairs.sources[i]), (pairs.sources[i], []))[1].append(pairs.targets[i])
    return [src for src, _ in groups.values()], [refs for _, refs in groups.values()]


def pad_batch(rows: list[list[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-pad id lists: (B, max len) ids and (B,) lengths."""
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.full((len(rows), int(lengths.max())), pad_id, dtype=torch.long)
    for b, row in enumerate(rows):
        out[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out, lengths


class PairBatches:
    """Batches of {src, src_lengths, tgt_in, tgt_out} from tokenised pairs; similar lengths batched together.

    Each epoch shuffles (torch's global RNG, which the Trainer seeds), sorts chunks of 50 batches by source
    length so little padding is run, and shuffles the batch order.
    """

    def __init__(self, src: list[list[int]], tgt: list[list[int]], batch_size: int, model: Seq2Seq, shuffle: bool):
        self.src, self.tgt, self.batch_size, self.shuffle = src, tgt, batch_size, shuffle
        self.pad, self.bos, self.eos, self.src_pad = model.pad_id, model.bos_id, model.eos_id, model.src_pad_id

    def __len__(self) -> int:
        return (len(self.src) + self.batch_size - 1) // self.batch_size

    def __iter__(self):  # type: ignore[no-untyped-def]
        n = len(self.src)
        order = torch.randperm(n).tolist() if self.shuffle else list(range(n))
        chunk = self.batch_size * 50
        order = [i for c in range(0, n, chunk) for i in sorted(order[c : c + chunk], key=lambda i: len(self.src[i]))]
        batches = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches)).tolist()]
        for idx in batches:
            src, src_lengths = pad_batch([self.src[i] for i in idx], self.src_pad)
            tgt_in, _ = pad_batch([[self.bos, *self.tgt[i]] for i in idx], self.pad)
            tgt_out, _ = pad_batch([[*self.tgt[i], self.eos] for i in idx], self.pad)
            yield {"src": src, "src_lengths": src_lengths, "tgt_in": tgt_in, "tgt_out": tgt_out}
