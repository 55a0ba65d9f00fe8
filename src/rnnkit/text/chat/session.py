"""A conversation with a :class:`~rnnkit.text.chat.model.ChatModel` whose memory is its recurrent state.

Each turn feeds only the new tokens (your message, the reply's speaker, the reply) through the model, carrying the
state: a turn costs the same at turn 200 as at turn 1, and the conversation so far is never re-encoded. The state is
all there is to remember; :meth:`ChatSession.save` writes it (safetensors, with the transcript and settings as JSON
metadata) and :meth:`ChatSession.load` brings it back. ``carry_state=False`` is the comparison: each turn re-reads
the whole conversation from a fresh state, as a model with a context window must (same replies, growing cost).

Shapes: L layers, H hidden size, V vocabulary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import Tensor

from rnnkit.text.chat.dialogue import SAYS, turn_ids
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.lm.generation import Generation, Sampling, encode_prompt, sample_next
from rnnkit.text.tokenize import BOS, UNK
from rnnkit.train.checkpoint import atomic_write

STATE_FORMAT = "rnnkit.chat_state"


def chat_model(model: Any) -> ChatModel:
    """A ChatModel from itself, from a :class:`~rnnkit.text.chat.estimator.Chatbot`, or from a saved model's
    directory (the ``--out`` of ``rnnkit text chat-train`` or its ``model/``)."""
    if isinstance(model, ChatModel):
        return model
    inner = getattr(model, "model", None)
    if isinstance(inner, ChatModel):
        return inner
    if isinstance(model, (str, Path)):
        from rnnkit.text.loading import load_kind

        return load_kind(model, ChatModel, "a chat model", "rnnkit text chat-train --data FILE --out DIR")
    raise TypeError(
        f"expected a ChatModel, a trained Chatbot or the directory of a saved chat model, got {type(model).__name__}"
    )


class ChatSession:
    """Talk to a chat model: ``session.reply("Good morrow!")``; the state carries from turn to turn.

    Args:
        model: a :class:`ChatModel`, a trained :class:`~rnnkit.text.chat.estimator.Chatbot`, or a model directory.
        as_name: who you speak as (default: the model's, from its training data: the most frequent speaker who is
            not ``reply_as``).
        reply_as: who the model speaks as (default: the speaker with the most replies in the training data).
        temperature, top_k, top_p, repetition_penalty: sampling, as ``rnnkit text generate``.
        max_new_tokens: the longest reply (a reply ends at the model's end-of-turn token, or here).
        seed: the same seed and the same turns give the same replies.
        carry_state: False re-reads the whole conversation every turn (the comparison a context-window model makes).

    >>> from rnnkit.text.chat.dialogue import SPECIALS
    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> tok = build_tokenizer("char", "AB hi there", specials=SPECIALS)
    >>> model = ChatModel(vocab_size=tok.vocab_size, embed_size=4, hidden_size=8, num_layers=1,
    ...                   tokenizer=tok.to_config(), chat={"speakers": ["A", "B"], "as": "A", "reply_as": "B"})
    >>> session = ChatSession(model, seed=0, max_new_tokens=5)
    >>> a = session.reply("hi")
    >>> len(a) <= 5 and session.turns == 2
    True
    """

    def __init__(
        self,
        model: Any,
        *,
        as_name: str | None = None,
        reply_as: str | None = None,
        temperature: float = Sampling.temperature,
        top_k: int | None = Sampling.top_k,
        top_p: float | None = Sampling.top_p,
        repetition_penalty: float = Sampling.repetition_penalty,
        max_new_tokens: int = 300,
        seed: int | None = Generation.seed,
        carry_state: bool = True,
    ) -> None:
        self.model = chat_model(model)
        self.model.eval()
        tok = self.model.tokenizer
        assert tok is not None
        self.tok = tok
        self.as_name = self._name(as_name if as_name is not None else self.model.default_as, "--as")
        self.reply_as = self._name(reply_as if reply_as is not None else self.model.default_reply_as, "--reply_as")
        self.sampling = Sampling(temperature, top_k, top_p, repetition_penalty)
        if max_new_tokens < 1:
            raise ValueError(f"expected max_new_tokens >= 1, got {max_new_tokens}")
        self.max_new_tokens = max_new_tokens
        self.carry_state = carry_state
        self.generator = torch.Generator()
        self.generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))
        self._ban = torch.tensor([tok.token_id(s) for s in (UNK, BOS, SAYS)])
        self.reset()

    # ---- settings ------------------------------------------------------------------------------------------
    def _name(self, name: str, flag: str) -> str:
        if not isinstance(name, str) or not name.strip() or ":" in name or "\n" in name:
            raise ValueError(f"expected {flag} to be a speaker's name (one line, no ':'), got {name!r}")
        self._encode(name.strip(), f"{flag} {name.strip()!r}")
        return name.strip()

    def _encode(self, text: str, what: str) -> list[int]:
        try:
            return encode_prompt(self.tok, text)
        except ValueError as err:
            raise ValueError(str(err).replace("the prompt", what, 1)) from None

    @property
    def temperature(self) -> float:
        return self.sampling.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        s = self.sampling
        self.sampling = Sampling(float(value), s.top_k, s.top_p, s.repetition_penalty)

    @property
    def turns(self) -> int:
        """Turns so far (yours and the model's)."""
        return len(self.transcript)

    # ---- the conversation ----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the conversation: a fresh state and an empty transcript."""
        self.state: Any = None
        self.transcript: list[tuple[str, str]] = []
        self._history: list[int] = []  # carry_state=False: every token so far, re-read each turn

    def reply(self, message: str) -> str:
        """Your ``message`` in, the model's reply out (the text only)."""
        return "".join(self.stream(message))

    def stream(self, message: str) -> Generator[str, None, None]:
        """Yield the reply to ``message`` piece by piece as it is sampled. The message is checked (and an error
        raised) before anything is yielded; stopping early still closes the turn, so the state stays consistent."""
        if not isinstance(message, str) or not message.strip():
            raise ValueError("expected a non-empty message")
        message = message.strip()
        self._encode(message, "the message")
        prompt = [] if self.transcript or self._history else [self.tok.token_id(BOS)]
        prompt += turn_ids(self.tok, self.as_name, message) + turn_ids(self.tok, self.reply_as, None)
        self.transcript.append((self.as_name, message))
        return self._replying(prompt)

    @torch.no_grad()
    def _replying(self, prompt: list[int]) -> Generator[str, None, None]:
        model, eot = self.model, self.model.eot_id
        device = next(model.parameters()).device
        if self.carry_state:
            logits, state = model(torch.tensor([prompt], device=device), self.state)  # (1, T, V)
        else:  # the comparison: re-read everything said so far, from a fresh state
            self._history += prompt
            logits, state = model(torch.tensor([self._history], device=device), None)
        logits = logits[:, -1]  # (1, V)
        ids: list[int] = []
        emitted = 0
        seen = torch.zeros_like(logits, dtype=torch.bool) if self.sampling.repetition_penalty != 1.0 else None
        try:
            for _ in range(self.max_new_tokens):
                logits = logits.index_fill(-1, self._ban.to(device), float("-inf"))
                token = sample_next(logits, self.sampling, seen, self.generator)  # (1,)
                if int(token) == eot:
                    break
                ids.append(int(token))
                if seen is not None:
                    seen[0, token] = True
                logits, state = model.step(token, state)
                text = self.tok.decode(ids)
                if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
                    yield text[emitted:]
                    emitted = len(text)
        finally:  # close the turn, even if the caller stopped reading (Ctrl-C)
            _, state = model.step(torch.tensor([eot], device=device), state)
            text = self.tok.decode(ids)
            self.transcript.append((self.reply_as, text))
            if self.carry_state:
                self.state = state
            else:
                self._history += [*ids, eot]
        if len(text) > emitted:
            yield text[emitted:]

    # ---- saving the conversation ---------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Which model a state belongs to: a hash of its config and of its output bias."""
        config = json.dumps(self.model.model_config(), sort_keys=True).encode()
        bias = self.model.head.bias.detach().cpu().float().numpy().tobytes()
        return hashlib.sha256(config + bias).hexdigest()[:16]

    def save(self, path: str | Path) -> Path:
        """Write the conversation to ``path``: the recurrent state as safetensors, the transcript and the
        settings as JSON in its metadata (written atomically; nothing is pickled)."""
        path = Path(path)
        tensors: dict[str, Tensor] = {}
        if isinstance(self.state, Tensor):
            tensors["h"] = self.state.contiguous()  # (L, 1, H)
        elif self.state is not None:
            tensors["h"], tensors["c"] = (s.contiguous() for s in self.state)
        meta = {
            "format": STATE_FORMAT,
            "version": 1,
            "model": self.fingerprint(),
            "as": self.as_name,
            "reply_as": self.reply_as,
            "temperature": self.temperature,
            "transcript": self.transcript,
        }
        blob = save_tensors({k: v.cpu() for k, v in tensors.items()}, metadata={"rnnkit": json.dumps(meta)})
        with atomic_write(path) as f:
            f.write(blob)
        return path

    def load(self, path: str | Path) -> ChatSession:
        """Continue the conversation saved by :meth:`save` (with the same model)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file; give a conversation saved with /save (or session.save)")
        raw = path.read_bytes()
        try:
            tensors = load_tensors(raw)
            meta = _metadata(raw)
        except (SafetensorError, ValueError, KeyError, json.JSONDecodeError):
            raise ValueError(
                f"{path}: not a conversation saved by rnnkit (expected a safetensors file written by /save)"
            ) from None
        if meta["model"] != self.fingerprint():
            raise ValueError(
                f"{path}: saved from another model; a conversation's state only means something to the model "
                "that wrote it (load it with that model)"
            )
        device = next(self.model.parameters()).device
        state = [tensors[k].to(device) for k in ("h", "c") if k in tensors]
        self.reset()
        self.state = None if not state else state[0] if len(state) == 1 else tuple(state)
        self.transcript = [(str(s), str(t)) for s, t in meta["transcript"]]
        self.as_name, self.reply_as, self.temperature = meta["as"], meta["reply_as"], meta["temperature"]
        if not self.carry_state and self.transcript:  # the comparison keeps tokens, not a state
            self._history = [self.tok.token_id(BOS)]
            for speaker, text in self.transcript:
                self._history += turn_ids(self.tok, speaker, text)
            self.state = None
        return self


def _metadata(raw: bytes) -> dict[str, Any]:
    """The rnnkit metadata of a safetensors blob (header: 8-byte length, then JSON)."""
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["rnnkit"])
    if meta.get("format") != STATE_FORMAT:
        raise ValueError("not a chat state")
    return meta
