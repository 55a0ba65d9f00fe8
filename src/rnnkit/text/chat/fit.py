"""Training a dialogue model: the settings (the flags of ``rnnkit text chat-train`` but --data), the data
preparation, and the fit, which is the language model's (same step, same validation, same engine) on a framed
stream whose loss counts the replies.

Shapes: B batch (parallel streams), T window length (``bptt``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.text.chat.dialogue import (
    LOSS_ON,
    SPECIALS,
    Dialogue,
    dialogue_texts,
    speakers,
    split_dialogues,
    stream,
    turn_ids,
)
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.chat.score import memory_figures
from rnnkit.text.checks import one_of
from rnnkit.text.lm.data import StreamBatches
from rnnkit.text.lm.fit import VAL_KEYS, LMSettings, Validation, lm_step
from rnnkit.text.tokenize import Tokenizer, build_tokenizer
from rnnkit.train.driver import Fitted

log = logging.getLogger(__name__)


@dataclass
class ChatSettings(LMSettings):
    """How to build and train a dialogue model: the language model's settings, plus what the loss counts."""

    NOT_FLAGS: ClassVar[tuple[str, ...]] = ("val_blocks",)  # chat holds out whole turns at the end (split_dialogues)

    val_fraction: float = 0.1
    """Fraction of the conversation held out for validation: the last turns, whole, of about this share of the
    characters."""
    loss_on: str = "replies"
    """Targets the loss counts: replies (the text and end of turn of the replies; names and the other turns are
    context only) or all (every token, as a plain language model)."""
    bptt: int | None = None  # type: ignore[assignment]
    """Window of truncated BPTT, in tokens. What the state learns to remember must fit in one window, so None
    chooses it from the training data: three median turns, rounded up to a power of two, from 128 to 1024. A
    --batch_size of None (the default here) then gives 4096 tokens per step: 4096 / bptt streams, at least 8."""
    batch_size: int | None = None  # type: ignore[assignment]
    hidden_size: int = 256  # type: ignore[assignment]
    """Hidden units per layer."""
    dropout: float = 0.0  # type: ignore[assignment]
    """Dropout on embeddings, between layers and on outputs."""
    out: str = "runs/chat"
    lr: float = 3e-3
    schedule: str = "cosine"  # what the chat benchmarks measured (the language model's wsd was chosen later)
    warmup_steps: int = 50
    val_every: int | None = 200

    def __post_init__(self) -> None:
        given = {"bptt": self.bptt, "batch_size": self.batch_size}
        for name, value in given.items():  # None (chosen from the data in prepare) passes the parents' checks
            if value is None:
                setattr(self, name, 1)
        super().__post_init__()
        for name, value in given.items():
            setattr(self, name, value)
        one_of("loss_on", self.loss_on, LOSS_ON)


TOKENS_PER_STEP = 4096
"""Tokens per optimizer step when the batch size is chosen from the window (32 x 128)."""


