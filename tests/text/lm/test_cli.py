"""`rnnkit text ...` end to end on a tiny text, in-process through rnnkit.cli.main."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rnnkit.cli import main

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n" * 6
TINY = ["--embed_size", "8", "--hidden_size", "16", "--num_layers", "1", "--bptt", "16", "--batch_size", "4"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text")
    data = root / "tiny.txt"
    data.write_text(TEXT, encoding="utf-8")
    out = root / "run"
    args = ["text", "train", "--data", str(data), "--out", str(out), *TINY, "--max_steps", "12", "--val_every", "4"]
    assert main([*args, "--quiet", "true"]) == 0
    return out


def test_train_writes_model_metrics_and_config(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["steps"] == [12] and metrics["stopped_reason"] == ["max_steps"]
    # char level: bits per char and perplexity follow from the loss in nats per char
    assert metrics["val_bpc"] == pytest.approx(metrics["val_loss"] / math.log(2), rel=1e-4)
    assert metrics["val_perplexity"] == pytest.approx(math.exp(metrics["val_loss"]), rel=1e-4)
    assert (trained / "model" / "config.json").is_file() and (trained / "model" / "model.safetensors").is_file()
    config = json.loads((trained / "config.json").read_text())
    assert config["level"] == "char" and config["hidden_size"] == 16


def test_generate_streams_and_seed_reproduces(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["text", "generate", "--model", str(trained), "--prompt", "ROMEO:", "--max_new_tokens", "40"]
    assert main([*args, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("ROMEO:") and len(first) > len("ROMEO:")
    assert main([*args, "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    assert main([*args, "--seed", "3", "--num_samples", "2", "--top_p", "0.9", "--top_k", "5"]) == 0
    assert capsys.readouterr().out.count("--- sample") == 2
    assert main([*args, "--beam_width", "3", "--out", str(trained / "gen")]) == 0
    assert json.loads((trained / "gen" / "metrics.json").read_text())["new_chars"] > 0


def test_eval_prints_and_writes_metrics(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "eval.txt"
    data.write_text(TEXT, encoding="utf-8")
    assert main(["text", "eval", "--model", str(trained / "model"), "--data", str(data), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) >= {"loss", "perplexity", "bpc"}
    assert f"perplexity {metrics['perplexity']:.3f}" in printed


def test_time_budget_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "t.txt"
    data.write_text(TEXT * 4, encoding="utf-8")
    out = tmp_path / "run"
    budget = ["--time_budget", "0.02", "--val_every", "5", "--quiet", "true"]
    assert main(["text", "train", "--data", str(data), "--out", str(out), *TINY, "--epochs", "1000", *budget]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped_reason"] == ["time_budget"]
    assert (out / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("level", ["word", "bpe"])
def test_train_other_levels(tmp_path: Path, level: str) -> None:
    data = tmp_path / "t.txt"
    data.write_text(TEXT, encoding="utf-8")
    args = ["text", "train", "--data", str(data), "--out", str(tmp_path / "r"), *TINY, "--level", level]
    assert main([*args, "--vocab_size", "300", "--max_steps", "3", "--quiet", "true"]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["level"] == level


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Ça va".encode("latin-1"))
    assert main(["text", "train", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit text train: error: {bad}: not valid UTF-8 (byte 0xc7 at offset 0); "
        f"convert it first, e.g. iconv -f latin1 -t utf-8 {bad} > latin1.utf8.txt\n"
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["text", "train", "--data", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit text train: error: {empty}: the file is empty (or only whitespace); "
        "give a UTF-8 text file with some text in it\n"
    )
    assert main(["text", "train", "--data", str(empty), "--out", "o", "--level", "bytes"]) == 2
    assert (
        capsys.readouterr().err
        == "rnnkit text train: error: expected --level to be one of char, word, bpe, got 'bytes'\n"
    )
    assert main(["text", "generate", "--model", str(tmp_path / "none"), "--prompt", "x"]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit text generate: error: {tmp_path / 'none'}: no saved model (expected {tmp_path / 'none'}/model/"
        f"config.json or {tmp_path / 'none'}/config.json + model.safetensors); "
        "train one with `rnnkit text train --data FILE --out DIR`\n"
    )


def test_training_defaults_are_the_benchmarked_ones() -> None:
    """The defaults benchmarks/lm_defaults.py measured (issue 23); width, dropout and cadence are chosen per run."""
    from rnnkit.text.lm.cli import TextTrainConfig
    from rnnkit.train import TrainConfig

    engine = TextTrainConfig(data="x").engine_config()
    assert engine == TrainConfig(
        epochs=50, batch_size=64, lr=None, weight_decay=0.0, clip_norm=1.0, schedule="wsd", warmup_steps=10,
        early_stopping=10, val_every=None, out="runs/lm",
    )  # fmt: skip
    model = TextTrainConfig(data="x")
    assert (model.level, model.cell, model.embed_size, model.hidden_size, model.num_layers) == (
        "char",
        "lstm",
        64,
        None,
        2,
    )
    assert (model.dropout, model.tie_weights, model.bptt, model.val_fraction, model.val_tokens) == (
        None,
        False,
        128,
        0.1,
        50_000,
    )
