"""Ctrl-C loses nothing: a real `rnnkit text train` / `text chat-train` / `text classify-train` / `translate train`
process gets SIGINT mid-run, prints one line, exits 130 with the best model exported; `--resume` then ends where an
uninterrupted run ends. A re-run into a folder that holds a finished run is refused, never silently overwritten."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.train import load_model

Interrupt = Callable[..., int]

LM_TEXT = "".join(f"line {i % 7}: to be or not to be, that is the question.\n" for i in range(60))
LM_FLAGS = ["--embed_size", "8", "--hidden_size", "16", "--num_layers", "1", "--bptt", "16", "--batch_size", "4"]
LM_FLAGS += ["--val_every", "20", "--threads", "1", "--quiet", "true", "--seed", "1"]
PAIRS = [("I am cold.", "J'ai froid."), ("You are late.", "Tu es en retard."), ("He is tall.", "Il est grand."),
         ("We are here.", "Nous sommes ici."), ("She is happy.", "Elle est heureuse."),
         ("They left.", "Ils sont partis."), ("I am here.", "Je suis ici."), ("You are tall.", "Tu es grand."),
         ("We left.", "Nous sommes partis."), ("He is late.", "Il est en retard.")]  # fmt: skip
TR_FLAGS = ["--embed_size", "8", "--hidden_size", "8", "--batch_size", "2", "--test_fraction", "0.2"]
TR_FLAGS += ["--val_fraction", "0.15", "--threads", "1", "--quiet", "true", "--early_stopping", "null"]


def _interrupted_resumed_and_straight(args: list[str], tmp_path: Path, interrupt: Interrupt) -> tuple[dict, dict]:
    """Interrupt ``rnnkit ARGS`` (checked by the fixture), resume it in-process, run it uninterrupted: the weights
    must be equal to the last bit; returns the two runs' metrics.json."""
    out, straight = tmp_path / "run", tmp_path / "straight"
    step = interrupt(args, out)
    assert step > 0
    assert main([*args, "--out", str(out), "--resume", "true"]) == 0
    assert main([*args, "--out", str(straight)]) == 0
    wa, wb = load_model(out / "model").state_dict(), load_model(straight / "model").state_dict()
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], rtol=0, atol=0, msg=name)
    resumed = json.loads((out / "metrics.json").read_text())
    assert "interrupted" not in resumed
    return resumed, json.loads((straight / "metrics.json").read_text())


def test_text_train_interrupted_then_resumed_equals_uninterrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], interrupt_cli: Interrupt
) -> None:
    data = tmp_path / "corpus.txt"
    data.write_text(LM_TEXT, encoding="utf-8")
    args = ["text", "train", "--data", str(data), *LM_FLAGS, "--max_steps", "120"]
    resumed, straight = _interrupted_resumed_and_straight(args, tmp_path, interrupt_cli)
    assert resumed["val_loss"] == straight["val_loss"]

    capsys.readouterr()
    out = tmp_path / "run"
    assert main([*args, "--out", str(out)]) == 2  # the same command again: refused, nothing overwritten
    assert capsys.readouterr().err == (
        f"rnnkit text train: error: --out {out} holds a finished run (metrics.json); "
        "continue it with --resume or choose another --out\n"
    )


def test_translate_train_interrupted_then_resumed_equals_uninterrupted(
    tmp_path: Path, interrupt_cli: Interrupt
) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 3), encoding="utf-8")
    args = ["translate", "train", "--pairs", str(pairs), *TR_FLAGS, "--epochs", "12"]
    resumed, straight = _interrupted_resumed_and_straight(args, tmp_path, interrupt_cli)
    assert (resumed["bleu"], resumed["chrf"]) == (straight["bleu"], straight["chrf"])


def test_text_classify_train_interrupted_then_resumed_equals_uninterrupted(
    tmp_path: Path, interrupt_cli: Interrupt
) -> None:
    rows = [("what a great film", "pos"), ("truly wonderful acting", "pos"), ("awful and boring", "neg"),
            ("a terrible waste of time", "neg"), ("great fun, loved it", "pos"),
            ("boring, awful plot", "neg")]  # fmt: skip
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows * 8), encoding="utf-8")
    test.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows), encoding="utf-8")
    args = ["text", "classify-train", "--train", str(train), "--test", str(test), "--embed_size", "8"]
    args += ["--hidden_size", "8", "--batch_size", "4", "--epochs", "60", "--early_stopping", "null"]
    args += ["--threads", "1", "--quiet", "true", "--seed", "1"]
    resumed, straight = _interrupted_resumed_and_straight(args, tmp_path, interrupt_cli)
    assert (resumed["accuracy"], resumed["confusion"]) == (straight["accuracy"], straight["confusion"])


def test_text_chat_train_interrupted_then_resumed_equals_uninterrupted(
    tmp_path: Path, interrupt_cli: Interrupt
) -> None:
    play = tmp_path / "play.txt"
    play.write_text("\n\n\n".join(f"A:\nhello {i % 5}.\n\nB:\nhi {i % 5}, how are you?\n" for i in range(40)))
    args = ["text", "chat-train", "--data", str(play), *LM_FLAGS, "--max_steps", "120"]
    resumed, straight = _interrupted_resumed_and_straight(args, tmp_path, interrupt_cli)
    assert resumed["memory"] == straight["memory"]
