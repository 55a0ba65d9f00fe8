"""Training a translation model: the settings (the flags of ``rnnkit translate train`` but the file), the held-out
splits (checked before any training), the step, the validation and the final BLEU/chrF, shared by
:class:`~rnnkit.text.translate.estimator.Translator` and the command line.

The held-out test split is ``test_fraction`` of the distinct source sentences (drawn with ``split_seed``), with
every pair that has such a source: a held-out sentence is never seen in training, not even under another
translation, and all its translations are its references (multi-reference BLEU and chrF, as sacrebleu computes
them). Tatoeba-style files list many sentences with several translations ("Run!": "Cours !", "Courez !"), so a
split by pair would both leak most test sentences into training and score a correct translation as wrong when the
one reference kept happens to be another. The split is fixed by the data and the seed and stored with the model,
so ``translate eval`` scores the same sentences. A further ``val_fraction`` of the training sources (again by
sentence) picks the best checkpoint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.text.checks import fraction, one_of
from rnnkit.text.splits import split_by_key
from rnnkit.text.tokenize import BOS, EOS, PAD, UNK, build_tokenizer
from rnnkit.text.translate.data import PairBatches, Pairs, grouped_references, held_out_split, source_key
from rnnkit.text.translate.model import ATTENTIONS, CELLS, Decoding, Seq2Seq, seq2seq_loss
from rnnkit.text.translate.score import score
from rnnkit.train import StepOutput, TrainConfig
from rnnkit.train.driver import Fitted

log = logging.getLogger(__name__)
SPECIALS = (PAD, UNK, BOS, EOS)


@dataclass
class TranslateSettings(TrainConfig, Decoding):
    """How to build and train a translation model, and how to decode the held-out sentences for the final BLEU."""

    test_fraction: float = 0.1
    """Source sentences held out, with all their translations, for the final BLEU/chrF (never trained on)."""
    val_fraction: float = 0.05
    """Of the remaining source sentences, held out to pick the best checkpoint."""
    split_seed: int = 0
    """Seed of the held-out split."""
    max_tokens: int = 40
    """Skip training pairs longer than this many tokens on either side."""
    attention: str = "general"
    """bahdanau (additive), dot, general (Luong) or none."""
    cell: str = "gru"
    """gru or lstm."""
    embed_size: int = 128
    """Embedding size."""
    hidden_size: int = 256
    """Hidden units (per direction in the encoder)."""
    num_layers: int = 1
    """Layers in the encoder and in the decoder."""
    dropout: float = 0.2
    """Dropout on embeddings and before the output layer."""
    lowercase_source: bool = True
    """Lowercase the source side (the target keeps its case, so BLEU compares with the real references)."""
    label_smoothing: float = 0.1
    """Label smoothing of the training loss (the validation loss is plain cross-entropy)."""
    # The engine's settings whose default translation changes.
    out: str = "runs/translate"
    epochs: int = 30
    weight_decay: float = 0.0
    warmup_steps: int = 50
    early_stopping: int | None = 4

    def __post_init__(self) -> None:
        TrainConfig.__post_init__(self)
        Decoding.__post_init__(self)
        one_of("attention", self.attention, ATTENTIONS)
        one_of("cell", self.cell, CELLS)
        fraction("test_fraction", self.test_fraction)
        fraction("val_fraction", self.val_fraction)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"expected --label_smoothing in [0, 1), got {self.label_smoothing}")
        if self.max_tokens < 1:
            raise ValueError(f"expected --max_tokens >= 1, got {self.max_tokens}")

    @property
    def decoding(self) -> Decoding:
        return Decoding(self.beam_width, self.length_penalty, self.max_len)


@dataclass
class Split:
    fit: list[int]
    val: list[int]
    test: list[int]


def split_pairs(pairs: Pairs, s: TranslateSettings, source: str) -> Split:
    """Test, validation and training pairs by source sentence; a ValueError, before any training, if one is empty.

    >>> pairs = Pairs(["Go.", "Run!", "Hi."], ["Va !", "Cours !", "Salut."], [])
    >>> split_pairs(pairs, TranslateSettings(), "pairs.txt")
    Traceback (most recent call last):
    ...
    ValueError: pairs.txt: 3 distinct source sentences are too few for a test split: --test_fraction 0.1 holds ...
    """
    train_idx, test_idx = held_out_split(pairs, s.test_fraction, s.split_seed)
    distinct = len({source_key(x) for x in pairs.sources})
    if not test_idx:
        raise ValueError(
            f"{source}: {distinct} distinct source sentences are too few for a test split: --test_fraction "
            f"{s.test_fraction} holds out round({distinct} x {s.test_fraction}) = 0 of them; give at least "
            f"{_needed(s.test_fraction)} distinct sources or raise --test_fraction"
        )
    keys = [source_key(pairs.sources[i]) for i in train_idx]
    fit_pos, val_pos = split_by_key(keys, s.val_fraction, s.split_seed + 1)
    rest = len(set(keys))
    if not val_pos or not fit_pos:
        raise ValueError(
            f"{source}: after the test split, {rest} distinct source sentences are too few to split off a "
            f"validation set with --val_fraction {s.val_fraction} (round({rest} x {s.val_fraction}) = "
            f"{round(rest * s.val_fraction)}); give at least {_needed(s.val_fraction) + 1} distinct training "
            "sources or change --val_fraction"
        )
    return Split([train_idx[i] for i in fit_pos], [train_idx[i] for i in val_pos], test_idx)


def _needed(fraction: float) -> int:
    """The fewest distinct items of which round(n * fraction) >= 1."""
    n = 1
    while round(n * fraction) < 1:
        n += 1
    return n


def build(s: TranslateSettings, pairs: Pairs, split: Split, meta: dict[str, Any]) -> Seq2Seq:
    """Fit both word tokenisers on the training pairs only and build the model (``meta`` is kept with it)."""
    src_tok = build_tokenizer(
        "word", [pairs.sources[i] for i in split.fit], specials=SPECIALS, lower=s.lowercase_source
    )
    tgt_tok = build_tokenizer("word", [pairs.targets[i] for i in split.fit], specials=SPECIALS)
    return Seq2Seq(
        src_tok.to_config(),
        tgt_tok.to_config(),
        s.embed_size,
        s.hidden_size,
        s.num_layers,
        s.cell,
        s.attention,
        s.dropout,
        meta,
    )


def batches(model: Seq2Seq, pairs: Pairs, idx: list[int], batch_size: int, max_tokens: int | None) -> PairBatches:
    """Tokenised pairs (empty sides dropped, and pairs over ``max_tokens`` when given), batched."""
    src = [model.src_tok.encode(pairs.sources[i]) for i in idx]
    tgt = [model.tgt_tok.encode(pairs.targets[i]) for i in idx]
    keep = [
        k
        for k in range(len(idx))
        if src[k] and tgt[k] and (max_tokens is None or max(len(src[k]), len(tgt[k])) <= max_tokens)
    ]
    return PairBatches(
        [src[k] for k in keep], [tgt[k] for k in keep], batch_size, model, shuffle=max_tokens is not None
    )


class Step:
    """The trainer's step: label-smoothed cross-entropy, teacher forced."""

    def __init__(self, label_smoothing: float) -> None:
        self.label_smoothing = label_smoothing

    def __call__(self, model: Any, batch: dict[str, Any], carry: Any) -> StepOutput:
        loss, n = seq2seq_loss(model, batch, self.label_smoothing)
        return StepOutput(loss=loss, n=n)


