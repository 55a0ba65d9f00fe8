"""TextCategorizer (the Python API) against `rnnkit text classify-train|classify-predict` (the CLI over it)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.text import TextCategorizer

ROWS = [("what a great film", "pos"), ("truly wonderful acting", "pos"), ("awful and boring", "neg"),
        ("a terrible waste of time", "neg"), ("great fun, loved it", "pos"), ("boring, awful plot", "neg")]  # fmt: skip
SETTINGS = {"embed_size": 8, "hidden_size": 8, "batch_size": 4, "epochs": 2, "seed": 1}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classify")
    (root / "train.jsonl").write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS * 4))
    (root / "test.csv").write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in ROWS), encoding="utf-8")
    flags = [a for k, v in SETTINGS.items() for a in (f"--{k}", str(v))]
    args = ["text", "classify-train", "--train", str(root / "train.jsonl"), "--test", str(root / "test.csv")]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests that compare with it (conftest); float sums depend on it
    try:
        assert main([*args, "--out", str(root / "run"), "--quiet", "true", *flags]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "run"


def test_python_api_equals_cli(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts, labels = [t for t, _ in ROWS * 4], [y for _, y in ROWS * 4]
    clf = TextCategorizer(**SETTINGS, quiet=True).fit(texts, labels)
    cli = TextCategorizer.load(run)
    for name, value in clf.fitted.state_dict().items():
        torch.testing.assert_close(value, cli.fitted.state_dict()[name], rtol=0, atol=0, msg=name)
    metrics = json.loads((run / "metrics.json").read_text())
    evaluated = clf.evaluate([t for t, _ in ROWS], [y for _, y in ROWS])
    assert {k: evaluated[k] for k in ("accuracy", "macro_f1", "confusion", "labels")} == {
        k: metrics[k] for k in ("accuracy", "macro_f1", "confusion", "labels")
    }
    capsys.readouterr()
    assert main(["text", "classify-predict", "--model", str(run), "--text", "great film\nawful plot"]) == 0
    assert capsys.readouterr().out == "\n".join(clf.predict(["great film", "awful plot"])) + "\n"


def test_predict_verb_reads_text_file_table_or_stdin(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    texts = [t for t, _ in ROWS]
    expected = "\n".join(TextCategorizer.load(run).predict(texts)) + "\n"
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["text", "classify-predict", "--model", str(run), "--input", str(tmp_path / "in.txt")]) == 0
    assert capsys.readouterr().out == expected
    assert main(["text", "classify-predict", "--model", str(run), "--input", str(run.parent / "test.csv")]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts)))
    assert main(["text", "classify-predict", "--model", str(run), "--probabilities", "true"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == expected.split()
    assert all(sum(map(float, line.split("\t")[1:])) == pytest.approx(1, abs=1e-3) for line in lines)


def test_predict_proba_and_int_labels() -> None:
    clf = TextCategorizer(**SETTINGS, quiet=True).fit([t for t, _ in ROWS * 2], [int(y == "pos") for _, y in ROWS * 2])
    assert clf.classes == [0, 1] and set(clf.predict(["great"])) <= {0, 1}
    proba = clf.predict_proba(["great film", "boring"])
    assert proba.shape == (2, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


def test_bad_input_says_what_was_expected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError) as err:
        TextCategorizer().fit(["a", "b"], ["x", "x"])
    assert str(err.value) == "the training data: every row has the label 'x'; a classifier needs at least 2 classes"
    with pytest.raises(ValueError) as err:
        TextCategorizer().fit(["a", "b"], ["x"])
    assert str(err.value) == "the training data: 2 texts but 1 labels; give one label per text"
    with pytest.raises(TypeError) as err:
        TextCategorizer().fit(np.array([1.0, 2.0]), ["x", "y"])  # type: ignore[arg-type]
    assert str(err.value) == "expected the texts as a list of str; item 0 is a float64: np.float64(1.0)"
    one = tmp_path / "one.csv"
    one.write_text("text,label\na,x\nb,x\n", encoding="utf-8")
    assert main(["text", "classify-train", "--train", str(one), "--test", str(one), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"rnnkit text classify-train: error: {one}: every row has the label 'x'; "
        "a classifier needs at least 2 classes\n"
    )
