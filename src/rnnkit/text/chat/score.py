"""What the memory is worth: the perplexity of held-out replies with the conversation carried in the state,
beside the same model given only the previous turn, and given nothing (a fresh state for every reply).

The three score exactly the same tokens (each reply's text and its end of turn); only the context differs:

- ``carried``: the whole conversation up to the reply, read once, the state carried from turn to turn (as
  :class:`~rnnkit.text.chat.session.ChatSession` does);
- ``previous_turn``: a fresh state that reads only the turn before the reply;
- ``fresh``: a fresh state that reads only the reply's speaker (``<bos> NAME <says>``).

Context weighs most on the first tokens of a reply (later ones are predicted from the reply's own words), so the
figures are also given for the first :data:`FIRST` tokens of each reply alone.

Shapes: B batch, T time steps, V vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from rnnkit.text.chat.dialogue import Dialogue, Turn, frame
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.lm.model import token_nll

CONTEXTS = ("carried", "previous_turn", "fresh")
FIRST = 5
"""The ``first_tokens`` figures count the first this many scored tokens of each reply."""


def first_of_runs(weights: list[int], k: int) -> list[int]:
    """Keep the first ``k`` of each run of counted targets (one run per reply), zero the rest.

    >>> first_of_runs([0, 1, 1, 1, 0, 1, 1], 2)
    [0, 1, 1, 0, 0, 1, 1]
    """
    out, run = [], 0
    for w in weights:
        run = run + 1 if w else 0
        out.append(w if run <= k else 0)
    return out


def scoring_sequences(
    model: ChatModel, dialogues: Sequence[Dialogue], context: str
) -> list[tuple[list[int], list[int]]]:
    """(ids, target weights) of every sequence to score under ``context`` (see the module's docstring)."""
    if context not in CONTEXTS:
        raise ValueError(f"expected a context among {', '.join(CONTEXTS)}, got {context!r}")
    tok = model.tokenizer
    assert tok is not None
    if context == "carried":
        return [frame(tok, d) for d in dialogues]
    out = []
    for dialogue in dialogues:
        for k, turn in enumerate(dialogue):
            if not turn.reply:
                continue
            before = (
                [Turn(dialogue[k - 1].speaker, dialogue[k - 1].text, reply=False)]
                if context == "previous_turn" and k
                else []
            )
            out.append(frame(tok, [*before, turn]))
    return out


@torch.no_grad()
def weighted_nll(
    model: ChatModel, sequences: Sequence[tuple[list[int], list[int]]], batch_size: int = 32, window: int = 1024
) -> tuple[float, int]:
    """Summed NLL of the weighted targets of every sequence, and their count. Sequences run as right-padded
    batches (padding comes after every real token, so it changes nothing before it), long ones in windows of
    ``window`` steps with the state carried."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]))
    total, count = 0.0, 0.0
    for start in range(0, len(order), batch_size):
        rows = [sequences[i] for i in order[start : start + batch_size]]
        length = max(len(ids) for ids, _ in rows)
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        weights = torch.zeros(len(rows), length)
        for b, (i, w) in enumerate(rows):
            ids[b, : len(i)] = torch.tensor(i)
            weights[b, : len(w)] = torch.tensor(w, dtype=torch.float32)
        ids, weights = ids.to(device), weights.to(device)
        state = None
        for t in range(0, length - 1, window):
            x = ids[:, t : t + window]  # (B, T)
            y, counted = ids[:, t + 1 : t + window + 1], weights[:, t + 1 : t + window + 1]
            logits, state = model(x[:, : y.shape[1]], state)  # (B, T, V)
            nll, n = token_nll(logits, y, counted)
            total, count = total + float(nll), count + float(n)
    model.train(was_training)
    return total, round(count)


def memory_figures(model: ChatModel, dialogues: Sequence[Dialogue]) -> dict[str, Any]:
    """Reply loss (nats/token) and perplexity under each context, and the number of reply tokens scored; the same
    over the first :data:`FIRST` tokens of each reply under ``first_tokens``.

    Each context scores the same tokens, so the three perplexities compare directly: ``carried`` below ``fresh``
    is what the recurrent state remembers of the conversation.
    """
    figures: dict[str, Any] = {"first_tokens": {}}
    for context in CONTEXTS:
        sequences = scoring_sequences(model, dialogues, context)
        for part, rows in ((figures, sequences), (figures["first_tokens"], first_tokens(sequences))):
            nll, n = weighted_nll(model, rows)
            loss = nll / max(n, 1)
            part[context] = {"loss": loss, "perplexity": math.exp(min(loss, 50.0))}
            part["reply_tokens"] = n
    return figures


def first_tokens(sequences: Sequence[tuple[list[int], list[int]]]) -> list[tuple[list[int], list[int]]]:
    return [(ids, first_of_runs(weights, FIRST)) for ids, weights in sequences]
