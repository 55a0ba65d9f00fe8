"""``rnnkit convert from-keras | to-keras`` and ``rnnkit export onnx``: the commands give what the Python calls
give, and bad input is one line on stderr with exit code 2."""

from __future__ import annotations

import numpy as np
import torch
from interop_helpers import as_list, need, padded, randomize

keras = need("keras")
ort = need("onnxruntime")
need("onnx")

import rnnkit  # noqa: E402
from rnnkit.classify.model import SequenceClassifier  # noqa: E402
from rnnkit.cli import main  # noqa: E402
from rnnkit.interop import from_keras  # noqa: E402

L = keras.layers


def test_keras_file_to_rnnkit_to_onnx_gives_keras_outputs(tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((None, 3)), L.Masking(0.0), L.Bidirectional(L.GRU(4)), L.Dense(2)])
    randomize(model, rng)
    model.save(tmp_path / "m.keras")
    assert main(["convert", "from-keras", "--model", str(tmp_path / "m.keras"), "--out", str(tmp_path / "m")]) == 0
    assert main(["export", "onnx", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "m.onnx")]) == 0
    x, _ = padded(rng, 5, 9, 3)
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, as_list(model(x))[0], atol=1e-5, rtol=0)
    with torch.no_grad():  # the command and the Python call agree
        torch.testing.assert_close(
            rnnkit.load(tmp_path / "m")(torch.from_numpy(x)), from_keras(model)(torch.from_numpy(x))
        )


def test_classifier_to_keras_file(tmp_path):
    torch.manual_seed(0)
    clf = SequenceClassifier(2, 4, 1, 3, cell="gru", bidirectional=True, pooling="all").eval()
    clf.save(tmp_path / "clf")
    assert main(["convert", "to-keras", "--model", str(tmp_path / "clf"), "--out", str(tmp_path / "clf.keras")]) == 0
    x = np.random.default_rng(1).normal(size=(4, 6, 2)).astype(np.float32)
    got = as_list(keras.saving.load_model(tmp_path / "clf.keras")(x))[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, clf(torch.from_numpy(x)).numpy(), atol=1e-5, rtol=0)


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    return err


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_text("nope")
    assert _error(capsys, ["convert", "from-keras", "--model", str(bad), "--out", str(tmp_path / "o")]) == (
        f"rnnkit convert from-keras: error: {bad}: not a Keras 3 .keras file (expected a zip archive; "
        "is it truncated or corrupt?)"
    )
    conv = keras.Sequential([keras.Input((None, 3)), L.Conv1D(2, 2), L.LSTM(2)])
    conv.save(tmp_path / "conv.keras")
    err = _error(capsys, ["convert", "from-keras", "--model", str(tmp_path / "conv.keras"), "--out", str(tmp_path)])
    assert err.startswith("rnnkit convert from-keras: error: from_keras: cannot convert 1 part(s) of Keras model ")
    assert "(Conv1D) is not supported" in err
    SequenceClassifier(2, 4, 1, 3, patch=2).save(tmp_path / "patched")
    err = _error(capsys, ["export", "onnx", "--model", str(tmp_path / "patched"), "--out", str(tmp_path / "p.onnx")])
    assert err.startswith("rnnkit export onnx: error: a sequence classifier with patch=2 cannot export with a dynamic")
    assert _error(capsys, ["convert", "to-keras", "--model", str(tmp_path / "patched"), "--out", "x.h5"]) == (
        "rnnkit convert to-keras: error: expected --out to end in .keras (Keras 3's format), got 'x.h5'"
    )
