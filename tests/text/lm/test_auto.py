"""The language model's settings chosen from the corpus and the compute (rnnkit.text.lm.auto): the width rule by hand,
the dropout rule, the validation cadence, the probe taken from the time budget, the choice kept for --resume and
recorded in metrics.json and config.json, and validations that read a part of the validation text while the final
figures read all of it."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.text import TextGenerator
from rnnkit.text.lm import auto
from rnnkit.text.lm.data import split_text
from rnnkit.text.lm.fit import LMSettings, prepare

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n" * 6
SMALL = {"embed_size": 8, "num_layers": 1, "bptt": 16, "batch_size": 4}


def test_the_width_nearest_the_tokens_per_parameter_target_is_chosen() -> None:
    settings = LMSettings(**SMALL, max_steps=12_000)
    vocab, train_tokens = 30, 40_000
    tokens = 12_000 * 4 * 16

    def distance(width: int) -> float:
        return abs(math.log(tokens / auto.parameters(settings, vocab, width) / auto.TOKENS_PER_PARAMETER))

    expected = min(auto.WIDTHS, key=distance)
    resolved, chosen = auto.resolve(settings, train_tokens, vocab)
    assert expected not in (auto.WIDTHS[0], auto.WIDTHS[-1])  # the rule, not an end of the range, decides
    assert resolved.hidden_size == expected == chosen["settings"]["hidden_size"]
    assert chosen["compute"] == "max_steps" and chosen["expected_tokens"] == tokens
    assert chosen["expected_passes"] == pytest.approx(tokens / train_tokens)
    assert chosen["expected_passes"] >= auto.DROPOUT_PASSES  # 19.2 passes: the model can memorise its text
    assert resolved.dropout == auto.DROPOUT > 0 and "passes" in chosen["why"]["dropout"]
    assert resolved.lr == auto.lr_for(expected) == chosen["settings"]["lr"]
    assert resolved.val_every == round(12_000 / auto.VALIDATIONS)
    # Less compute: a narrower model; very little: the narrowest.
    narrower, _ = auto.resolve(dataclasses.replace(settings, max_steps=1_200), train_tokens, vocab)
    assert narrower.hidden_size < resolved.hidden_size
    tiny, _ = auto.resolve(dataclasses.replace(settings, max_steps=1), train_tokens, vocab)
    assert tiny.hidden_size == auto.WIDTHS[0]


def test_epochs_are_the_compute_without_a_budget_and_given_values_are_kept() -> None:
    settings = LMSettings(**SMALL, epochs=3)
    resolved, chosen = auto.resolve(settings, 10_000, 30)
    assert chosen["compute"] == "epochs" and chosen["expected_tokens"] == 30_000
    assert resolved.dropout == 0.0  # 3 passes
    given, chosen = auto.resolve(
        dataclasses.replace(settings, hidden_size=48, lr=1e-3, dropout=0.05, val_every=7), 10_000, 30
    )
    assert (given.hidden_size, given.lr, given.dropout, given.val_every) == (48, 1e-3, 0.05, 7)
    assert set(chosen["why"].values()) == {"given"}


def test_the_learning_rate_is_the_peak_up_to_512_units_and_shrinks_as_one_over_width_above() -> None:
    assert [auto.lr_for(h) for h in (128, 256, 512)] == [auto.PEAK_LR] * 3
    assert auto.lr_for(768) == pytest.approx(auto.PEAK_LR * 2 / 3) and auto.lr_for(1024) == auto.PEAK_LR / 2


def test_the_trainer_runs_at_the_chosen_learning_rate(tmp_path: Path) -> None:
    out = _train_tiny(tmp_path, "--max_steps", "4", "--warmup_steps", "0", "--schedule", "constant")
    chosen = json.loads((out / "metrics.json").read_text())["chosen"]["settings"]
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]
    lrs = {e["lr"] for e in events if "lr" in e}
    assert lrs == {chosen["lr"]} and chosen["lr"] == auto.lr_for(chosen["hidden_size"])
    assert json.loads((out / "config.json").read_text())["lr"] == chosen["lr"]


def test_a_time_budget_is_probed_and_the_probe_is_taken_from_it(tmp_path: Path) -> None:
    settings = LMSettings(**SMALL, time_budget=0.5)
    resolved, chosen = auto.resolve(settings, 50_000, 30, run_dir=tmp_path)
    assert chosen["compute"] == "time_budget" and chosen["seconds_per_step"]
    assert str(resolved.hidden_size) in chosen["seconds_per_step"]  # the chosen width was measured
    assert resolved.time_budget == pytest.approx(0.5 - chosen["probe_seconds"] / 60)
    # --resume: the first segment's choice comes back as it was, without a new probe.
    again, same = auto.resolve(settings, 50_000, 30, run_dir=tmp_path)
    assert same == chosen and again == resolved


def _train_tiny(tmp_path: Path, *flags: str) -> Path:
    """``rnnkit text train`` on TEXT * 4 with the SMALL model and ``flags``; returns the run folder."""
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT * 4, encoding="utf-8")
    out = tmp_path / "run"
    args = ["text", "train", "--data", str(data), "--out", str(out), "--quiet", "true", *flags]
    assert main(args + [a for k, v in SMALL.items() for a in (f"--{k}", str(v))]) == 0
    return out


def test_under_a_time_budget_the_default_epochs_do_not_end_the_run(tmp_path: Path) -> None:
    settings = LMSettings(**SMALL, time_budget=0.05)  # --epochs left at its default of 50
    resolved, chosen = auto.resolve(settings, 2_000, 30)
    passes = chosen["expected_passes"]
    assert passes > 50 / auto.EPOCHS_MARGIN  # a small corpus: the budget buys more than 50 / margin passes
    assert resolved.epochs == math.ceil(auto.EPOCHS_MARGIN * passes) > 50
    assert "raised" in chosen["why"]["epochs"]
    kept, chosen = auto.resolve(dataclasses.replace(settings, epochs=7), 2_000, 30)
    assert kept.epochs == 7 and "epochs" not in chosen["why"]
    # End to end: before, a budgeted run on a small text stopped by the default --epochs long before its budget.
    out = _train_tiny(tmp_path, "--time_budget", "0.1", "--early_stopping", "null")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped_reason"] == ["time_budget"] and metrics["train_seconds"] > 0.8 * 6 - 1


def test_the_run_records_its_choice_and_validates_on_a_part(tmp_path: Path) -> None:
    out = _train_tiny(tmp_path, "--max_steps", "6", "--val_tokens", "40")
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    chosen = metrics["chosen"]["settings"]
    assert config["hidden_size"] == chosen["hidden_size"] and config["dropout"] == chosen["dropout"]
    assert config["lr"] == chosen["lr"]
    assert json.loads((out / "chosen.json").read_text()) == metrics["chosen"]
    # The validations read 40 tokens; the final figures are on all of the validation text.
    lm = TextGenerator.load(out)
    val_text = "".join(split_text(TEXT * 4, 0.1, 10)[1])
    full = lm.evaluate(val_text, bptt=16, batch_size=4)  # batched as the validation text is
    assert metrics["val_tokens"] > 40
    assert metrics["val_loss"] == pytest.approx(full["loss"], rel=1e-5)
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]
    assert all(abs(e["val_loss"] - metrics["val_loss"]) > 1e-9 for e in events if "val_loss" in e)


def test_the_validation_text_is_spread_over_the_text_and_every_validation_reads_every_part() -> None:
    text = "".join(f"{i}" * 100 for i in range(10))  # ten parts of 100 characters, each one digit
    train, val = split_text(text, 0.1, 10)
    assert val == [f"{i}" * 10 for i in range(10)] and train == "".join(f"{i}" * 90 for i in range(10))
    assert split_text(text, 0.1, 1) == (text[:900], [text[900:]])  # one block: the end of the text
    data = prepare(LMSettings(**SMALL, val_tokens=30), text)
    assert data.val_all is not None
    assert set(data.tokenizer.decode(data.val.x.flatten().tolist())) == set("0123456789")
    assert data.val_tokens == 100 and data.train_tokens == 900


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--hidden_size", "0", "expected --hidden_size >= 1"),
        ("--dropout", "1.5", "expected --dropout in [0, 1)"),
        ("--val_tokens", "1", "expected --val_tokens >= 2"),
        ("--val_blocks", "0", "expected --val_blocks >= 1, got 0"),
    ],
)
def test_bad_values_get_one_line(flag: str, value: str, expected: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT, encoding="utf-8")
    assert main(["text", "train", "--data", str(data), "--out", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
