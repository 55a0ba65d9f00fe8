"""SequenceClassifier: padding never changes a sequence's logits, pooling reads valid steps only, save/load."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.classify.model import SequenceClassifier
from rnnkit.train import load_model


def _batch(lengths: list[int], features: int, pad_value: float = 0.0) -> tuple[list[torch.Tensor], torch.Tensor]:
    seqs = [torch.randn(n, features) for n in lengths]
    x = torch.full((len(lengths), max(lengths), features), pad_value)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    return seqs, x


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(["lstm", "gru", "rnn", "ln_lstm", "mingru", "indrnn"]),  # names from the nn registry
    bidirectional=st.booleans(),
    pooling=st.sampled_from(["last", "mean", "max", "meanmax", "all"]),
    num_layers=st.integers(1, 2),
    patch=st.integers(1, 3),
    diff=st.booleans(),
    conv=st.sampled_from([0, 4]),
    squeeze=st.booleans(),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_padding_does_not_change_outputs(
    cell, bidirectional, pooling, num_layers, patch, diff, conv, squeeze, lengths, seed
):
    torch.manual_seed(seed)
    model = SequenceClassifier(
        3,
        5,
        num_layers,
        4,
        cell=cell,
        bidirectional=bidirectional,
        pooling=pooling,
        patch=patch,
        diff=diff,
        conv=conv,
        squeeze=squeeze,
        mean=[0.5, -1.0, 2.0],
        std=[2.0, 0.5, 1.0],
        diff_std=[0.5, 1.0, 2.0],
    ).eval()
    if conv:  # BatchNorm running statistics away from (0, 1), so eval mode is not the identity
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    seqs, x = _batch(lengths, 3, pad_value=123.0)  # a pad value that would show if it leaked in
    batched = model(x, torch.tensor(lengths))
    alone = torch.cat([model(s[None]) for s in seqs])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_pooling_reads_valid_steps_only():
    torch.manual_seed(0)
    lengths = [4, 2]
    for pooling in ("last", "mean", "max"):
        model = SequenceClassifier(2, 3, 1, 2, cell="gru", bidirectional=True, pooling=pooling).eval()
        seqs, x = _batch(lengths, 2)
        with torch.no_grad():
            feats = []
            for s in seqs:  # the reference: torch.nn.GRU on the unpadded sequence
                y, h = torch.nn.GRU.forward(model.rnn, s[None])
                feats.append({"last": h.transpose(0, 1).reshape(1, -1), "mean": y.mean(1), "max": y.amax(1)}[pooling])
            expected = model.head(torch.cat(feats))
            torch.testing.assert_close(model(x, lengths), expected, atol=1e-6, rtol=1e-5)


def test_standardisation_travels_with_the_model():
    model = SequenceClassifier(2, 4, 1, 3, mean=[10.0, -5.0], std=[2.0, 4.0]).eval()
    shifted = SequenceClassifier(2, 4, 1, 3).eval()
    shifted.load_state_dict(model.state_dict())
    x = torch.randn(2, 6, 2)
    raw = x * torch.tensor([2.0, 4.0]) + torch.tensor([10.0, -5.0])
    torch.testing.assert_close(model(raw), shifted(x))


def test_save_load_gives_identical_predictions(tmp_path):
    torch.manual_seed(0)
    model = SequenceClassifier(
        3,
        6,
        2,
        3,
        cell="lstm",
        bidirectional=True,
        pooling="all",
        dropout=0.2,
        patch=2,
        diff=True,
        mean=[0.1, 0.2, 0.3],
        std=[1.0, 2.0, 3.0],
        diff_std=[0.3, 0.2, 0.1],
        labels=["walk", "run", "sit"],
    ).eval()
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, SequenceClassifier)
    assert loaded.model_config() == model.model_config()
    assert loaded.labels == ["walk", "run", "sit"]
    x, lengths = torch.randn(4, 7, 3), torch.tensor([7, 1, 3, 5])
    torch.testing.assert_close(loaded(x, lengths), model(x, lengths), atol=0, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"cell": "transformer"},
            "unknown cell 'transformer'; choose one of 'rnn', 'lstm', 'gru', 'ln_lstm', '"
            "ln_gru', 'peephole_lstm', 'indrnn', 'mingru', 'minlstm'",
        ),
        ({"pooling": "first"}, "unknown pooling 'first'; choose one of 'last', 'mean', 'max', 'meanmax', 'all'"),
        ({"dropout": 1.5}, "expected dropout in [0, 1), got 1.5"),
        ({"patch": 0}, "expected patch to be a positive integer, got 0"),
        ({"labels": ["a"]}, "expected num_classes=2 labels, got 1"),
        ({"mean": [0.0]}, "expected mean to have input_size=3 values, got 1"),
        ({"std": [1.0, 0.0, 1.0]}, "expected every std > 0, got 0.0"),
        ({"diff_std": [1.0, -1.0, 1.0]}, "expected every diff_std > 0, got -1.0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as err:
        SequenceClassifier(3, 4, 1, 2, **kwargs)
    assert str(err.value) == message


def test_hidden_size_must_be_positive():
    with pytest.raises(ValueError) as err:
        SequenceClassifier(3, 0, 1, 2)
    assert str(err.value) == "expected hidden_size to be a positive integer, got 0"


def test_wrong_input_shape():
    model = SequenceClassifier(3, 4, 1, 2)
    with pytest.raises(ValueError) as err:
        model(torch.randn(2, 5, 4))
    assert str(err.value) == "SequenceClassifier: expected input of shape (batch, time, 3), got (2, 5, 4)"


def test_the_convolutional_branch_matches_a_hand_written_fcn():
    """LSTM-FCN's branch against the published recipe written out with torch.nn.functional: three conv blocks
    with kernels 8, 5, 3 ("same" padding, k // 2 zeros before), BatchNorm (eval statistics), ReLU, squeeze-and-
    excitation after the first two, then the mean over time."""
    import torch.nn.functional as F

    from rnnkit.classify.model import ConvBranch

    torch.manual_seed(0)
    branch = ConvBranch(2, 6, squeeze=True).eval()
    for m in branch.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(3, 11, 2)  # (B, T, F)
    h = x.transpose(1, 2).double()
    for i, block in enumerate(branch.blocks):
        conv, bn = block[0], block[1]
        k = conv.kernel_size[0]
        h = F.conv1d(F.pad(h, (k // 2, (k - 1) // 2)), conv.weight.double())
        h = (h - bn.running_mean.double()[:, None]) / (bn.running_var.double()[:, None] + bn.eps).sqrt()
        h = torch.relu(h * bn.weight.double()[:, None] + bn.bias.double()[:, None])
        if i < 2:
            gate = branch.excite[i].gate.double()
            h = h * gate(h.mean(dim=-1))[..., None]
            branch.excite[i].gate.float()
    torch.testing.assert_close(branch(x, None).double(), h.mean(dim=-1), atol=1e-5, rtol=1e-5)


def test_a_classifier_with_a_convolutional_branch_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    model = SequenceClassifier(2, 4, 1, 3, cell="gru", conv=4, squeeze=True, labels=["a", "b", "c"]).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)  # statistics a trained model has: they must travel with the weights
    model.save(tmp_path)
    loaded = load_model(tmp_path).eval()
    x = torch.randn(2, 9, 2)
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.model_config()["conv"] == 4 and loaded.model_config()["squeeze"] is True
