"""from_keras: real Keras 3 models (torch backend), saved as .keras, converted, outputs equal to atol 1e-5 on
random right-padded inputs, for every layer and option rnnkit converts; and the errors for what it does not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from interop_helpers import as_list, assert_same, need, padded, randomize

keras = need("keras")
L = keras.layers

from rnnkit.interop import KerasSequence, from_keras  # noqa: E402

RNNS = {
    "SimpleRNN": lambda **kw: L.SimpleRNN(4, **kw),
    "SimpleRNN-relu": lambda **kw: L.SimpleRNN(4, activation="relu", **kw),
    "LSTM": lambda **kw: L.LSTM(4, **kw),
    "GRU": lambda **kw: L.GRU(4, **kw),
    "GRU-reset_before": lambda **kw: L.GRU(4, reset_after=False, **kw),
}


def build(layers, shape=(None, 3), dtype="float32"):
    inputs = keras.Input(shape, dtype=dtype)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def check(model, x, tmp_path, rng, atol=1e-5):
    """Randomise, save as .keras, convert the FILE, compare on x; returns the converted module."""
    randomize(model, rng)
    path = tmp_path / "model.keras"
    model.save(path)
    module = from_keras(path)
    with torch.no_grad():
        got = module(torch.from_numpy(x))
    assert_same(model(x), got, atol)
    return module


UNI = [  # masked: every combination; unmasked (lengths None): plain and reversed sequences
    (name, seq, back, mask)
    for name, seq, back, mask in itertools.product(RNNS, [False, True], [False, True], [False, True])
    if (mask or seq == back) and not (name == "SimpleRNN-relu" and (back or not mask))
]


@pytest.mark.parametrize(("cell", "return_sequences", "go_backwards", "masked"), UNI)
def test_unidirectional(cell, return_sequences, go_backwards, masked, tmp_path):
    rng = np.random.default_rng(len(cell) + 2 * return_sequences + 4 * go_backwards + 8 * masked)
    x, _ = padded(rng, 4, 6, 3)
    layers = [L.Masking(0.0)] if masked else []
    layers.append(RNNS[cell](return_sequences=return_sequences, go_backwards=go_backwards))
    check(build(layers), x, tmp_path, rng)


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU", "GRU-reset_before"])
def test_return_state_zero_output_and_no_bias(cell, tmp_path):
    rng = np.random.default_rng(1)
    x, _ = padded(rng, 4, 6, 3)
    layer = RNNS[cell](return_sequences=True, return_state=True, zero_output_for_mask=True, use_bias=False)
    check(build([L.Masking(0.0), layer]), x, tmp_path, rng)


BI = [
    (cell, merge, seq)
    for cell, merge, seq in itertools.product(
        ["SimpleRNN", "LSTM", "GRU", "GRU-reset_before"], ["concat", "sum", "mul", "ave", None], [False, True]
    )
    if merge in ("concat", None) or cell == "LSTM"
]


@pytest.mark.parametrize(("cell", "merge_mode", "return_sequences"), BI)
def test_bidirectional(cell, merge_mode, return_sequences, tmp_path):
    rng = np.random.default_rng(3)
    x, _ = padded(rng, 4, 6, 3)
    layer = L.Bidirectional(RNNS[cell](return_sequences=return_sequences), merge_mode=merge_mode)
    check(build([L.Masking(0.0), layer]), x, tmp_path, rng)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_bidirectional_return_state_unmasked(cell, tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5, 3)).astype(np.float32)
    layer = L.Bidirectional(RNNS[cell](return_sequences=True, return_state=True), merge_mode="sum")
    check(build([layer]), x, tmp_path, rng)


def test_embedding_mask_zero_stack_time_distributed_dense_dropout(tmp_path):
    rng = np.random.default_rng(5)
    ids = rng.integers(1, 20, size=(4, 7))
    for b, n in enumerate([7, 3, 1, 5]):
        ids[b, n:] = 0
    model = build(
        [
            L.Embedding(20, 5, mask_zero=True),
            L.Dropout(0.3),
            L.GRU(4, return_sequences=True),
            L.LSTM(4, return_sequences=True, go_backwards=True),
            L.TimeDistributed(L.Dense(3, activation="tanh")),
            L.Dense(2, activation="softmax"),
        ],
        shape=(None,),
        dtype="int32",
    )
    check(model, ids, tmp_path, rng)


def test_seed_stacked_classifier_predicts_the_same_classes(tmp_path):
    """The seed's classifier written in Keras: Embedding -> Bidirectional(LSTM) -> LSTM -> Dense softmax."""
    rng = np.random.default_rng(6)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            L.Embedding(50, 16, mask_zero=True),
            L.Bidirectional(L.LSTM(12, return_sequences=True)),
            L.LSTM(8),
            L.Dense(5, activation="softmax"),
        ]
    )
    ids = rng.integers(1, 50, size=(32, 12))
    lengths = rng.integers(1, 13, size=32)
    for b, n in enumerate(lengths):
        ids[b, n:] = 0
    module = check(model, ids, tmp_path, rng)
    with torch.no_grad():
        ours = module(torch.from_numpy(ids)).argmax(-1).numpy()
    assert (ours == as_list(model(ids))[0].argmax(-1)).all()


