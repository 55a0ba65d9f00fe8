"""Beam search over any step function, shared by the language model's and the translator's decoders.

Shapes: K beam width, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


def beam_search_core(
    step: Callable[[Tensor, Any], tuple[Tensor, Any]],
    logprobs: Tensor,
    state: Any,
    select: Callable[[Any, Tensor], Any],
    beam_width: int,
    max_steps: int,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
) -> list[tuple[list[int], float]]:
    """Beam search over any step function; returns (tokens, score) hypotheses, best first.

    Args:
        step: (tokens (K,), state) -> (log-probabilities (K, V), state).
        logprobs: (1, V) log-probabilities of the first new token; ``state`` the matching state (batch 1).
        select: (state, index (K,)) -> the state of the rows in ``index`` (reorders/duplicates beams).
        eos_id: a finished hypothesis ends with it (kept in its tokens); None: every hypothesis runs max_steps.
        length_penalty: a finished hypothesis scores ``sum(log p) / len ** length_penalty`` (0: no
            normalisation; 1: mean log-probability per token).

    Search stops once ``beam_width`` hypotheses have finished, so ``beam_width=1`` is exactly greedy decoding.
    """
    if beam_width < 1:
        raise ValueError(f"expected --beam_width >= 1, got {beam_width}")
    tokens: list[list[int]] = [[]]
    scores = logprobs.new_zeros(1)  # (K,) summed log-probabilities of the live beams
    finished: list[tuple[list[int], float]] = []

    def norm(score: float, length: int) -> float:
        return score / (max(length, 1) ** length_penalty)

    for t in range(max_steps):
        vocab = logprobs.shape[-1]
        total = (scores[:, None] + logprobs.float()).flatten()  # (K * V,)
        top_scores, top_index = total.topk(min(2 * beam_width, total.numel()))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist()):
            row, token = divmod(index, vocab)
            if eos_id is not None and token == eos_id:
                finished.append(([*tokens[row], token], norm(score, t + 1)))
                if len(finished) >= beam_width:
                    break
            else:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(score)
                if len(keep_rows) == beam_width:
                    break
        if len(finished) >= beam_width or not keep_rows:
            break
        tokens = [[*tokens[r], k] for r, k in zip(keep_rows, keep_tokens)]
        scores = torch.tensor(keep_scores, device=logprobs.device)
        if t + 1 == max_steps:
            finished.extend((toks, norm(float(s), len(toks))) for toks, s in zip(tokens, scores.tolist()))
            break
        index = torch.tensor(keep_rows, device=logprobs.device)
        new = torch.tensor(keep_tokens, device=logprobs.device)
        logprobs, state = step(new, select(state, index))
    if not finished:  # max_steps == 0
        finished = [([], 0.0)]
    return sorted(finished, key=lambda h: -h[1])
