"""`rnnkit classify train | predict | eval` end to end on a real data set, and every bad input's exact message."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.classify.data import _aeon_data_dir, load_dataset, load_file, pad
from rnnkit.cli import main

FAST = ["--family", "rnn", "--epochs", "3", "--hidden_size", "8", "--ensemble", "2", "--quiet", "true"]
IPD_TEST = str(_aeon_data_dir() / "ItalyPowerDemand" / "ItalyPowerDemand_TEST.ts")


def _csv(path: Path, rows: list[list[object]], header: list[str]) -> str:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _ipd_csv(path: Path, n: int, labels: bool = True) -> str:
    data = load_dataset("ItalyPowerDemand", "test")
    rows = [[*s[:, 0].tolist(), *([y] if labels else [])] for s, y in zip(data.series[:n], data.labels)]
    return _csv(path, rows, [f"t{i}" for i in range(24)] + (["label"] if labels else []))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["classify", "train", "--dataset", "ItalyPowerDemand", "--out", str(out), *FAST]) == 0
    return out


def test_train_writes_model_metrics_config(trained):
    for name in ("metrics.json", "config.json", "confusion_matrix.png", "model/config.json", "model/model.safetensors"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["members"] == 2 and metrics["test_n"] == 1029 and metrics["classes"] == ["1", "2"]
    confusion = np.array(metrics["test_confusion_matrix"])  # accuracy agrees with the confusion matrix it reports
    assert confusion.sum() == 1029 and metrics["test_accuracy"] == pytest.approx(np.trace(confusion) / 1029)
    config = json.loads((trained / "config.json").read_text())
    assert config["dataset"] == "ItalyPowerDemand" and config["ensemble"] == 2 and config["cell"] == "gru"


def test_eval_of_loaded_model_matches_training_run(trained, tmp_path):
    assert main(["classify", "eval", "--model", str(trained), "--test", IPD_TEST, "--out", str(tmp_path)]) == 0
    got = json.loads((tmp_path / "metrics.json").read_text())
    want = json.loads((trained / "metrics.json").read_text())
    assert got["accuracy"] == want["test_accuracy"]
    assert got["confusion_matrix"] == want["test_confusion_matrix"]
    assert (tmp_path / "confusion_matrix.png").is_file() and (tmp_path / "config.json").is_file()


def test_predict_csv_equals_loaded_model(trained, tmp_path, capsys):
    path = _ipd_csv(tmp_path / "in.csv", 20, labels=False)
    assert (
        main(["classify", "predict", "--model", str(trained / "model"), "--input", path, "--out", str(tmp_path / "p")])
        == 0
    )
    rows = list(csv.DictReader((tmp_path / "p" / "predictions.csv").open()))
    assert capsys.readouterr().out.startswith("index,predicted,p_1,p_2\n")
    assert len(rows) == 20 and json.loads((tmp_path / "p" / "metrics.json").read_text())["n"] == 20
    model = rnnkit.load(trained / "model")
    x, lengths = pad(load_file(path, labels_required=False).series)
    probs = model.predict_proba(x, lengths).numpy()
    np.testing.assert_allclose([[float(r["p_1"]), float(r["p_2"])] for r in rows], probs, atol=1e-6)
    assert [r["predicted"] for r in rows] == [model.labels[i] for i in probs.argmax(1)]


def test_predict_reports_accuracy_when_labels_are_given(trained, tmp_path):
    path = _ipd_csv(tmp_path / "in.csv", 30)
    assert main(["classify", "predict", "--model", str(trained), "--input", path, "--out", str(tmp_path / "p")]) == 0
    rows = list(csv.DictReader((tmp_path / "p" / "predictions.csv").open()))
    accuracy = np.mean([r["predicted"] == r["label"] for r in rows])
    assert json.loads((tmp_path / "p" / "metrics.json").read_text())["accuracy"] == pytest.approx(accuracy)


def test_train_from_files_unequal_lengths(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[*np.round(rng.normal(size=8), 3), *[""] * (i % 3), "up" if i % 2 else "down"] for i in range(24)]
    rows = [r[: 8 - (i % 3)] + r[8:] for i, r in enumerate(rows)]  # shorter series leave their last cells empty
    header = [f"t{i}" for i in range(8)] + ["y"]
    train = _csv(tmp_path / "train.csv", rows[:16], header)
    test = _csv(tmp_path / "test.csv", rows[16:], header)
    out = tmp_path / "run"
    args = ["classify", "train", "--train", train, "--test", test, "--label_column", "y", "--out", str(out)]
    assert main([*args, *FAST, "--cell", "lstm"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"] == ["down", "up"] and metrics["test_n"] == 8
    model = rnnkit.load(out / "model")
    x = torch.randn(3, 8, 1)
    torch.testing.assert_close(model(x, [8, 5, 1])[1], model(x[1:2, :5], [5])[0])


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err.strip()


def test_bad_inputs(trained, tmp_path, capsys):
    ok = _ipd_csv(tmp_path / "ok.csv", 10)
    out = ["--out", str(tmp_path / "o")]
    assert _error(capsys, ["classify", "train", *out]) == (
        "rnnkit classify train: error: give either --dataset NAME or --train FILE (with --test FILE), "
        "not both or neither"
    )
    assert _error(capsys, ["classify", "train", "--dataset", "GunPoint", "--test", ok, *out]) == (
        "rnnkit classify train: error: --test goes with --train; --dataset NAME uses that data set's own test split"
    )
    assert _error(capsys, ["classify", "train", "--dataset", "GunPoint", "--cell", "tcn", *out]) == (
        "rnnkit classify train: error: --cell must be one of rnn, lstm, gru, ln_lstm, "
        "ln_gru, peephole_lstm, indrnn, mingru, minlstm; got 'tcn'"
    )
    assert _error(capsys, ["classify", "train", "--dataset", "Nope", *out]).startswith(
        "rnnkit classify train: error: unknown data set 'Nope'; available offline (shipped with aeon): ACSF1, "
    )
    no_label = _csv(tmp_path / "nolabel.csv", [[1, 2, "a"]], ["t0", "t1", "class"])
    assert _error(capsys, ["classify", "train", "--train", no_label, *out]) == (
        f"rnnkit classify train: error: {no_label} has no label column 'label'; columns are 't0', 't1', 'class'. "
        "Name the column holding the classes with --label_column"
    )
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("t0,t1,label\n1,2,a\n1,2,3,b\n")
    assert _error(capsys, ["classify", "train", "--train", str(ragged), *out]) == (
        f"rnnkit classify train: error: {ragged}: line 3 has 4 fields, expected 3 as in the header; "
        "the CSV is ragged (leave the last cells of a shorter series empty instead)"
    )
    nan = _csv(tmp_path / "nan.csv", [[1, 2, 3, "a"], [1, "", 3, "b"]], ["t0", "t1", "t2", "label"])
    assert _error(capsys, ["classify", "train", "--train", nan, *out]) == (
        f"rnnkit classify train: error: {nan}: series 1 has a missing or infinite value (NaN) at time step 1, "
        "channel 0; fill or drop missing values first"
    )
    train = _csv(tmp_path / "tr.csv", [[1, 2, "a"], [3, 4, "b"]], ["t0", "t1", "label"])
    test = _csv(tmp_path / "te.csv", [[1, 2, "a"], [3, 4, "z"]], ["t0", "t1", "label"])
    assert _error(capsys, ["classify", "train", "--train", train, "--test", test, *out]) == (
        f"rnnkit classify train: error: {test} has classes that {train} lacks: 'z'; "
        "a classifier can only predict classes it was trained on"
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _error(capsys, ["classify", "predict", "--model", str(trained), "--input", str(empty), *out]) == (
        f"rnnkit classify predict: error: {empty} is empty; "
        "expected one series per row (a CSV with a header row, .ts or .arff)"
    )
    assert _error(capsys, ["classify", "predict", "--model", str(trained), "--input", str(tmp_path / "x.csv")]) == (
        f"rnnkit classify predict: error: no such file: {tmp_path / 'x.csv'}"
    )
    motions = str(_aeon_data_dir() / "BasicMotions" / "BasicMotions_TRAIN.arff")
    assert _error(capsys, ["classify", "eval", "--model", str(trained), "--test", motions, *out]) == (
        f"rnnkit classify eval: error: the model expects 1 channels per time step; {motions} has 6"
    )
    unseen = _csv(tmp_path / "unseen.csv", [[*range(24), "3"]], [f"t{i}" for i in range(24)] + ["label"])
    assert _error(capsys, ["classify", "eval", "--model", str(trained), "--test", unseen, *out]) == (
        f"rnnkit classify eval: error: {unseen} has classes the model was not trained on: '3'; the model knows '1', '2'"
    )