def test_time_series_stacked_lstm_classifier_round_trips_through_rnnkit_save(tmp_path):
    """A stacked LSTM classifier on padded multivariate series; the converted model saves and loads as rnnkit's."""
    import rnnkit

    rng = np.random.default_rng(7)
    x, _ = padded(rng, 16, 10, 3)
    model = keras.Sequential(
        [keras.Input((None, 3)), L.Masking(0.0), L.LSTM(8, return_sequences=True), L.LSTM(8), L.Dense(4)]
    )
    module = check(model, x, tmp_path, rng)
    loaded = rnnkit.load(module.save(tmp_path / "converted"))
    assert isinstance(loaded, KerasSequence)
    with torch.no_grad():
        assert torch.equal(loaded(torch.from_numpy(x)), module(torch.from_numpy(x)))


def test_model_object_plus_weights_h5(tmp_path):
    rng = np.random.default_rng(8)
    x, _ = padded(rng, 3, 5, 3)
    model = build([L.Masking(0.0), L.GRU(4)])
    randomize(model, rng)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = build([L.Masking(0.0), L.GRU(4)])
    module = from_keras(fresh, weights=tmp_path / "w.weights.h5")
    with torch.no_grad():
        assert_same(model(x), module(torch.from_numpy(x)))
    # A legacy HDF5 model file converts too (Sequential: Keras 3.15 cannot reload its own legacy .h5 of a
    # functional model with a mask, "Unknown layer: 'NotEqual'").
    legacy = keras.Sequential([keras.Input((None, 3)), L.Masking(0.0), L.GRU(4, reset_after=False)])
    randomize(legacy, rng)
    legacy.save(tmp_path / "legacy.h5")
    with torch.no_grad():
        assert_same(legacy(x), from_keras(tmp_path / "legacy.h5")(torch.from_numpy(x)))


# ---- errors ----------------------------------------------------------------------------------------------


def test_every_unsupported_layer_and_option_in_one_error():
    model = build(
        [
            L.Conv1D(4, 2),
            L.LSTM(4, activation="relu", return_sequences=True, return_state=False),
            L.GRU(4, recurrent_activation="hard_sigmoid", return_sequences=True),
            L.LayerNormalization(),
            L.LSTM(3),
        ]
    )
    with pytest.raises(ValueError) as err:
        from_keras(model)
    msg = str(err.value)
    assert msg.startswith(f"from_keras: cannot convert 4 part(s) of Keras model {model.name!r}: ")
    for part in [
        f"layer {model.layers[1].name!r} (Conv1D) is not supported",
        f"layer {model.layers[2].name!r} (LSTM): activation='relu' (expected tanh)",
        f"layer {model.layers[3].name!r} (GRU): recurrent_activation='hard_sigmoid' (expected 'sigmoid')",
        f"layer {model.layers[4].name!r} (LayerNormalization) is not supported",
    ]:
        assert part in msg
    assert msg.endswith(
        "Supported: " + "Input, Embedding, Masking, SimpleRNN, LSTM, GRU, Bidirectional, Dense, "
        "Dropout, TimeDistributed(Dense)"
    )


