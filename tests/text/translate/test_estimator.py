"""Translator (the Python API) against `rnnkit translate ...` (the CLI over it), and the rough edges of issue 14."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.text import Translator
from rnnkit.text.translate.cli import TranslateRunConfig
from rnnkit.text.translate.model import Seq2Seq

PAIRS = [
    ("I am cold.", "J'ai froid."),
    ("You are late.", "Tu es en retard."),
    ("He is tall.", "Il est grand."),
    ("We are here.", "Nous sommes ici."),
    ("She is happy.", "Elle est heureuse."),
    ("They left.", "Ils sont partis."),
    ("I am here.", "Je suis ici."),
    ("You are tall.", "Tu es grand."),
]
SETTINGS = {"embed_size": 8, "hidden_size": 8, "batch_size": 8, "max_steps": 6, "test_fraction": 0.25}
SETTINGS |= {"val_fraction": 0.2, "attention": "dot", "seed": 2}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("translate")
    (root / "pairs.txt").write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 3), encoding="utf-8")
    flags = [a for k, v in SETTINGS.items() for a in (f"--{k}", str(v))]
    args = ["translate", "train", "--pairs", str(root / "pairs.txt"), "--out", str(root / "run"), "--quiet", "true"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests that compare with it (conftest); float sums depend on it
    try:
        assert main([*args, *flags]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "run"


def test_python_api_equals_cli(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tr = Translator(**SETTINGS, quiet=True).fit(PAIRS * 3)
    cli = Translator.load(run)
    for name, value in tr.fitted.state_dict().items():
        torch.testing.assert_close(value, cli.fitted.state_dict()[name], rtol=0, atol=0, msg=name)
    metrics = json.loads((run / "metrics.json").read_text())
    assert (tr.metrics["bleu"], tr.metrics["val_loss"]) == (metrics["bleu"], metrics["val_loss"])
    capsys.readouterr()
    assert main(["translate", "run", "--model", str(run), "--text", "I am tall.\nWe left."]) == 0
    assert capsys.readouterr().out == "\n".join(tr.translate(["I am tall.", "We left."])) + "\n"


def test_one_set_of_decoding_defaults() -> None:
    """Issue 14: Seq2Seq.translate was greedy where `translate run` used beam 5."""
    cli = {f.name: f.default for f in dataclasses.fields(TranslateRunConfig) if f.name in ("beam_width", "max_len")}
    assert cli == {"beam_width": 5, "max_len": 50}
    for fn in (Seq2Seq.translate, Seq2Seq.translate_ids, Translator.translate):
        params = inspect.signature(fn).parameters
        assert {k: params[k].default for k in cli} == cli, fn


def test_run_reads_a_file_or_stdin(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    expected = "\n".join(Translator.load(run).translate(["I am tall.", "We left."])) + "\n"
    (tmp_path / "in.txt").write_text("I am tall.\n\nWe left.\n", encoding="utf-8")
    assert main(["translate", "run", "--model", str(run), "--input", str(tmp_path / "in.txt")]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr("sys.stdin", io.StringIO("I am tall.\nWe left.\n"))
    assert main(["translate", "run", "--model", str(run)]) == 0
    assert capsys.readouterr().out == expected


def test_eval_without_out_writes_beside_the_run(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = run.parent / "pairs.txt"
    assert main(["translate", "eval", "--model", str(run), "--pairs", str(pairs)]) == 0
    assert json.loads((run / "eval" / "pairs" / "metrics.json").read_text())["sentences"] == 2


def test_too_small_for_a_test_split_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: a sacrebleu IndexError after training, and no model saved; now one line before any training."""
    path = tmp_path / "few.txt"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS[:4]), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["translate", "train", "--pairs", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit translate train: error: {path}: 4 distinct source sentences are too few for a test split: "
        "--test_fraction 0.1 holds out round(4 x 0.1) = 0 of them; give at least 6 distinct sources or raise "
        "--test_fraction\n"
    )
    assert not (out / "last.ckpt").exists()
    assert main(["translate", "train", "--pairs", str(path), "--out", str(out), "--test_fraction", "0.25"]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit translate train: error: {path}: after the test split, 3 distinct source sentences are too few to "
        "split off a validation set with --val_fraction 0.05 (round(3 x 0.05) = 0); give at least 12 distinct "
        "training sources or change --val_fraction\n"
    )


def test_bad_python_input_says_what_was_expected(run: Path) -> None:
    tr = Translator.load(run)
    assert isinstance(tr.translate("I am tall."), str)
    with pytest.raises(TypeError) as err:
        tr.translate(["I am tall.", None])  # type: ignore[list-item]
    assert str(err.value) == "expected the sentences as a list of str; item 1 is a NoneType: None"
    with pytest.raises(ValueError) as err:
        Translator().fit([("Hi.", "Salut."), ("Go.",)])  # type: ignore[list-item]
    assert str(err.value) == "expected (source, target) pairs of non-empty str; pair 1 is ('Go.',)"
    with pytest.raises(ValueError) as err:
        tr.translate("I am tall.", beam_width=0)
    assert str(err.value) == "expected --beam_width >= 1 (1 = greedy), got 0"
