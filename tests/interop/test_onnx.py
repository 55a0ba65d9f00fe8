"""export_onnx: onnxruntime equals PyTorch (atol 1e-5) for every layer type, both directions, stacked layers,
variable lengths and batch/time sizes other than the export example's; application models; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interop_helpers import need

need("onnx")
ort = need("onnxruntime")

from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier  # noqa: E402
from rnnkit.forecast.models import AutoregressiveRNN, DirectRNN, ForecastEnsemble, SegRNN  # noqa: E402
from rnnkit.interop import NotExportable, ResetBeforeGRUCell, export_onnx  # noqa: E402
from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, Recurrent, RNNCell  # noqa: E402
from rnnkit.text.lm.model import LanguageModel  # noqa: E402


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(path, feed: dict[str, torch.Tensor]) -> list[np.ndarray]:
    s = session(path)
    assert [i.name for i in s.get_inputs()] == list(feed)
    return s.run(None, {k: v.numpy() for k, v in feed.items()})


def close(got: list[np.ndarray], expected, atol: float = 1e-5) -> None:
    expected = expected if isinstance(expected, (tuple, list)) else [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.detach().numpy(), atol=atol, rtol=0)


LAYERS = {
    "rnn-tanh": lambda bi, bf: RNN(3, 5, num_layers=2, bidirectional=bi, batch_first=bf),
    "rnn-relu": lambda bi, bf: RNN(3, 5, nonlinearity="relu", bidirectional=bi, batch_first=bf),
    "lstm": lambda bi, bf: LSTM(3, 5, num_layers=2, bidirectional=bi, batch_first=bf),
    "gru": lambda bi, bf: GRU(3, 5, num_layers=3, bidirectional=bi, batch_first=bf, bias=not bi),
    "recurrent-lstmcell": lambda bi, bf: Recurrent(LSTMCell(3, 5), num_layers=2, bidirectional=bi, batch_first=bf),
    "recurrent-grucell": lambda bi, bf: Recurrent(GRUCell(3, 5), bidirectional=bi, batch_first=bf),
    "recurrent-rnncell": lambda bi, bf: Recurrent(RNNCell(3, 5), num_layers=2, bidirectional=bi, batch_first=bf),
    "keras-gru-reset-before": lambda bi, bf: Recurrent(
        ResetBeforeGRUCell(3, 5), num_layers=2, bidirectional=bi, batch_first=bf
    ),
}


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layers(name, bidirectional, tmp_path):
    torch.manual_seed(0)
    batch_first = name.startswith(("gru", "lstm", "keras"))
    layer = LAYERS[name](bidirectional, batch_first).eval()
    path = export_onnx(layer, tmp_path / "layer.onnx", check=False)  # checked here instead, independently
    B, T = 6, 11  # the export example is batch 2, length 5
    lstm = "lstm" in name
    LD = layer.num_layers * (2 if bidirectional else 1)
    x = torch.randn(B, T, 3) if batch_first else torch.randn(T, B, 3)
    lengths = torch.tensor([11, 1, 7, 11, 3, 10])
    h0, c0 = torch.randn(LD, B, 5), torch.randn(LD, B, 5)
    feed = {"input": x, "lengths": lengths, "h0": h0, **({"c0": c0} if lstm else {})}
    with torch.no_grad():
        y, state = layer(x, (h0, c0) if lstm else h0, lengths=lengths)
    got = run(path, feed)
    close(got, [y, *state] if lstm else [y, state])
    # full-length rows through the same graph
    feed["lengths"] = torch.full((B,), T)
    with torch.no_grad():
        y, state = layer(x, (h0, c0) if lstm else h0)
    close(run(path, feed), [y, *state] if lstm else [y, state])


@pytest.mark.parametrize(
    ("cell", "bidirectional", "pooling", "diff"),
    [("lstm", True, "all", True), ("gru", False, "last", False), ("rnn", True, "meanmax", True)],
)
def test_sequence_classifier(cell, bidirectional, pooling, diff, tmp_path):
    torch.manual_seed(1)
    clf = SequenceClassifier(
        3,
        6,
        2,
        4,
        cell=cell,
        bidirectional=bidirectional,
        pooling=pooling,
        diff=diff,
        mean=[0.5, 0.0, -1.0],
        std=[1.0, 2.0, 0.5],
        diff_std=[1.0, 0.5, 2.0],
    ).eval()
    path = export_onnx(clf.save(tmp_path / "clf"), tmp_path / "clf.onnx")  # from the saved directory
    x, lengths = torch.randn(5, 13, 3), torch.tensor([13, 2, 9, 1, 12])
    with torch.no_grad():
        close(run(path, {"x": x, "lengths": lengths}), clf(x, lengths))


def test_classifier_ensemble(tmp_path):
    torch.manual_seed(2)
    members = [SequenceClassifier(2, 4, 1, 3, cell=c) for c in ("gru", "lstm")]
    members.append(SequenceClassifier(2, 4, 1, 3, conv=4, squeeze=True))  # LSTM-FCN's convolutional branch
    ens = ClassifierEnsemble(members).eval()
    path = export_onnx(ens, tmp_path / "ens.onnx")
    x, lengths = torch.randn(3, 8, 2), torch.tensor([8, 3, 5])
    with torch.no_grad():
        close(run(path, {"x": x, "lengths": lengths}), ens(x, lengths))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_step_and_forward(cell, tmp_path):
    torch.manual_seed(3)
    lm = LanguageModel(30, 8, 12, 2, cell).eval()
    path = export_onnx(lm, tmp_path / "step.onnx")
    B = 4
    ids = torch.randint(0, 30, (B,))
    state = (torch.randn(2, B, 12), torch.randn(2, B, 12)) if cell == "lstm" else torch.randn(2, B, 12)
    with torch.no_grad():
        logits, new = lm.step(ids, state)
    feed = {"ids": ids, "h0": state[0], "c0": state[1]} if cell == "lstm" else {"ids": ids, "h0": state}
    close(run(path, feed), [logits, *new] if cell == "lstm" else [logits, new])
    path = export_onnx(lm, tmp_path / "forward.onnx", what="forward")
    ids, lengths = torch.randint(0, 30, (3, 9)), torch.tensor([9, 4, 1])
    with torch.no_grad():
        close(run(path, {"ids": ids, "lengths": lengths}), lm(ids, lengths=lengths)[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: DirectRNN(
            lookback=12, horizon=4, num_targets=2, num_past=1, num_future=2, hidden_size=8, num_layers=2, cell="lstm"
        ),
        lambda: AutoregressiveRNN(lookback=12, horizon=4, num_targets=2, num_future=1, hidden_size=8, head="gaussian"),
        lambda: SegRNN(lookback=24, horizon=12, num_targets=3, seg_len=6, d_model=16, cycle=7),
        lambda: ForecastEnsemble([DirectRNN(lookback=8, horizon=2, num_targets=1, hidden_size=4) for _ in range(2)]),
    ],
)
def test_forecasters(make, tmp_path):
    torch.manual_seed(4)
    model = make().eval()
    path = export_onnx(model, tmp_path / "forecaster.onnx")
    B = 7
    batch = {"x": torch.randn(B, model.lookback, model.num_targets)}
    if model.num_past:
        batch["past"] = torch.randn(B, model.lookback, model.num_past)
    if model.num_future:
        batch["future"] = torch.randn(B, model.lookback + model.horizon, model.num_future)
    if model.cycle:
        batch["t"] = torch.randint(0, 500, (B,))
    with torch.no_grad():
        close(run(path, batch), model(batch))


def test_errors(tmp_path):
    with pytest.raises(NotExportable) as err:
        export_onnx(LSTM(3, 4, proj_size=2), tmp_path / "x.onnx")
    assert str(err.value) == (
        "LSTM with proj_size=2 cannot be exported: ONNX's LSTM operator has no projection "
        "(its recurrent state is the full hidden size)"
    )
    with pytest.raises(NotExportable) as err:
        export_onnx(SequenceClassifier(3, 4, 1, 2, patch=3), tmp_path / "x.onnx")
    assert str(err.value) == (
        "a sequence classifier with patch=3 cannot export with a dynamic time axis: it pads and groups time steps "
        "with Python arithmetic on T, which the ONNX trace freezes to the example's T (train with --patch 1 to "
        "export it)"
    )

    class Custom(RNNCell):
        pass

    with pytest.raises(NotExportable, match=r"^Recurrent of Custom cannot be exported: ONNX has operators for "):
        export_onnx(Recurrent(Custom(3, 4)), tmp_path / "x.onnx")
    with pytest.raises(NotExportable, match=r"^no ONNX recipe for Linear \(kind None\); export_onnx knows "):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"^export_onnx: expected what='step' or 'forward', got 'all'$"):
        export_onnx(LSTM(2, 2), tmp_path / "x.onnx", what="all")
    saved = SequenceClassifier(3, 4, 1, 2).save(tmp_path / "clf")
    (saved / "model.safetensors").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match=r"sha256 mismatch"):
        export_onnx(saved, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()  # nothing written on failure


_GRAPH: dict[str, object] = {}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(B=st.integers(1, 6), T=st.integers(1, 12), data=st.data())
def test_random_batches_and_lengths_through_one_graph(B, T, data, tmp_path_factory):
    """One exported bidirectional 2-layer LSTM; hypothesis draws batch, length and per-row lengths."""
    if not _GRAPH:
        torch.manual_seed(5)
        _GRAPH["layer"] = layer = LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True).eval()
        _GRAPH["session"] = session(export_onnx(layer, tmp_path_factory.mktemp("h") / "lstm.onnx", check=False))
    layer, s = _GRAPH["layer"], _GRAPH["session"]
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    x, h0, c0 = torch.randn(B, T, 3), torch.randn(4, B, 4), torch.randn(4, B, 4)
    got = s.run(None, {"input": x.numpy(), "lengths": lengths.numpy(), "h0": h0.numpy(), "c0": c0.numpy()})
    with torch.no_grad():
        y, (h, c) = layer(x, (h0, c0), lengths=lengths)
    close(got, [y, h, c])
