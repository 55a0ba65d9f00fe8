"""Training a language model: the settings (the flags of ``rnnkit text train`` but --data), data preparation, the
TBPTT step and the validation, shared by :class:`~rnnkit.text.lm.estimator.TextGenerator` and the command line.

Shapes: B batch (parallel streams), T window length (``bptt``), V vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.text.checks import fraction, one_of
from rnnkit.text.lm.auto import resolve
from rnnkit.text.lm.data import StreamBatches, split_text
from rnnkit.text.lm.model import CELLS, LanguageModel, lm_metrics, stream_nll, token_nll
from rnnkit.text.tokenize import LEVELS, Tokenizer, build_tokenizer
from rnnkit.train import StepOutput, TrainConfig
from rnnkit.train.driver import Fitted

log = logging.getLogger(__name__)


@dataclass
class LMSettings(TrainConfig):
    """How to build and train a language model: tokens, model sizes, TBPTT window, and the engine's settings."""

    level: str = "char"
    """Tokens: char, word or bpe (byte-level BPE from the tokenizers library)."""
    vocab_size: int | None = None
    """Cap on the vocabulary, specials included (word: most frequent words; bpe: merges, default 2000)."""
    val_fraction: float = 0.1
    """Fraction of the text used for validation: the last this fraction of each of --val_blocks equal parts."""
    val_blocks: int = 10
    """Parts the validation text is spread over, so that the model trains on every part of the text, its end
    included (1: the end of the text validates, for a model that must continue it)."""
    cell: str = "lstm"
    """Recurrent layer: lstm, gru or rnn."""
    embed_size: int = 64
    """Embedding size."""
    hidden_size: int | None = None
    """Hidden units per layer (None: chosen from the corpus and the compute, for about 1.2 training tokens per
    parameter; rnnkit.text.lm.auto)."""
    num_layers: int = 2
    """Stacked recurrent layers."""
    dropout: float | None = None
    """Dropout on embeddings, between layers and on outputs (None: chosen by rnnkit.text.lm.auto: 0.1 when the
    run is expected to make 12 passes or more over its training text, else none)."""
    tie_weights: bool = False
    """Share the embedding matrix with the output layer."""
    bptt: int = 128
    """Window length of truncated backpropagation through time (the state is carried between windows)."""
    val_tokens: int | None = 50_000
    """Validations during training read the first this many tokens of the validation text (None: all of it);
    the final figures in metrics.json are on all of it."""
    # The engine's settings whose default a language model changes (benchmarks/lm_defaults.py measured these).
    out: str = "runs/lm"
    epochs: int = 50
    batch_size: int = 64
    # None: chosen with the width by rnnkit.text.lm.auto (8e-3 up to 512 units, scaled by 512 / width above).
    lr: float | None = None  # type: ignore[assignment]
    schedule: str = "wsd"
    weight_decay: float = 0.0
    warmup_steps: int = 10
    val_every: int | None = None
    early_stopping: int | None = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("level", self.level, LEVELS)
        one_of("cell", self.cell, CELLS)
        fraction("val_fraction", self.val_fraction)
        if self.val_blocks < 1:
            raise ValueError(f"expected --val_blocks >= 1, got {self.val_blocks}")
        if self.bptt < 1:
            raise ValueError(f"expected --bptt >= 1, got {self.bptt}")
        if self.hidden_size is not None and self.hidden_size < 1:
            raise ValueError(f"expected --hidden_size >= 1 (or null: chosen from the corpus), got {self.hidden_size}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"expected --dropout in [0, 1) (or null: chosen from the corpus), got {self.dropout}")
        if self.val_tokens is not None and self.val_tokens < 2:
            raise ValueError(f"expected --val_tokens >= 2 (or null: all of the validation text), got {self.val_tokens}")
        if self.vocab_size is not None and self.vocab_size < 2:
            raise ValueError(f"expected --vocab_size >= 2 (or unset), got {self.vocab_size}")


@dataclass
class LMData:
    """A text split, tokenised and cut into TBPTT batches."""

    tokenizer: Tokenizer
    train: StreamBatches
    val: StreamBatches  # what the validations during training read (the first --val_tokens)
    val_chars: int  # characters behind val's targets (for bits per character)
    train_tokens: int
    val_tokens: int
    val_all: StreamBatches | None = None  # all of the validation text, for the final figures (None: val is all)
    val_all_chars: int = 0


def prepare(settings: LMSettings, text: str, source: str = "the text") -> LMData:
    """Split ``text`` (the last ``val_fraction`` of each of ``val_blocks`` equal parts validates,
    :func:`~rnnkit.text.lm.data.split_text`), fit the tokeniser on the training part, batch both.

    The validations during training read the first ``val_tokens / val_blocks`` tokens of every block, so that they
    too see every part of the text. ``source`` names the text in error messages (the path from the command line).
    """
    train_text, val_parts = split_text(text, settings.val_fraction, settings.val_blocks)
    if not "".join(val_parts).strip() or not train_text.strip():
        raise ValueError(f"{source}: too short to split by --val_fraction {settings.val_fraction}")
    tok = build_tokenizer(settings.level, train_text, vocab_size=settings.vocab_size)
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)
    val_blocks = [torch.tensor(tok.encode(part), dtype=torch.long) for part in val_parts]
    val_ids = torch.cat(val_blocks)
    try:
        train = StreamBatches(train_ids, settings.batch_size, settings.bptt, random_shift=True)
        val_all = _val_batches(val_ids, settings)
        val = val_all
        if settings.val_tokens is not None and settings.val_tokens < len(val_ids) - 1:
            per_block = -(-(settings.val_tokens + 1) // len(val_blocks))  # ceil
            val = _val_batches(torch.cat([ids[:per_block] for ids in val_blocks]), settings)
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None
    log.info(
        "%s: %d train / %d val tokens (%s level, vocabulary %d)",
        source,
        len(train_ids),
        len(val_ids),
        settings.level,
        tok.vocab_size,
    )
    if val.tokens == val_all.tokens:
        return LMData(tok, train, val, _chars(tok, val), len(train_ids), len(val_ids))
    return LMData(tok, train, val, _chars(tok, val), len(train_ids), len(val_ids), val_all, _chars(tok, val_all))


def _val_batches(ids: torch.Tensor, settings: LMSettings) -> StreamBatches:
    batch = max(1, min(settings.batch_size, (len(ids) - 1) // (2 * settings.bptt) or 1))
    return StreamBatches(ids, batch, settings.bptt)


def _chars(tok: Tokenizer, batches: StreamBatches) -> int:
    """Characters behind the targets of ``batches`` (bits per character divide by these)."""
    return len(tok.decode(batches.y.flatten().tolist()))


def build_model(settings: LMSettings, tok: Tokenizer) -> LanguageModel:
    """The language model the settings describe (hidden_size and dropout resolved), with the tokeniser kept in its
    config."""
    if settings.hidden_size is None or settings.dropout is None:
        raise ValueError("build_model: hidden_size and dropout must be resolved first (rnnkit.text.lm.auto.resolve)")
    return LanguageModel(
        tok.vocab_size,
        settings.embed_size,
        settings.hidden_size,
        settings.num_layers,
        settings.cell,
        settings.dropout,
        settings.tie_weights,
        tokenizer=tok.to_config(),
    )


def lm_step(model: Any, batch: Any, carry: Any) -> StepOutput:
    """One TBPTT window: the state ``carry`` comes from the previous window of the same rows."""
    x, y, *weights = batch  # (B, T), (B, T), and (B, T) target weights for a dialogue
    logits, state = model(x, carry)  # (B, T, V)
    if not weights:
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        return StepOutput(loss=loss, n=y.numel(), carry=state)
    nll, n = token_nll(logits, y, weights[0])
    return StepOutput(loss=nll / n.clamp(min=1.0), n=max(1, int(n)), carry=state)


class Validation:
    """The trainer's ``evaluate``: loss, perplexity and bits per character over the validation stream."""

    def __init__(self, val_chars: int) -> None:
        self.val_chars = val_chars

    def __call__(self, model: Any, batches: Any) -> dict[str, float]:
        nll, tokens = stream_nll(model, batches, next(model.parameters()).device)
        m = lm_metrics(nll, tokens, self.val_chars)
        return {"val_loss": m["loss"], "val_perplexity": m["perplexity"], "val_bpc": m["bpc"]}


VAL_KEYS = ("val_loss", "val_perplexity", "val_bpc")


def fit_lm(settings: LMSettings, data: LMData, run_dir: Path | None = None, run_config: Any = None) -> Fitted:
    """Build the model and train it (torch already seeded with ``settings.seed``, by the driver or the caller).

    ``run_dir``: where the trainer keeps last.ckpt and its logs (None: nowhere; --resume needs it).
    """
    from rnnkit.train import Trainer

    settings, chosen = resolve(settings, data.train_tokens, data.tokenizer.vocab_size, run_dir)
    if run_config is not None:  # config.json records the values the run used
        run_config.update({k: v for k, v in chosen["settings"].items() if k != "time_budget"})
    log.info("chosen: %s", "; ".join(f"{k} {chosen['settings'][k]} ({why})" for k, why in chosen["why"].items()))
    model = build_model(settings, data.tokenizer)
    trainer = Trainer(
        model, settings, step=lm_step, evaluate=Validation(data.val_chars), run_dir=run_dir, run_config=run_config
    )
    result = trainer.fit(data.train, data.val)
    model.cpu()
    metrics = figures(model, data, result.best_metrics)
    return Fitted(model=model, results=[result], metrics={**metrics, "chosen": chosen})


def figures(model: LanguageModel, data: LMData, best: dict[str, Any]) -> dict[str, Any]:
    """The language model's own figures for metrics.json: validation loss, perplexity and bits per character of
    the weights the model holds (the best validation's), on all of the validation text; the data's sizes and the
    parameter count."""
    if data.val_all is not None:  # the validations read a part: score the kept weights on all of it
        final = Validation(data.val_all_chars)(model, data.val_all)
    elif all(k in best for k in VAL_KEYS):
        final = {k: float(best[k]) for k in VAL_KEYS}
    else:  # no validation ran before the run stopped (e.g. Ctrl-C before the first --val_every)
        final = Validation(data.val_chars)(model, data.val)
    return {
        **final,
        "train_tokens": data.train_tokens,
        "val_tokens": data.val_tokens,
        "vocab_size": data.tokenizer.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def headline(m: dict[str, Any]) -> str:
    """The language model's part of the summary line."""
    line = f"val perplexity {m['val_perplexity']:.3f}, {m['val_bpc']:.4f} bits/char"
    chosen = m.get("chosen", {}).get("settings")
    return line if not chosen else f"{line}; width {chosen['hidden_size']}, dropout {chosen['dropout']:g}"
