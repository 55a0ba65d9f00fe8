"""Generation from a :class:`~rnnkit.text.lm.LanguageModel`: sampling, greedy, beam search, streaming.

Each new token costs one ``model.step`` (the recurrent state is carried; the prefix is never re-run), so the work
per token is constant however long the text gets. Prompts of different lengths run as one padded batch with
``lengths=`` (rnnkit's layers return each row's state at its own last token).

Shapes: B batch, V vocabulary, K beam width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.text.tokenize import Tokenizer


@dataclass
class Sampling:
    """How to pick the next token. ``temperature=0`` or ``top_k=1`` is greedy decoding."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"expected --temperature >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"expected --top_k >= 1 (or unset), got {self.top_k}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"expected --top_p in (0, 1] (or unset), got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"expected --repetition_penalty > 0 (1 = off), got {self.repetition_penalty}")


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Set logits outside the top-k and outside the top-p nucleus (Holtzman et al. 2020) to -inf: (B, V) -> (B, V).

    The nucleus is the smallest set of most likely tokens whose probability reaches ``top_p``; it always keeps
    the most likely token.

    >>> filter_logits(torch.log(torch.tensor([[0.5, 0.3, 0.2]])), top_p=0.7).exp()
    tensor([[0.5000, 0.3000, 0.0000]])
    """
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # probability mass strictly before each token
        drop_sorted = before >= top_p
        drop_sorted[:, 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(logits: Tensor, sampling: Sampling, seen: Tensor | None, generator: torch.Generator | None) -> Tensor:
    """Pick one token per row from logits (B, V); ``seen`` (B, V) bool marks tokens for the repetition penalty."""
    logits = logits.float()
    if seen is not None and sampling.repetition_penalty != 1.0:
        # CTRL (Keskar et al. 2019, §4.1): divide positive logits, multiply negative ones.
        penalised = torch.where(logits > 0, logits / sampling.repetition_penalty, logits * sampling.repetition_penalty)
        logits = torch.where(seen, penalised, logits)
    if sampling.temperature == 0 or sampling.top_k == 1:
        return logits.argmax(dim=-1)
    logits = filter_logits(logits / sampling.temperature, sampling.top_k, sampling.top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(1)


def _prime(model: Any, prompts: Sequence[Sequence[int]]) -> tuple[Tensor, Any]:
    """Run the prompts as one padded batch: logits (B, V) after each prompt's last token and the carried state."""
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("expected a non-empty prompt (at least one token) for every sequence")
    device = next(model.parameters()).device
    lengths = torch.tensor([len(p) for p in prompts])
    ids = torch.zeros(len(prompts), int(lengths.max()), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, : len(p)] = torch.as_tensor(list(p))
    full = bool((lengths == lengths.max()).all())
    logits, state = model(ids.to(device), None, None if full else lengths)  # (B, T, V)
    last = logits[torch.arange(len(prompts)), lengths.to(logits.device) - 1]  # (B, V)
    return last, state


@torch.no_grad()
def generate_ids(
    model: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    sampling: Sampling | None = None,
    seed: int | None = None,
    stop_id: int | None = None,
    banned: Sequence[int] = (),
) -> Iterator[Tensor]:
    """Yield the next token of every row, (B,), ``max_new_tokens`` times (fewer if every row emitted ``stop_id``).

    ``banned`` token ids are never produced (the special tokens such as ``<unk>``). The same seed gives the same
    tokens (on the same device and torch version).
    """
    sampling = sampling or Sampling()
    if max_new_tokens < 0:
        raise ValueError(f"expected --max_new_tokens >= 0, got {max_new_tokens}")
    was_training = model.training
    model.eval()  # no dropout while generating; the caller's mode is restored at the end
    try:
        yield from _sample_loop(model, prompts, max_new_tokens, sampling, seed, stop_id, banned)
    finally:
        model.train(was_training)


def _sample_loop(
    model: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    sampling: Sampling,
    seed: int | None,
    stop_id: int | None,
    banned: Sequence[int],
) -> Iterator[Tensor]:
    logits, state = _prime(model, prompts)
    device = logits.device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))
    seen = None
    if sampling.repetition_penalty != 1.0:
        seen = torch.zeros_like(logits, dtype=torch.bool)
        for b, p in enumerate(prompts):
            seen[b, torch.as_tensor(list(p), device=device)] = True
    done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
    ban = torch.as_tensor(list(banned), dtype=torch.long, device=device)
    for i in range(max_new_tokens):
        if len(ban):
            logits = logits.index_fill(-1, ban, float("-inf"))
        token = sample_next(logits, sampling, seen, generator)  # (B,)
        yield token
        if stop_id is not None:
            done |= token == stop_id
            if bool(done.all()):
                return
        if i + 1 == max_new_tokens:
            return
        if seen is not None:
            seen[torch.arange(len(token), device=device), token] = True
        logits, state = model.step(token, state)


