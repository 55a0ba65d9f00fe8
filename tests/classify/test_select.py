"""Choices from the training split only: the folds, the pick, the record, and a leakage test (poisoned test labels
and series leave every choice and every trained weight unchanged). Data set folders in the UCR archive layout."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file as load_weights

from rnnkit.classify.data import _aeon_data_dir, archive_datasets, load_dataset, load_file
from rnnkit.classify.estimator import ClassifierOptions
from rnnkit.classify.select import choose, folds_possible, stratified_folds
from rnnkit.cli import main

TINY = ["--epochs", "2", "--hidden_size", "4", "--ensemble", "2", "--time_budget", "None", "--quiet", "true"]


def test_folds_are_stratified_disjoint_and_cover_every_series():
    labels = ["a"] * 7 + ["b"] * 5 + ["c"] * 3
    folds = stratified_folds(labels, 3, seed=1)
    assert sorted(i for f in folds for i in f) == list(range(len(labels)))
    for fold in folds:
        counts = Counter(labels[i] for i in fold)
        assert counts["c"] == 1 and counts["b"] in (1, 2) and counts["a"] in (2, 3)
    assert stratified_folds(labels, 3, seed=1) == folds != stratified_folds(labels, 3, seed=2)
    assert folds_possible(labels, 5) == 3  # the smallest class has 3 series: 3 folds keep it in every training part
    assert folds_possible(["a", "a", "b"], 3) == 0  # a class of one series: no cross-validation


def test_choose_keeps_the_best_mean_accuracy_and_breaks_ties_by_log_loss_then_simplicity(tmp_path):
    data = load_dataset("UnitTest", "train")  # classes "1" and "2"
    right = {"reservoir": 0.9, ("rnn", 0): 0.6, ("rnn", 64): 0.8}  # probability each candidate gives the truth
    calls = []

    def fit_proba(settings, train, val, seconds):
        key = "reservoir" if settings.family == "reservoir" else (settings.family, settings.conv)
        calls.append((key, len(train), len(val)))
        truth = np.array([int(c) - 1 for c in val.labels])
        p = np.full((len(val), 2), 1 - right[key])
        p[np.arange(len(val)), truth] = right[key]
        return p

    options = ClassifierOptions(time_budget=None, augment=False, window=1)
    values, record = choose(data, options, fit_proba, tmp_path)
    # every candidate is right on every series: accuracy ties at 1; the log-loss decides, and the blend of the
    # reservoir (0.9) with the better network (0.8) averages to 0.85 < 0.9: the reservoir alone wins
    assert values == {"family": "reservoir"}
    assert [t["cv_accuracy"] for t in record["trials"]] == [1.0] * 5
    blend = next(t for t in record["trials"] if t["family"] == "rnn+reservoir" and t["conv"] == 64)
    assert blend["cv_log_loss"] == pytest.approx(-np.log(0.85))
    # three trained candidates x 3 folds (the blends reuse their probabilities), each fold split covering the data
    assert Counter(c[0] for c in calls) == {"reservoir": 3, ("rnn", 0): 3, ("rnn", 64): 3}
    assert {c[1] + c[2] for c in calls} == {len(data)}
    assert json.loads((tmp_path / "chosen.json").read_text()) == record
    # options the user set are not chosen; none left -> no cross-validation at all
    values, _ = choose(data, ClassifierOptions(family="rnn", augment=False, time_budget=None), fit_proba, None)
    assert values == {"conv": 64}
    assert choose(data, ClassifierOptions(family="rnn", conv=0, augment=False), fit_proba, None) == ({}, {})
    assert choose(data, ClassifierOptions(family="reservoir", window=9), fit_proba, None) == ({}, {})


def _unit_test_files(tmp_path: Path, poison: bool) -> tuple[str, str]:
    """UnitTest's official files; with ``poison`` its TEST file's labels are flipped and its series reversed."""
    train = _aeon_data_dir() / "UnitTest" / "UnitTest_TRAIN.ts"
    test = tmp_path / "UnitTest_TEST.csv"
    data = load_dataset("UnitTest", "test")
    rows = []
    for s, y in zip(data.series, data.labels):
        values, label = s[:, 0].tolist(), y
        if poison:
            values, label = values[::-1], {"1": "2", "2": "1"}[y]
        rows.append(",".join(map(str, values)) + f",{label}")
    header = ",".join(f"t{i}" for i in range(data.series[0].shape[0])) + ",label"
    test.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(train), str(test)


def test_choices_and_weights_never_read_the_test_split(tmp_path):
    runs = {}
    for poison in (False, True):
        folder = tmp_path / ("poisoned" if poison else "clean")
        folder.mkdir()
        train, test = _unit_test_files(folder, poison)
        out = folder / "run"
        assert main(["classify", "train", "--train", train, "--test", test, "--out", str(out), *TINY]) == 0
        runs[poison] = out
    clean, poisoned = (json.loads((runs[p] / "metrics.json").read_text()) for p in (False, True))
    assert clean["chosen"] == {**poisoned["chosen"], "seconds": clean["chosen"]["seconds"]}
    assert len(clean["chosen"]["trials"]) == 14  # 2 reservoirs, 4 networks, 8 blends
    assert clean["test_accuracy"] != poisoned["test_accuracy"]  # the poison reached the test figures...
    a, b = (load_weights(str(runs[p] / "model" / "model.safetensors")) for p in (False, True))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)  # ...and nothing else


def test_metrics_and_config_record_the_choice_and_resume_reuses_it(tmp_path):
    out = tmp_path / "run"
    assert main(["classify", "train", "--dataset", "UnitTest", "--out", str(out), *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    chosen = metrics["chosen"]
    assert "cross-validation" in chosen["why"] and chosen["folds"] == 3
    best = max(chosen["trials"], key=lambda t: t["cv_accuracy"])
    assert best["cv_accuracy"] == max(t["cv_accuracy"] for t in chosen["trials"])
    assert {k: config[k] for k in chosen["values"]} == chosen["values"]
    assert metrics["family"] == chosen["values"]["family"]
    assert json.loads((out / "chosen.json").read_text()) == chosen
    # --resume takes the choice from chosen.json instead of cross-validating again
    saved = {**chosen, "values": {"family": "rnn", "conv": 4, "augment": True}}
    (out / "chosen.json").write_text(json.dumps(saved))

    def never(*args):
        raise AssertionError("a resumed run cross-validated again")

    options = ClassifierOptions(resume=True, time_budget=None)
    assert choose(load_dataset("UnitTest", "train"), options, never, out) == (saved["values"], saved)


def test_a_data_set_folder_in_the_archive_layout(tmp_path, capsys):
    archive = tmp_path / "Univariate_ts"
    shutil.copytree(_aeon_data_dir() / "UnitTest", archive / "UnitTest")
    (archive / "NotADataSet").mkdir()
    assert [p.name for p in archive_datasets(archive)] == ["UnitTest"]
    assert len(load_dataset(str(archive / "UnitTest"), "test")) == len(load_dataset("UnitTest", "test"))
    out = tmp_path / "run"
    argv = ["classify", "train", "--dataset", str(archive / "UnitTest"), "--out", str(out), *TINY]
    assert main([*argv, "--cv_folds", "0"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_n"] == 22
    bad = archive / "NotADataSet"
    assert main(["classify", "train", "--dataset", str(bad), "--out", str(tmp_path / "o"), *TINY]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnkit classify train: error: {bad} is not a data set folder in the UCR/UEA archive layout: expected "
        "NotADataSet_TRAIN.ts (or .arff) in it"
    )
    assert main(["classify", "train", "--dataset", "UnitTest", "--cv_folds", "-1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "rnnkit classify train: error: --cv_folds must be 0 (no cross-validation) or a number of folds; got -1"
    )
    assert main(["classify", "train", "--dataset", "UnitTest", "--conv", "-3", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "rnnkit classify train: error: --conv must be 0 (no convolutional branch) or a positive integer; got -3"
    )
    assert load_file(str(archive / "UnitTest" / "UnitTest_TRAIN.ts")).labels is not None
