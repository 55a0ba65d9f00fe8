"""rnnkit.classify.Classifier: the Python API over the same code and defaults as `rnnkit classify train`."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rnnkit
from rnnkit.classify import Classifier, ClassifierOptions
from rnnkit.classify.cli import TrainArgs
from rnnkit.cli import main

TINY = {"hidden_size": 8, "epochs": 2, "ensemble": 2, "time_budget": None, "quiet": True}


def _data(n: int = 20, t: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t)).astype(np.float32)
    return X, np.where(X[:, : t // 2].mean(axis=1) > 0, "up", "down")


@pytest.fixture(scope="module")
def fitted() -> Classifier:
    X, y = _data()
    return Classifier(**TINY).fit(X, y)


def test_the_cli_and_python_share_every_default() -> None:
    engine = {f for f in TrainArgs.__dataclass_fields__} - {"dataset", "train", "test", "label_column"}
    assert engine == set(ClassifierOptions.__dataclass_fields__)
    args = TrainArgs(dataset="GunPoint")
    for name in engine:
        assert getattr(args, name) == getattr(ClassifierOptions(), name), name


def test_every_input_form_gives_the_same_probabilities(fitted: Classifier) -> None:
    X, _ = _data()
    want = fitted.predict_proba(X)
    forms = {
        "(N, C, T)": X[:, None, :],
        "list of (T,)": list(X),
        "list of (C, T)": [x[None] for x in X],
        "list of DataFrames (T, C)": [pd.DataFrame(x[:, None]) for x in X],
        "wide DataFrame": pd.DataFrame(X),
        "pd-multiindex": pd.DataFrame(
            {"c0": X.ravel()}, index=pd.MultiIndex.from_product([range(len(X)), range(X.shape[1])])
        ),
        "nested_univ": pd.DataFrame({"c0": [pd.Series(x) for x in X]}),
        "torch": __import__("torch").from_numpy(X),
    }
    for name, form in forms.items():
        np.testing.assert_allclose(fitted.predict_proba(form), want, atol=1e-6, err_msg=name)
    assert fitted.predict(X).tolist() == [fitted.classes_[i] for i in want.argmax(1)]
    assert fitted.score(X, _data()[1]) == np.mean(fitted.predict(X) == _data()[1])


def test_unequal_lengths_and_the_loaded_torch_module_take_numpy(fitted: Classifier, tmp_path: Path) -> None:
    X, _ = _data()
    ragged = [X[0], X[1, :5], X[2, :9]]
    probs = fitted.predict_proba(ragged)
    np.testing.assert_allclose(probs[1], fitted.predict_proba(X[1:2, :5])[0], atol=1e-6)
    module = rnnkit.load(fitted.save(tmp_path / "m"))
    np.testing.assert_allclose(module.predict_proba(X).numpy(), fitted.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(Classifier.load(tmp_path / "m").predict_proba(ragged), probs, atol=1e-6)


def test_bad_input_is_a_clear_error(fitted: Classifier) -> None:
    X, y = _data()
    cases = [
        (
            lambda: fitted.predict_proba(np.zeros((2, 3, 4, 5))),
            "X: expected a 2D (N, T) or 3D (N, C, T) array, got 4D of shape (2, 3, 4, 5)",
        ),
        (lambda: fitted.predict_proba(np.zeros((2, 3, 12))), "X: the model expects 1 channels per time step; got 3"),
        (lambda: fitted.predict_proba([]), "X: expected at least one series, got none"),
        (
            lambda: fitted.predict_proba(np.full((2, 4), np.nan)),
            "X: series 0 has a missing or infinite value (NaN) at time step 0, channel 0; fill or drop missing values",
        ),
        (lambda: fitted.predict_proba([["a", "b"]]), "X: series 0 is not numeric"),
        (lambda: Classifier(**TINY).fit(X, y[:3]), "y: expected one label per series of X (20), got 3"),
        (
            lambda: Classifier(**TINY).fit(X, ["a"] * 20),
            "X: a classifier needs series of at least two classes; found only 'a'",
        ),
        (
            lambda: Classifier().predict(X),
            "this Classifier is not trained yet; call fit(X, y) or Classifier.load(dir) first",
        ),
        (lambda: Classifier(hiden_size=3), "Classifier: unknown option 'hiden_size'; did you mean 'hidden_size'?"),
        (
            lambda: Classifier(cell="tcn"),
            "--cell must be one of rnn, lstm, gru, ln_lstm, ln_gru, peephole_lstm, indrnn, mingru, minlstm; got 'tcn'",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value).startswith(message), (str(err.value), message)
    with pytest.raises(TypeError, match="X: expected a numpy array"):
        fitted.predict_proba("series.csv")


def test_cli_and_python_give_the_same_predictions(tmp_path: Path) -> None:
    X, y = _data(16, 10, seed=3)
    path = tmp_path / "train.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*(f"t{i}" for i in range(10)), "label"])
        writer.writerows([[*map(float, x), label] for x, label in zip(X, y)])
    flags = ["--hidden_size", "8", "--epochs", "2", "--ensemble", "2", "--time_budget", "null", "--quiet", "true"]
    assert main(["classify", "train", "--train", str(path), "--out", str(tmp_path / "run"), *flags]) == 0
    cli = Classifier.load(tmp_path / "run")
    python = Classifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(cli.predict_proba(X), python.predict_proba(X))


def test_one_class_training_set_and_eval_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.csv"
    one.write_text("t0,t1,label\n1,2,a\n3,4,a\n")
    assert main(["classify", "train", "--train", str(one), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnkit classify train: error: {one}: a classifier needs series of at least two classes; found only 'a'"
    )
    X, y = _data(12, 6)
    clf = Classifier(**TINY).fit(X, y)
    clf.save(tmp_path / "m")
    test = tmp_path / "test.csv"
    test.write_text("t0,t1,t2,t3,t4,t5,label\n" + "".join(",".join([*map(str, x), c]) + "\n" for x, c in zip(X, y)))
    assert (
        main(["classify", "eval", "--model", str(tmp_path / "m"), "--test", str(test), "--out", str(tmp_path / "e")])
        == 0
    )
    out = capsys.readouterr().out.strip()
    acc = clf.score(X, y)
    assert out.startswith(f"accuracy {acc:.4f}, macro-F1 ") and out.endswith(
        f" on 12 series of {test}; details in {tmp_path}/e/metrics.json"
    )
    assert "{" not in out and "\n" not in out
