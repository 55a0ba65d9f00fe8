"""``rnnkit text chat-train|chat|chat-eval``: the interactive session in a real pseudo-terminal, the same session
driven through a pipe, and the one-line errors."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

import rnnkit
from rnnkit.cli import main


def _pipe(monkeypatch: pytest.MonkeyPatch, lines: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))


def test_chat_in_a_real_terminal(chat_run: Path, tmp_path: Path) -> None:
    """Types turns into `rnnkit text chat` under a pseudo-terminal, reads the streamed replies, saves, resets,
    reloads the conversation, and leaves with Ctrl-D (exit status 0)."""
    src = str(Path(rnnkit.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "TERM": "dumb"}
    saved = tmp_path / "talk.safetensors"
    args = ["-m", "rnnkit.cli", "text", "chat", "--model", str(chat_run), "--temperature", "0"]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    try:
        child.expect_exact("Talking as ALICE to BOT. Commands: /reset, /save FILE, /load FILE")
        child.expect_exact("ALICE> ")
        child.sendline("i am eve.")
        child.expect_exact("BOT: hi eve.")
        child.expect_exact("ALICE> ")
        child.sendline(f"/save {saved}")
        child.expect_exact(f"(saved 2 turns to {saved})")
        child.sendline("/reset")
        child.expect_exact("(conversation reset: a fresh state)")
        child.sendline("I am Zed")  # an error is one line, and the session goes on
        child.expect_exact("error: the message has characters the model never saw in training: 'Z' (U+005A)")
        child.sendline(f"/load {saved}")
        child.expect_exact(f"(loaded 2 turns from {saved})")
        child.sendline("bye.")
        child.expect_exact("BOT: bye eve.")
        child.sendline("/temperature 0.7")
        child.expect_exact("(temperature 0.7)")
        child.expect_exact("ALICE> ")
        child.sendeof()  # Ctrl-D
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert saved.is_file()


def test_chat_reads_turns_from_a_pipe_and_prints_the_conversation(
    chat_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "talk.safetensors"
    _pipe(monkeypatch, f"i am ivy.\n/save {saved}\n/reset\n\n/load {saved}\nbye.\n/quit\nnever read.\n")
    out = tmp_path / "session"
    assert main(["text", "chat", "--model", str(chat_run), "--as", "ALICE", "--reply-as", "BOT",
                 "--temperature", "0", "--out", str(out)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out == "ALICE: i am ivy.\nBOT: hi ivy.\nALICE: bye.\nBOT: bye ivy.\n"
    assert "(loaded 2 turns from" in captured.err
    assert (out / "transcript.txt").read_text() == captured.out
    assert json.loads((out / "config.json").read_text())["as_name"] == "ALICE"
    _pipe(monkeypatch, "bye.\n")
    assert main(["text", "chat", "--model", str(chat_run), "--state", str(saved), "--temperature", "0"]) == 0
    assert capsys.readouterr().out == "ALICE: bye.\nBOT: bye ivy.\n"  # --state continues the saved conversation


@pytest.mark.parametrize(
    "lines, message",
    [
        ("i am Zed.\n", "the message has characters the model never saw in training: 'Z' (U+005A); remove or replace "
         "it (the model knows 28 characters)"),
        ("/load\n", "expected a file after /load, e.g. /load conversation.safetensors"),
        ("/temperature hot\n", "expected /temperature X with X a number >= 0 (0 = greedy), got 'hot'"),
        ("/nap\n", "unknown command /nap; commands: /reset, /save FILE, /load FILE, /temperature X, /quit (or Ctrl-D)"),
    ],
)  # fmt: skip
def test_a_bad_line_from_a_pipe_ends_in_one_line_and_exit_2(
    chat_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: str, message: str
) -> None:
    _pipe(monkeypatch, lines)
    assert main(["text", "chat", "--model", str(chat_run)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"rnnkit text chat: error: {message}"


def test_chat_train_and_eval_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], play: Callable[..., str]
) -> None:
    data = tmp_path / "play.txt"
    data.write_text(play(30), encoding="utf-8")
    out = tmp_path / "run"
    flags = ["--embed_size", "8", "--hidden_size", "16", "--num_layers", "1", "--bptt", "16", "--batch_size", "4"]
    assert main(["text", "chat-train", "--data", str(data), "--out", str(out), *flags, "--max_steps", "10",
                 "--threads", "1", "--seed", "0"]) == 0  # fmt: skip
    summary = capsys.readouterr().out
    assert "held-out reply perplexity" in summary and "from a fresh state" in summary
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["memory"]) == {"carried", "previous_turn", "fresh", "reply_tokens", "first_tokens"}
    assert json.loads((out / "config.json").read_text())["loss_on"] == "replies"
    assert metrics["chosen"]["why"] == "bptt 16: given; batch_size 4: given"
    assert main(["text", "chat-eval", "--model", str(out), "--data", str(data)]) == 0
    evaluated = json.loads((out / "eval" / "play" / "metrics.json").read_text())
    assert evaluated["reply_tokens"] > metrics["memory"]["reply_tokens"]  # the whole file, not the held-out part
    assert "reply perplexity over" in capsys.readouterr().out
    assert main(["text", "chat-eval", "--model", str(out), "--data", str(data), "--val_fraction", "0.1"]) == 0
    held_out = json.loads((out / "eval" / "play" / "metrics.json").read_text())
    assert held_out["reply_tokens"] == metrics["memory"]["reply_tokens"]  # what chat-train held out
    assert held_out["carried"]["loss"] == pytest.approx(metrics["memory"]["carried"]["loss"], rel=1e-5)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("pairs.csv", "question,answer\na,b\n", "pairs.csv: expected a header with the columns message,reply"),
        ("talk.jsonl", '{"message": "hi", "reply": "yo"}\n{oops}\n', "talk.jsonl:2: not valid JSON"),
        ("play.txt", "ROMEO:\nhi\n\nno speaker here\n", "play.txt:4: expected a speaker line such as 'ROMEO:'"),
    ],
)
def test_bad_dialogue_files_end_in_one_line_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, message: str
) -> None:
    data = tmp_path / name
    data.write_text(content, encoding="utf-8")
    assert main(["text", "chat-train", "--data", str(data), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rnnkit text chat-train: error: {tmp_path / message.split(':')[0]}") and message in err
    assert len(err.strip().splitlines()) == 1


def test_chat_train_offers_only_the_flags_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    """chat-train holds out whole turns: the language model's --val_blocks is not one of its flags (text train
    keeps it), and a user who passes it is told so in one line."""
    assert main(["text", "chat-train", "--val_blocks", "3", "--data", "x.txt"]) == 2
    error = "rnnkit text chat-train: error: unknown flag --val_blocks: this command does not use it"
    assert capsys.readouterr().err.splitlines()[-1] == error
    with pytest.raises(SystemExit):
        main(["text", "chat-train", "--help"])
    chat_help = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["text", "train", "--help"])
    assert "--val_fraction" in chat_help and "last turns" in chat_help
    assert "--val_blocks" not in chat_help and "--val_blocks" in capsys.readouterr().out
