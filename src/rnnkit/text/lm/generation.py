"""Generation from a :class:`~rnnkit.text.lm.model.LanguageModel`: sampling, greedy, beam search, streaming.

Each new token costs one ``model.step`` (the recurrent state is carried; the prefix is never re-run), so the work
per token is constant however long the text gets. Prompts of different lengths run as one padded batch with
``lengths=`` (rnnkit's layers return each row's state at its own last token).

Shapes: B batch, V vocabulary, K beam width.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.text.beam import beam_search_core
from rnnkit.text.tokenize import Tokenizer, unknown_tokens


@dataclass
class Sampling:
    """How to pick the next token. ``temperature=0`` or ``top_k=1`` is greedy decoding.

    These are the one set of sampling defaults: ``rnnkit text generate``'s flags (its config inherits this class),
    :meth:`rnnkit.text.TextGenerator.generate` and :func:`generate` all take them from here.

    >>> Sampling().temperature
    0.8
    """

    temperature: float = 0.8
    """Softmax temperature (0 = greedy)."""
    top_k: int | None = None
    """Sample only among the k most likely tokens."""
    top_p: float | None = None
    """Nucleus sampling: the smallest set of tokens with this total probability."""
    repetition_penalty: float = 1.0
    """Penalise tokens already present (CTRL); 1 = off."""

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"expected --temperature >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"expected --top_k >= 1 (or unset), got {self.top_k}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"expected --top_p in (0, 1] (or unset), got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"expected --repetition_penalty > 0 (1 = off), got {self.repetition_penalty}")


@dataclass(kw_only=True)
class Generation(Sampling):
    """What to generate and how: the sampling settings plus length, samples, seed and beam search.

    The defaults of ``rnnkit text generate`` and :meth:`rnnkit.text.TextGenerator.generate`. Sampling settings
    mean nothing to beam search, so giving them with ``beam_width > 1`` is an error rather than silently ignored.

    >>> Generation(beam_width=3, top_p=0.9)
    Traceback (most recent call last):
    ...
    ValueError: --beam_width 3 searches for the most likely continuation and ignores --top_p; drop it, or ...
    """

    max_new_tokens: int = 500
    """Tokens to generate."""
    seed: int | None = None
    """Random seed (the same seed gives the same text)."""
    num_samples: int = 1
    """Independent continuations, generated as one batch."""
    beam_width: int = 1
    """> 1: beam search for the most likely continuation instead of sampling."""
    length_penalty: float = 1.0
    """Beam search: a hypothesis scores its log-probability / length ** this."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_new_tokens < 0:
            raise ValueError(f"expected --max_new_tokens >= 0, got {self.max_new_tokens}")
        if self.num_samples < 1 or self.beam_width < 1:
            raise ValueError(
                f"expected --num_samples >= 1 and --beam_width >= 1, got {self.num_samples} and {self.beam_width}"
            )
        if self.beam_width > 1:
            ignored = [
                f"--{name}"
                for name, default in (
                    ("temperature", Sampling.temperature),
                    ("top_k", None),
                    ("top_p", None),
                    ("repetition_penalty", 1.0),
                    ("seed", None),
                    ("num_samples", 1),
                )
                if getattr(self, name) != default
            ]
            if ignored:
                raise ValueError(
                    f"--beam_width {self.beam_width} searches for the most likely continuation and ignores "
                    f"{', '.join(ignored)}; drop {'it' if len(ignored) == 1 else 'them'}, or sample with --beam_width 1"
                )

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_k, self.top_p, self.repetition_penalty)


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


def encode_prompt(tok: Tokenizer, prompt: str) -> list[int]:
    """Token ids of a prompt; a ValueError naming what the model never saw in training.

    A char or word model maps unseen characters/words to ``<unk>``, and a state primed on ``<unk>`` is one it was
    never trained on, so the continuation would silently be worse (issue 14). Byte-level BPE knows every text.

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> encode_prompt(build_tokenizer("char", "abc"), "cab")
    [3, 1, 2]
    >>> encode_prompt(build_tokenizer("char", "abc"), "café")
    Traceback (most recent call last):
    ...
    ValueError: the prompt has characters the model never saw in training: 'f' (U+0066), 'é' (U+00E9); ...
    """
    if not isinstance(prompt, str):
        raise TypeError(f"expected the prompt to be a str, got {type(prompt).__name__}")
    if not prompt:
        raise ValueError("expected a non-empty prompt (at least one character)")
    unknown = unknown_tokens(tok, prompt)
    if unknown:
        if tok.level == "char":
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown[:10])
            what = "characters"
        else:
            shown, what = ", ".join(repr(w.strip()) for w in unknown[:10]), "words"
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ValueError(
            f"the prompt has {what} the model never saw in training: {shown}{more}; "
            f"remove or replace {'it' if len(unknown) == 1 else 'them'} "
            f"(the model knows {tok.vocab_size - len(tok.specials)} {what})"
        )
    return tok.encode(prompt)


def _special_ids(tok: Tokenizer) -> list[int]:
    return [tok.token_id(s) for s in tok.specials]


def generate(
    model: Any,
    prompt: str | Sequence[str],
    max_new_tokens: int = Generation.max_new_tokens,
    temperature: float = Sampling.temperature,
    top_k: int | None = Sampling.top_k,
    top_p: float | None = Sampling.top_p,
    repetition_penalty: float = Sampling.repetition_penalty,
    seed: int | None = None,
    tokenizer: Tokenizer | None = None,
) -> str | list[str]:
    """Continue ``prompt`` (or each of a list of prompts, as one batch) by ``max_new_tokens`` sampled tokens.

    Returns the new text only (without the prompt): a string, or a list for a list of prompts.

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> from rnnkit.text.lm.model import LanguageModel
    >>> tok = build_tokenizer("char", "abc ")
    >>> model = LanguageModel(tok.vocab_size, 8, 16, 1, tokenizer=tok.to_config())
    >>> a = generate(model, ["ab", "c"], max_new_tokens=5, seed=1)
    >>> a == generate(model, ["ab", "c"], max_new_tokens=5, seed=1), len(a)
    (True, 2)
    """
    tok = _tokenizer(model, tokenizer)
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    sampling = Sampling(temperature, top_k, top_p, repetition_penalty)
    encoded = [encode_prompt(tok, p) for p in prompts]
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
    max_new_tokens: int = Generation.max_new_tokens,
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
    for token in generate_ids(
        model, [encode_prompt(tok, prompt)], max_new_tokens, sampling, seed, banned=_special_ids(tok)
    ):
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


def _select_lm_state(state: Any, index: Tensor) -> Any:
    if isinstance(state, Tensor):
        return state.index_select(1, index)  # (L, K, H)
    return tuple(s.index_select(1, index) for s in state)


@torch.no_grad()
def beam_search(
    model: Any,
    prompt: str,
    max_new_tokens: int = Generation.max_new_tokens,
    beam_width: int = 5,
    length_penalty: float = Generation.length_penalty,
    tokenizer: Tokenizer | None = None,
) -> str:
    """The most likely continuation of ``prompt`` found by beam search (new text only).

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> from rnnkit.text.lm.model import LanguageModel
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
    logits, state = _prime(model, [encode_prompt(tok, prompt)])

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
