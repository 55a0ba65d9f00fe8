"""A conversation whose memory is the recurrent state: what it remembers (measured on held-out replies and seen in
replies), that it never re-reads the history, and that a saved conversation comes back whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import rnnkit
from rnnkit.text.chat import Chatbot, ChatModel, ChatSession
from rnnkit.text.chat.session import chat_model


def test_held_out_replies_are_better_predicted_with_the_conversation_carried(chat_run: Path) -> None:
    """In the test play a reply repeats a name said one or three turns earlier: the carried state predicts it,
    a state that saw only the previous turn predicts half of them, a fresh state none (figures of metrics.json)."""
    memory = json.loads((chat_run / "metrics.json").read_text())["memory"]
    carried, previous, fresh = (memory[k]["perplexity"] for k in ("carried", "previous_turn", "fresh"))
    assert carried < previous - 0.05, memory
    assert previous < fresh - 0.1, memory
    assert memory["reply_tokens"] > 500


def test_the_session_remembers_what_was_said(chat_run: Path) -> None:
    session = ChatSession(chat_run, temperature=0)
    assert (session.as_name, session.reply_as) == ("ALICE", "BOT")  # the training data's defaults
    assert session.reply("i am eve.") == "hi eve."
    assert session.reply("bye.") == "bye eve."  # the name was said three turns ago
    session.reset()
    assert session.reply("i am gus.") == "hi gus."
    assert ChatSession(rnnkit.load(chat_run), temperature=0).reply("i am gus.") == "hi gus."
    assert session.transcript == [("ALICE", "i am gus."), ("BOT", "hi gus.")]


def test_carried_state_gives_the_replies_of_rereading_everything_but_reads_only_the_new_tokens(chat_run: Path) -> None:
    messages = ["i am ivy.", "bye.", "i am bob.", "bye.", "i am jo.", "bye."]
    replies, read = {}, {}
    for carry in (True, False):
        session = ChatSession(chat_run, seed=3, temperature=1.0, carry_state=carry)
        lengths: list[int] = []

        def counting(
            ids: torch.Tensor, *args: object, lengths: list[int] = lengths, forward: Any = session.model.forward
        ) -> object:
            lengths.append(ids.shape[1])  # tokens read by this call (a generated token goes through step)
            return forward(ids, *args)

        session.model.forward = counting  # type: ignore[method-assign]
        replies[carry] = [session.reply(m) for m in messages]
        read[carry] = [n for n in lengths if n > 1]  # the prompt of each turn
        del session.model.forward
    assert replies[True] == replies[False]
    assert max(read[True]) <= 1 + len("ALICE") + 1 + len("i am ivy.") + 1 + len("BOT") + 1  # one turn's prompt
    assert read[False] == sorted(read[False]) and read[False][-1] > 4 * read[True][-1]  # the whole history


def test_a_saved_conversation_continues_where_it_stopped(chat_run: Path, tmp_path: Path) -> None:
    first = ChatSession(chat_run, temperature=0)
    assert first.reply("i am finn.") == "hi finn."
    path = first.save(tmp_path / "talk.safetensors")
    second = ChatSession(chat_run, temperature=0.5).load(path)
    assert second.transcript == first.transcript and second.temperature == 0
    for a, b in zip(first.state, second.state):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert second.reply("bye.") == "bye finn."
    rereading = ChatSession(chat_run, temperature=0, carry_state=False).load(path)
    assert rereading.reply("bye.") == "bye finn."


def test_loading_something_else_is_refused_in_one_line(chat_run: Path, tmp_path: Path) -> None:
    session = ChatSession(chat_run)
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(ValueError) as err:
        session.load(junk)
    assert (
        str(err.value) == f"{junk}: not a conversation saved by rnnkit (expected a safetensors file written by /save)"
    )
    trained = chat_model(chat_run)
    other = ChatModel.from_model_config(trained.model_config())  # same shapes, other weights
    path = ChatSession(other).save(tmp_path / "other.safetensors")
    with pytest.raises(ValueError) as err:
        session.load(path)
    assert str(err.value) == (
        f"{path}: saved from another model; a conversation's state only means something to the model that wrote "
        "it (load it with that model)"
    )
    with pytest.raises(FileNotFoundError, match="no such file; give a conversation saved with /save"):
        session.load(tmp_path / "missing.safetensors")


def test_unknown_characters_and_names_are_refused_before_anything_is_said(chat_run: Path) -> None:
    session = ChatSession(chat_run)
    with pytest.raises(ValueError) as err:
        session.reply("I am Zed!")
    assert str(err.value) == (
        "the message has characters the model never saw in training: 'Z' (U+005A), '!' (U+0021); remove or replace "
        "them (the model knows 28 characters)"
    )
    assert session.turns == 0
    with pytest.raises(ValueError, match="expected --as to be a speaker's name"):
        ChatSession(chat_run, as_name="A: B")
    with pytest.raises(ValueError, match="--reply_as 'ROMEO' has characters the model never saw"):
        ChatSession(chat_run, reply_as="ROMEO")


def test_a_reply_stopped_early_still_closes_the_turn(chat_run: Path, tmp_path: Path) -> None:
    """The state after a reply cut short is the state of a conversation in which that turn ended there."""
    session = ChatSession(chat_run, temperature=0)
    pieces = session.stream("i am dan.")
    assert next(pieces) == "h"
    pieces.close()  # the reader stopped (Ctrl-C in the terminal)
    assert session.transcript == [("ALICE", "i am dan."), ("BOT", "h")]
    rereading = ChatSession(chat_run, temperature=0, carry_state=False).load(session.save(tmp_path / "cut"))
    assert session.reply("bye.") == rereading.reply("bye.")
    assert session.turns == 4


def test_python_api_fits_pairs_and_loads_from_its_folder(tmp_path: Path) -> None:
    pairs = [("hello", "hi there"), ("how are you", "well, thank you")] * 30
    bot = Chatbot(embed_size=8, hidden_size=16, num_layers=1, bptt=16, batch_size=4, max_steps=20, quiet=True)
    bot.fit(pairs, out=tmp_path / "run")
    loaded = Chatbot.load(tmp_path / "run")
    assert loaded.fitted.speakers == ["user", "assistant"]
    assert (loaded.fitted.default_as, loaded.fitted.default_reply_as) == ("user", "assistant")
    a = loaded.session(seed=1).reply("hello")
    assert a == bot.session(seed=1).reply("hello")
    with pytest.raises(TypeError, match=r"item 0 of the dialogue should be a \(message, reply\) pair"):
        Chatbot().fit([("only one",)])
