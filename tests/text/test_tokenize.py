"""Tokenisers: round trips, unknown tokens, saving in the config, and the file-reading errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.text.tokenize import UNK_TEXT, build_tokenizer, read_text, tokenizer_from_config

CORPUS = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak. Ça va? 日本語 🙂\n"


@pytest.mark.parametrize("level", ["char", "word", "bpe"])
def test_round_trip_on_training_text(level: str) -> None:
    tok = build_tokenizer(level, CORPUS, vocab_size=300 if level == "bpe" else None)
    assert tok.decode(tok.encode(CORPUS)) == CORPUS


@pytest.mark.parametrize("level", ["char", "word", "bpe"])
def test_config_round_trip_through_json(level: str) -> None:
    tok = build_tokenizer(level, CORPUS, vocab_size=300 if level == "bpe" else None)
    again = tokenizer_from_config(json.loads(json.dumps(tok.to_config())))
    text = "Speak, hear me: any further? Ça 🙂"
    assert again.encode(text) == tok.encode(text)
    assert again.vocab_size == tok.vocab_size
    assert again.decode(again.encode(text)) == tok.decode(tok.encode(text))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_bpe_round_trips_any_unicode(text: str) -> None:
    tok = _bpe()
    assert tok.decode(tok.encode(text)) == text


_BPE = None


def _bpe():  # fitted once for the hypothesis test
    global _BPE
    if _BPE is None:
        _BPE = build_tokenizer("bpe", CORPUS, vocab_size=300)
    return _BPE


def test_unknown_characters_and_words() -> None:
    char = build_tokenizer("char", "abc ")
    assert char.decode(char.encode("abz c")) == f"ab{UNK_TEXT} c"
    word = build_tokenizer("word", "the cat sat")
    assert word.decode(word.encode("the dog sat")) == f"the{UNK_TEXT} sat"
    assert word.encode("the dog")[1] == word.token_id("<unk>")


def test_word_tokens_keep_whitespace_and_punctuation() -> None:
    word = build_tokenizer("word", "Hello,  world!\n\nBye.")  # "  world" is "  " + " world"
    assert word.decode(word.encode("Hello,  world!\n\nBye.")) == "Hello,  world!\n\nBye."
    assert [word.decode([i]) for i in word.encode("Hello, world!")] == ["Hello", ",", " world", "!"]


def test_vocab_size_caps_word_vocabulary() -> None:
    word = build_tokenizer("word", "x a a a b b c", vocab_size=3)
    assert word.vocab_size == 3  # <unk> + the two most frequent: " a", " b"
    assert word.decode(word.encode(" a b c")) == f" a b{UNK_TEXT}"


def test_unknown_level() -> None:
    with pytest.raises(ValueError) as err:
        build_tokenizer("sentencepiece", "abc")
    assert str(err.value) == "expected --level to be one of char, word, bpe, got 'sentencepiece'"


def test_read_text_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ValueError) as err:
        read_text(path)
    assert str(err.value) == (
        f"{path}: not valid UTF-8 (byte 0xe9 at offset 3); "
        f"convert it first, e.g. iconv -f latin1 -t utf-8 {path} > latin1.utf8.txt"
    )


def test_read_text_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(" \n\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_text(path)
    assert (
        str(err.value) == f"{path}: the file is empty (or only whitespace); give a UTF-8 text file with some text in it"
    )


def test_read_text_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        read_text(tmp_path / "nope.txt")
    assert str(err.value) == f"{tmp_path / 'nope.txt'}: no such file; give the path of a UTF-8 text file"


def test_read_text_drops_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfhi")
    assert read_text(path) == "hi"
