"""Tokenisers: characters, words and byte-level BPE, saved as JSON inside the model's config.

Every tokeniser maps text to integer ids and back, reserves the special tokens it was built with (``<unk>`` always,
plus ``<pad>``, ``<bos>``, ``<eos>`` for sequence-to-sequence) at the lowest ids, and round-trips with
``to_config()`` / :func:`tokenizer_from_config`.

- ``char``: one id per Unicode code point seen in training; unseen characters become ``<unk>``.
- ``word``: words, single punctuation marks and whitespace runs, a leading single space glued to the word that
  follows it (``" the"``), as GPT-2's pre-tokeniser does, so ``decode(encode(text)) == text`` for known words.
- ``bpe``: byte-level BPE trained with the ``tokenizers`` library; any UTF-8 text round-trips, nothing is unknown.

>>> tok = build_tokenizer("char", "hello world")
>>> tok.decode(tok.encode("hello")) == "hello"
True
>>> tok.decode(tok.encode("hex!"))  # 'x' and '!' were never seen
'he\\ufffd\\ufffd'
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<bos>", "<eos>"
UNK_TEXT = "\ufffd"  # how an unknown token is written back (the Unicode replacement character)
LEVELS = ("char", "word", "bpe")
WORD_PATTERN = re.compile(r" ?\w+| ?[^\w\s]|\s+(?!\S)|\s+")


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file; a clear ValueError for empty or non-UTF-8 files, FileNotFoundError if missing.

    A UTF-8 byte-order mark is dropped and Windows line ends are kept as they are.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; give the path of a UTF-8 text file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            f"convert it first, e.g. iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8{path.suffix}"
        ) from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty (or only whitespace); give a UTF-8 text file with some text in it")
    return text


class Tokenizer(Protocol):
    """What the models need from a tokeniser."""

    level: str
    specials: tuple[str, ...]

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def token_id(self, token: str) -> int: ...

    def to_config(self) -> dict[str, Any]: ...


class VocabTokenizer:
    """A tokeniser with an explicit vocabulary (char and word levels): specials first, then tokens."""

    def __init__(self, level: str, tokens: Sequence[str], specials: Sequence[str] = (UNK,), lower: bool = False):
        if level not in ("char", "word"):
            raise ValueError(f"expected level 'char' or 'word' for a vocabulary tokenizer, got {level!r}")
        if UNK not in specials:
            raise ValueError(f"expected {UNK!r} among the special tokens, got {list(specials)}")
        self.level = level
        self.specials = tuple(specials)
        self.lower = lower
        self.itos: list[str] = [*self.specials, *(t for t in tokens if t not in self.specials)]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.unk_id = self.stoi[UNK]

    @classmethod
    def fit(
        cls,
        level: str,
        text: str | Iterable[str],
        specials: Sequence[str] = (UNK,),
        max_vocab: int | None = None,
        min_freq: int = 1,
        lower: bool = False,
    ) -> VocabTokenizer:
        """Build the vocabulary from ``text`` (a string or an iterable of strings): most frequent first."""
        counts: Counter[str] = Counter()
        for chunk in [text] if isinstance(text, str) else text:
            counts.update(_split(level, chunk.lower() if lower else chunk))
        ranked = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        if max_vocab is not None:
            ranked = ranked[: max(0, max_vocab - len(specials))]
        if level == "char":
            ranked.sort()  # a stable, readable order; the frequency cut above already happened
        return cls(level, ranked, specials, lower)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def token_id(self, token: str) -> int:
        if token not in self.stoi:
            raise ValueError(f"token {token!r} is not in the vocabulary (specials: {list(self.specials)})")
        return self.stoi[token]

    def encode(self, text: str) -> list[int]:
        if self.lower:
            text = text.lower()
        return [self.stoi.get(t, self.unk_id) for t in _split(self.level, text)]

    def decode(self, ids: Iterable[int]) -> str:
        parts = []
        for i in ids:
            token = self.itos[int(i)]
            if token == UNK:
                parts.append(UNK_TEXT)
            elif token not in self.specials:
                parts.append(token)
        return "".join(parts)

    def to_config(self) -> dict[str, Any]:
        n = len(self.specials)
        return {"level": self.level, "specials": list(self.specials), "lower": self.lower, "tokens": self.itos[n:]}


class BPETokenizer:
    """Byte-level BPE from the ``tokenizers`` library: every UTF-8 string round-trips, nothing is unknown."""

    level = "bpe"

    def __init__(self, tokenizer: Any, specials: Sequence[str]):
        self._tok = tokenizer
        self.specials = tuple(specials)
        self._special_ids = {self._tok.token_to_id(s) for s in self.specials}

    @classmethod
    def fit(cls, text: str | Iterable[str], vocab_size: int = 2000, specials: Sequence[str] = (UNK,)) -> BPETokenizer:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        tok = HFTokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(specials),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        chunks = [text] if isinstance(text, str) else list(text)
        # Feed lines, not one giant string: the pre-tokeniser and the trainer work per input.
        tok.train_from_iterator((line for chunk in chunks for line in chunk.splitlines(keepends=True)), trainer)
        return cls(tok, specials)

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size())

    def token_id(self, token: str) -> int:
        i = self._tok.token_to_id(token)
        if i is None:
            raise ValueError(f"token {token!r} is not in the vocabulary (specials: {list(self.specials)})")
        return int(i)

    def encode(self, text: str) -> list[int]:
        # One call per line keeps the pre-tokeniser's work linear on big files (identical ids: byte-level BPE
        # never merges across a newline, which the pre-tokeniser isolates).
        if len(text) < 100_000:
            return list(self._tok.encode(text, add_special_tokens=False).ids)
        lines = text.splitlines(keepends=True)
        return [i for enc in self._tok.encode_batch(lines, add_special_tokens=False) for i in enc.ids]

    def decode(self, ids: Iterable[int]) -> str:
        return str(self._tok.decode([int(i) for i in ids if int(i) not in self._special_ids]))

    def to_config(self) -> dict[str, Any]:
        return {"level": "bpe", "specials": list(self.specials), "tokenizer": json.loads(self._tok.to_str())}


def build_tokenizer(
    level: str,
    text: str | Iterable[str],
    *,
    vocab_size: int | None = None,
    min_freq: int = 1,
    specials: Sequence[str] = (UNK,),
    lower: bool = False,
) -> Tokenizer:
    """Fit a tokeniser of ``level`` ('char', 'word' or 'bpe') on ``text``.

    ``vocab_size`` caps the vocabulary (specials included); BPE needs it (default 2000).
    """
    if level not in LEVELS:
        raise ValueError(f"expected --level to be one of {', '.join(LEVELS)}, got {level!r}")
    if level == "bpe":
        if lower:
            raise ValueError("lower=True is not supported for bpe; lowercase the text before training instead")
        return BPETokenizer.fit(text, vocab_size or 2000, specials)
    return VocabTokenizer.fit(level, text, specials, vocab_size, min_freq, lower)


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokeniser from ``tokenizer.to_config()``."""
    level = config.get("level")
    if level == "bpe":
        from tokenizers import Tokenizer as HFTokenizer

        return BPETokenizer(HFTokenizer.from_str(json.dumps(config["tokenizer"])), config["specials"])
    if level in ("char", "word"):
        return VocabTokenizer(level, config["tokens"], config["specials"], config.get("lower", False))
    raise ValueError(f"unknown tokenizer level {level!r} in the model config; expected one of {', '.join(LEVELS)}")


def unknown_tokens(tok: Tokenizer, text: str) -> list[str]:
    """The distinct pieces of ``text`` (characters or words) that ``tok`` would turn into ``<unk>``, in order.

    >>> unknown_tokens(build_tokenizer("word", "the cat sat"), "the dog sat, the dog")
    [' dog', ',', ' the']
    """
    stoi = getattr(tok, "stoi", None)
    if stoi is None:  # byte-level BPE: nothing is unknown
        return []
    if getattr(tok, "lower", False):
        text = text.lower()
    return list(dict.fromkeys(t for t in _split(tok.level, text) if t not in stoi))


def _split(level: str, text: str) -> list[str]:
    return list(text) if level == "char" else WORD_PATTERN.findall(text)