def validation_loss(model: Any, batches: Any) -> dict[str, float]:
    """Plain cross-entropy per target token over the validation pairs."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        loss, n = seq2seq_loss(model, {k: v.to(device) for k, v in batch.items()})
        total, count = total + float(loss) * n, count + n
    return {"val_loss": total / max(count, 1)}


def translate_all(model: Seq2Seq, texts: list[str], decoding: Decoding, batch_size: int = 128) -> list[str]:
    out: list[str] = []
    for i in range(0, len(texts), batch_size):
        out.extend(
            model.translate(texts[i : i + batch_size], decoding.max_len, decoding.beam_width, decoding.length_penalty)
        )
    return out


def held_out_scores(
    model: Seq2Seq, pairs: Pairs, idx: list[int], decoding: Decoding
) -> tuple[dict[str, Any], list[str]]:
    """BLEU/chrF of the held-out sentences (each with all its references) and the translations."""
    start = time.perf_counter()
    sources, refs = grouped_references(pairs, idx)
    hyps = translate_all(model, sources, decoding)
    scores = score(hyps, refs)
    seconds = time.perf_counter() - start
    return {
        **scores,
        "test_sentences": len(sources),
        "beam_width": decoding.beam_width,
        "decode_seconds": seconds,
    }, hyps


def fit_translate(
    s: TranslateSettings,
    pairs: Pairs,
    split: Split,
    meta: dict[str, Any],
    run_dir: Path | None = None,
    run_config: Any = None,
) -> Fitted:
    """Build the model and train it (torch already seeded with ``s.seed``, by the driver or the caller)."""
    from rnnkit.train import Trainer

    model = build(s, pairs, split, meta)
    train = batches(model, pairs, split.fit, s.batch_size, s.max_tokens)
    val = batches(model, pairs, split.val, 256, None)
    if not train.src:
        raise ValueError(
            f"{meta['pairs_file']}: no training pair has at most --max_tokens {s.max_tokens} tokens a side"
        )
    log.info(
        "%s: %d pairs (%d malformed lines skipped): %d train, %d validation, %d test; vocabularies %d / %d",
        meta["pairs_file"],
        len(pairs.sources),
        len(pairs.skipped),
        len(train.src),
        len(split.val),
        len(split.test),
        model.src_tok.vocab_size,
        model.tgt_tok.vocab_size,
    )
    step = Step(s.label_smoothing)
    result = Trainer(model, s, step=step, evaluate=validation_loss, run_dir=run_dir, run_config=run_config).fit(
        train, val
    )
    model.cpu()
    metrics = {
        "val_loss": result.best_metrics.get("val_loss"),
        "train_pairs": len(train.src),
        "test_pairs": len(split.test),
        "skipped_lines": pairs.skipped,
        "attention": s.attention,
    }
    return Fitted(model=model, results=[result], metrics=metrics)


def headline(m: dict[str, Any]) -> str:
    """Translation's part of the summary line."""
    return f"BLEU {m['bleu']:.2f}, chrF {m['chrf']:.2f} on {m['test_sentences']} held-out sentences"
