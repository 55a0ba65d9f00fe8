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
from rnnkit.text.lm.data import StreamBatches
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
    """Fraction of the text, taken from its end, used for validation."""
    cell: str = "lstm"
    """Recurrent layer: lstm, gru or rnn."""
    embed_size: int = 64
    """Embedding size."""
    hidden_size: int = 256
    """Hidden units per layer."""
    num_layers: int = 2
    """Stacked recurrent layers."""
    dropout: float = 0.0
    """Dropout on embeddings, between layers and on outputs (helps for long runs; 0 suits short CPU budgets)."""
    tie_weights: bool = False
    """Share the embedding matrix with the output layer."""
    bptt: int = 128
    """Window length of truncated backpropagation through time (the state is carried between windows)."""
    # The engine's settings whose default a language model changes (the LM benchmark in RESULTS.md uses these).
    out: str = "runs/lm"
    epochs: int = 50
    batch_size: int = 32
    weight_decay: float = 0.0
    warmup_steps: int = 50
    val_every: int | None = 200
    early_stopping: int | None = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("level", self.level, LEVELS)
        one_of("cell", self.cell, CELLS)
        fraction("val_fraction", self.val_fraction)
        if self.bptt < 1:
            raise ValueError(f"expected --bptt >= 1, got {self.bptt}")
        if self.vocab_size is not None and self.vocab_size < 2:
            raise ValueError(f"expected --vocab_size >= 2 (or unset), got {self.vocab_size}")


@dataclass
class LMData:
    """A text split, tokenised and cut into TBPTT batches."""

    tokenizer: Tokenizer
    train: StreamBatches
    val: StreamBatches
    val_chars: int  # characters behind the validation targets (for bits per character)
    train_tokens: int
    val_tokens: int


def prepare(settings: LMSettings, text: str, source: str = "the text") -> LMData:
    """Split ``text`` (its last ``val_fraction`` validates), fit the tokeniser on the training part, batch both.

    ``source`` names the text in error messages (the file's path from the command line).
    """
    cut = round(len(text) * (1.0 - settings.val_fraction))
    train_text, val_text = text[:cut], text[cut:]
    if not val_text.strip() or not train_text.strip():
        raise ValueError(f"{source}: too short to split by --val_fraction {settings.val_fraction}")
    tok = build_tokenizer(settings.level, train_text, vocab_size=settings.vocab_size)
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tok.encode(val_text), dtype=torch.long)
    val_batch = max(1, min(settings.batch_size, (len(val_ids) - 1) // (2 * settings.bptt) or 1))
    try:
        train = StreamBatches(train_ids, settings.batch_size, settings.bptt, random_shift=True)
        val = StreamBatches(val_ids, val_batch, settings.bptt)
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None
    val_chars = len(tok.decode(val.y.flatten().tolist()))
    log.info(
        "%s: %d train / %d val tokens (%s level, vocabulary %d)",
        source,
        len(train_ids),
        len(val_ids),
        settings.level,
        tok.vocab_size,
    )
    return LMData(tok, train, val, val_chars, len(train_ids), len(val_ids))


def build_model(settings: LMSettings, tok: Tokenizer) -> LanguageModel:
    """The language model the settings describe, with the tokeniser kept in its config."""
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

    model = build_model(settings, data.tokenizer)
    trainer = Trainer(
        model, settings, step=lm_step, evaluate=Validation(data.val_chars), run_dir=run_dir, run_config=run_config
    )
    result = trainer.fit(data.train, data.val)
    model.cpu()
    return Fitted(model=model, results=[result], metrics=figures(model, data, result.best_metrics))


def figures(model: LanguageModel, data: LMData, best: dict[str, Any]) -> dict[str, Any]:
    """The language model's own figures for metrics.json: the best validation loss, perplexity and bits per
    character (the model holds those weights), the data's sizes and the parameter count."""
    if all(k in best for k in VAL_KEYS):
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
    return f"val perplexity {m['val_perplexity']:.3f}, {m['val_bpc']:.4f} bits/char"