def test_state_outputs_before_the_last_layer_are_refused():
    inputs = keras.Input((None, 3))
    y, _h, _c = L.LSTM(4, return_sequences=True, return_state=True)(inputs)
    model = keras.Model(inputs, L.Dense(2)(y))
    with pytest.raises(ValueError, match=r"does not take the output of|several outputs"):
        from_keras(model)


def test_branches_are_refused():
    inputs = keras.Input((None, 3))
    a, b = L.LSTM(4)(inputs), L.GRU(4)(inputs)
    model = keras.Model(inputs, L.Concatenate()([a, b]))
    with pytest.raises(ValueError, match=r"is not a single chain of layers: .*does not take the output of"):
        from_keras(model)


def test_mask_with_padding_in_the_middle_is_refused():
    module = from_keras(build([L.Masking(0.0), L.LSTM(4)]))
    x = np.ones((2, 4, 3), dtype=np.float32)
    x[1, 1] = 0.0  # row 1: valid, padding, valid, valid
    with pytest.raises(ValueError) as err:
        module(torch.from_numpy(x))
    assert str(err.value) == (
        "the Keras mask of row 1 has a valid step after a masked one; rnnkit runs masks as lengths, "
        "so padding must come at the end of each sequence (right-padded)"
    )
    x[1] = 0.0
    with pytest.raises(ValueError, match=r"^row 1 is masked at every step; expected at least one valid step"):
        module(torch.from_numpy(x))


def test_corrupt_missing_and_wrong_files(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError) as err:
        from_keras(bad)
    assert str(err.value) == f"{bad}: not a Keras 3 .keras file (expected a zip archive; is it truncated or corrupt?)"
    with pytest.raises(FileNotFoundError, match=r"no Keras model file at"):
        from_keras(tmp_path / "missing.keras")
    other = tmp_path / "model.pt"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a Keras model file ending in \.keras or \.h5, got \.pt"):
        from_keras(other)
    truncated = tmp_path / "cut.keras"
    build([L.LSTM(2)]).save(tmp_path / "ok.keras")
    truncated.write_bytes((tmp_path / "ok.keras").read_bytes()[:300])
    with pytest.raises(ValueError, match=r"cut.keras"):
        from_keras(truncated)


def test_mismatched_weights_file(tmp_path):
    build([L.LSTM(5)]).save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match=r"w\.weights\.h5: could not load these weights into the model"):
        from_keras(build([L.LSTM(4)]), weights=tmp_path / "w.weights.h5")


def test_converted_module_checks_its_input_shape():
    module = from_keras(build([L.LSTM(4)]))
    with pytest.raises(ValueError, match=r"expected input with input_size=3 features in the last dimension, got 5"):
        module(torch.zeros(2, 4, 5))


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_random_padded_batches(data):
    """One converted Masking -> Bidirectional(GRU, return_sequences) -> LSTM(go_backwards, return_state) model;
    hypothesis draws batch, length and right-padded lengths."""
    if "model" not in _MODEL:
        rng = np.random.default_rng(9)
        inputs = keras.Input((None, 2))
        x = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave")(L.Masking(0.0)(inputs))
        model = keras.Model(inputs, L.LSTM(3, go_backwards=True, return_state=True)(x))
        randomize(model, rng)
        _MODEL["model"], _MODEL["module"] = model, from_keras(model)
    B, T = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 9))
    lengths = data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    x = np.random.default_rng(B * 10 + T).normal(size=(B, T, 2)).astype(np.float32)
    for b, n in enumerate(lengths):
        x[b, n:] = 0.0
    with torch.no_grad():
        assert_same(_MODEL["model"](x), _MODEL["module"](torch.from_numpy(x)))


_MODEL: dict[str, object] = {}