def _tokenizer(model: Any, tokenizer: Tokenizer | None) -> Tokenizer:
    tok = tokenizer or getattr(model, "tokenizer", None)
    if tok is None:
        raise ValueError("this model has no tokenizer; pass tokenizer=... or build it with tokenizer=tok.to_config()")
    return tok


def _special_ids(tok: Tokenizer) -> list[int]:
    return [tok.token_id(s) for s in tok.specials]


def generate(
    model: Any,
    prompt: str | Sequence[str],
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    seed: int | None = None,
    tokenizer: Tokenizer | None = None,
) -> str | list[str]:
    """Continue ``prompt`` (or each of a list of prompts, as one batch) by ``max_new_tokens`` sampled tokens.

    Returns the new text only (without the prompt): a string, or a list for a list of prompts.

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> from rnnkit.text.lm import LanguageModel
    >>> tok = build_tokenizer("char", "abc ")
    >>> model = LanguageModel(tok.vocab_size, 8, 16, 1, tokenizer=tok.to_config())
    >>> a = generate(model, ["ab", "c"], max_new_tokens=5, seed=1)
    >>> a == generate(model, ["ab", "c"], max_new_tokens=5, seed=1), len(a)
    (True, 2)
    """
    tok = _tokenizer(model, tokenizer)
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    sampling = Sampling(temperature, top_k, top_p, repetition_penalty)
    encoded = [tok.encode(p) for p in prompts]
    steps = list(generate_ids(model, encoded, max_new_tokens, sampling, seed, banned=_special_ids(tok)))
    if not steps:
        outs = ["" for _ in prompts]
    else:
        ids = torch.stack(steps, dim=1).tolist()  # (B, N)
        outs = [tok.decode(row) for row in ids]
    return outs[0] if isinstance(prompt, str) else outs


def stream(
    model: Any,
    prompt: str,
    max_new_tokens: int = 200,
    sampling: Sampling | None = None,
    seed: int | None = None,
    tokenizer: Tokenizer | None = None,
) -> Iterator[str]:
    """Yield the continuation of one prompt piece by piece, as soon as each token is sampled.

    Pieces are differences of the decoded text, so multi-token characters (byte-level BPE) come out whole.
    """
    tok = _tokenizer(model, tokenizer)
    ids: list[int] = []
    emitted = 0
    for token in generate_ids(model, [tok.encode(prompt)], max_new_tokens, sampling, seed, banned=_special_ids(tok)):
        ids.append(int(token[0]))
        text = tok.decode(ids)
        if text.endswith("\ufffd") and tok.level == "bpe":
            continue  # an incomplete UTF-8 sequence: wait for its other bytes
        yield text[emitted:]
        emitted = len(text)
    text = tok.decode(ids)
    if len(text) > emitted:
        yield text[emitted:]


# ---- beam search ---------------------------------------------------------------------------------------


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


def _select_lm_state(state: Any, index: Tensor) -> Any:
    if isinstance(state, Tensor):
        return state.index_select(1, index)  # (L, K, H)
    return tuple(s.index_select(1, index) for s in state)


@torch.no_grad()
def beam_search(
    model: Any,
    prompt: str,
    max_new_tokens: int = 50,
    beam_width: int = 5,
    length_penalty: float = 1.0,
    tokenizer: Tokenizer | None = None,
) -> str:
    """The most likely continuation of ``prompt`` found by beam search (new text only).

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> from rnnkit.text.lm import LanguageModel
    >>> tok = build_tokenizer("char", "abc ")
    >>> model = LanguageModel(tok.vocab_size, 8, 16, 1, tokenizer=tok.to_config())
    >>> beam_search(model, "ab", 6, beam_width=1) == generate(model, "ab", 6, temperature=0)
    True
    """
    tok = _tokenizer(model, tokenizer)
    was_training = model.training
    model.eval()
    try:
        return _beam_search(model, tok, prompt, max_new_tokens, beam_width, length_penalty)
    finally:
        model.train(was_training)


def _beam_search(
    model: Any, tok: Tokenizer, prompt: str, max_new_tokens: int, beam_width: int, length_penalty: float
) -> str:
    logits, state = _prime(model, [tok.encode(prompt)])

    ban = torch.as_tensor(_special_ids(tok), dtype=torch.long, device=logits.device)

    def logprobs(logits: Tensor) -> Tensor:
        return logits.float().index_fill(-1, ban, float("-inf")).log_softmax(-1)

    def step(tokens: Tensor, state: Any) -> tuple[Tensor, Any]:
        logits, state = model.step(tokens, state)
        return logprobs(logits), state

    hyps = beam_search_core(
        step, logprobs(logits), state, _select_lm_state, beam_width, max_new_tokens, None, length_penalty
    )
    return tok.decode(hyps[0][0])