def window(settings: ChatSettings, dialogues: Sequence[Dialogue], tok: Tokenizer) -> tuple[int, int, str]:
    """(bptt, batch_size, why): the given ones, or chosen from the training turns' lengths.

    Truncated BPTT carries the state from window to window but its gradient stops at the window's start, so a
    model learns to use an earlier turn only if both fit in one window: three turns of the data make the window.
    """
    lengths = sorted(len(turn_ids(tok, t.speaker, t.text)) for d in dialogues for t in d)
    median = lengths[len(lengths) // 2]
    bptt = settings.bptt or min(1024, max(128, 1 << (3 * median - 1).bit_length()))
    batch = settings.batch_size or max(8, TOKENS_PER_STEP // bptt)
    rule = f"3 median turns ({median} tokens each) as a power of two in [128, 1024]"
    why = f"bptt {bptt}: {'given' if settings.bptt else rule}; batch_size {batch}: " + (
        "given" if settings.batch_size else f"{TOKENS_PER_STEP} tokens per step / bptt, at least 8"
    )
    return bptt, batch, why


@dataclass
class ChatData:
    """Conversations split, tokenised, framed and cut into TBPTT batches."""

    settings: ChatSettings  # with bptt and batch_size resolved
    chosen: dict[str, Any]  # what was chosen from the data, and why (metrics.json)
    tokenizer: Tokenizer
    train: StreamBatches
    val: StreamBatches
    val_dialogues: list[Dialogue]
    val_chars: int  # characters behind the counted validation targets (for bits per character)
    chat: dict[str, Any]  # speakers and the session's defaults, kept in the model's config
    turns: tuple[int, int]  # training and held-out turns


def prepare(settings: ChatSettings, dialogues: Sequence[Dialogue], source: str = "the dialogue") -> ChatData:
    """Hold out the last ``val_fraction`` of the turns, fit the tokeniser on the rest, frame and batch both."""
    try:
        train_d, val_d = split_dialogues(dialogues, settings.val_fraction)
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None
    tok = build_tokenizer(
        settings.level, list(dialogue_texts(train_d)), vocab_size=settings.vocab_size, specials=SPECIALS
    )
    bptt, batch_size, why = window(settings, train_d, tok)
    settings = dataclasses.replace(settings, bptt=bptt, batch_size=batch_size)
    assert settings.bptt is not None and settings.batch_size is not None
    train_ids, train_w = stream(tok, train_d, settings.loss_on)
    val_ids, val_w = stream(tok, val_d, "replies")  # validation scores the replies whatever the loss counts
    val_batch = max(1, min(settings.batch_size, (len(val_ids) - 1) // (2 * settings.bptt) or 1))
    try:
        train = StreamBatches(train_ids, settings.batch_size, settings.bptt, random_shift=True, weights=train_w)
        val = StreamBatches(val_ids, val_batch, settings.bptt, weights=val_w)
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None
    assert val.w is not None
    counted = val.y[val.w > 0].tolist()
    names, as_name, reply_as = speakers(train_d)
    turns = (sum(map(len, train_d)), sum(map(len, val_d)))
    log.info(
        "%s: %d train / %d held-out turns, %d speakers, %d train tokens (%s level, vocabulary %d)",
        source,
        *turns,
        len(names),
        len(train_ids),
        settings.level,
        tok.vocab_size,
    )
    chat = {"speakers": names, "as": as_name, "reply_as": reply_as, "loss_on": settings.loss_on}
    chosen = {"bptt": bptt, "batch_size": batch_size, "why": why}
    log.info("chose %s", why)
    return ChatData(settings, chosen, tok, train, val, val_d, len(tok.decode(counted)), chat, turns)


def build_model(settings: ChatSettings, data: ChatData) -> ChatModel:
    return ChatModel(
        vocab_size=data.tokenizer.vocab_size,
        embed_size=settings.embed_size,
        hidden_size=settings.hidden_size,
        num_layers=settings.num_layers,
        cell=settings.cell,
        dropout=settings.dropout,
        tie_weights=settings.tie_weights,
        tokenizer=data.tokenizer.to_config(),
        chat=data.chat,
    )


def fit_chat(settings: ChatSettings, data: ChatData, run_dir: Path | None = None, run_config: Any = None) -> Fitted:
    """Train (torch already seeded by the driver or the caller), then score the held-out replies with and
    without the carried state (:func:`~rnnkit.text.chat.score.memory_figures`)."""
    from rnnkit.train import Trainer

    settings = data.settings
    model = build_model(settings, data)
    trainer = Trainer(
        model, settings, step=lm_step, evaluate=Validation(data.val_chars), run_dir=run_dir, run_config=run_config
    )
    result = trainer.fit(data.train, data.val)
    model.cpu()
    best = result.best_metrics
    final: dict[str, float] = {k: float(best[k]) for k in VAL_KEYS if k in best}
    if len(final) < len(VAL_KEYS):  # stopped before the first validation
        final = Validation(data.val_chars)(model, data.val)
    metrics = {
        **final,
        "memory": memory_figures(model, data.val_dialogues),
        "chosen": data.chosen,
        "turns": {"train": data.turns[0], "held_out": data.turns[1]},
        "speakers": len(model.speakers),
        "as": model.default_as,
        "reply_as": model.default_reply_as,
        "vocab_size": data.tokenizer.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return Fitted(model=model, results=[result], metrics=metrics)


def headline(m: dict[str, Any]) -> str:
    """The chat model's part of the summary line: held-out reply perplexity with and without the carried state."""
    mem = m["memory"]
    return (
        f"held-out reply perplexity {mem['carried']['perplexity']:.3f} with the conversation carried, "
        f"{mem['fresh']['perplexity']:.3f} from a fresh state"
    )
