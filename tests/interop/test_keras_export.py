"""to_keras: rnnkit layers and the sequence classifier as Keras 3 models with the same outputs, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from interop_helpers import as_list, need, padded

keras = need("keras")

from rnnkit.classify.model import SequenceClassifier  # noqa: E402
from rnnkit.interop import from_keras, to_keras  # noqa: E402
from rnnkit.nn import GRU, LSTM, RNN  # noqa: E402


def _randomize(module: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layers_padded_and_full(cls, bidirectional, tmp_path):
    layer = cls(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=False, dropout=0.2).eval()
    _randomize(layer, 0)
    rng = np.random.default_rng(0)
    x, lengths = padded(rng, 4, 6, 3)
    model = to_keras(layer, mask_value=0.0)
    model.save(tmp_path / "layer.keras")  # and it is a real, loadable Keras file
    model = keras.saving.load_model(tmp_path / "layer.keras")
    xt = torch.from_numpy(x).transpose(0, 1)  # this layer is time-major; the Keras model is batch-first
    with torch.no_grad():
        expected = layer(xt, lengths=torch.from_numpy(lengths))[0].transpose(0, 1)
    np.testing.assert_allclose(as_list(model(x))[0], expected.numpy(), atol=1e-5, rtol=0)
    with torch.no_grad():
        full = layer(xt)[0].transpose(0, 1)
    np.testing.assert_allclose(as_list(to_keras(layer)(x))[0], full.numpy(), atol=1e-5, rtol=0)


def test_rnn_relu_and_no_bias():
    layer = RNN(3, 4, nonlinearity="relu", bias=False, batch_first=True).eval()
    _randomize(layer, 1)
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(as_list(to_keras(layer)(x))[0], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("pooling", "cell", "bidirectional"),
    [
        ("last", "lstm", True),
        ("mean", "gru", False),
        ("max", "rnn", True),
        ("meanmax", "gru", True),
        ("all", "lstm", False),
        ("all", "gru", True),
    ],
)
def test_sequence_classifier_same_logits(pooling, cell, bidirectional):
    clf = SequenceClassifier(
        3, 5, 2, 4, cell=cell, bidirectional=bidirectional, pooling=pooling, mean=[1.0, -2.0, 0.5], std=[0.5, 2.0, 1.5]
    ).eval()
    _randomize(clf, 2)
    x = np.random.default_rng(2).normal(size=(6, 7, 3)).astype(np.float32)
    with torch.no_grad():
        expected = clf(torch.from_numpy(x)).numpy()
    got = as_list(to_keras(clf)(x))[0]
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert (got.argmax(-1) == expected.argmax(-1)).all()


def test_round_trip_rnnkit_keras_rnnkit():
    layer = GRU(3, 4, bidirectional=True, batch_first=True).eval()
    _randomize(layer, 3)
    back = from_keras(to_keras(layer, mask_value=0.0))
    x, lengths = padded(np.random.default_rng(3), 3, 5, 3)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x), lengths=torch.from_numpy(lengths))[0]
        torch.testing.assert_close(back(torch.from_numpy(x)), expected, atol=1e-6, rtol=0)


def test_errors():
    with pytest.raises(ValueError, match=r"^to_keras: an LSTM with proj_size=2 has no Keras equivalent$"):
        to_keras(LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError) as err:
        to_keras(SequenceClassifier(3, 4, 1, 2, diff=True, patch=2))
    assert str(err.value) == (
        "to_keras: cannot express this SequenceClassifier in Keras: diff=True (first differences: no stock Keras "
        "layer); patch=2 (grouping time steps: no stock Keras layer for a padded reshape)"
    )
    with pytest.raises(ValueError, match=r"conv=4 \(the LSTM-FCN convolutional branch is not converted\)$"):
        to_keras(SequenceClassifier(3, 4, 1, 2, conv=4))
    with pytest.raises(TypeError, match=r"^to_keras: expected an rnnkit or torch.nn RNN/LSTM/GRU layer or a "):
        to_keras(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"^to_keras: mask_value applies to layers"):
        to_keras(SequenceClassifier(3, 4, 1, 2), mask_value=0.0)
