"""LSTM/GRU/RNN extension keywords: the fused sequence functions equal the plain autograd loop (values and
gradients, random shapes and lengths), pass gradcheck in float64, and the dropout variants behave as documented."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit.nn as rnn
from rnnkit.nn import extended
from rnnkit.nn.gru_seq import GRUSequence, gru_reference
from rnnkit.nn.lstm_seq import LSTMSequence, lstm_reference

F64 = torch.float64


def _options(kind, ln, peep, rd, zo):
    opts = {"layer_norm": ln, "recurrent_dropout": rd, "zoneout": zo}
    if kind == "LSTM":
        opts["peephole"] = peep
    return opts


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["LSTM", "GRU"]),
    ln=st.booleans(),
    peep=st.booleans(),
    rd=st.sampled_from([0.0, 0.3]),
    zo=st.sampled_from([0.0, 0.2]),
    train=st.booleans(),
    layers=st.integers(1, 2),
    bidir=st.booleans(),
    B=st.integers(1, 4),
    T=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_fused_function_equals_reference_loop(kind, ln, peep, rd, zo, train, layers, bidir, B, T, seed):
    torch.manual_seed(seed)
    opts = _options(kind, ln, peep, rd, zo)
    fast = getattr(rnn, kind)(3, 4, num_layers=layers, bidirectional=bidir, batch_first=True, **opts)
    ref = getattr(rnn, kind)(3, 4, num_layers=layers, bidirectional=bidir, batch_first=True, **opts)
    with torch.no_grad():  # non-trivial gains and peepholes
        for p in fast.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref.load_state_dict(fast.state_dict())
    ref.reference = True
    fast.train(train)
    ref.train(train)
    x = torch.randn(B, T, 3)
    lengths = torch.randint(1, T + 1, (B,))  # often max(lengths) < T
    torch.manual_seed(seed)  # the same dropout and zoneout masks for both
    y1, h1 = fast(x, lengths=lengths)
    torch.manual_seed(seed)
    y2, h2 = ref(x, lengths=lengths)
    torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)
    s1, s2 = (h1 if isinstance(h1, tuple) else (h1,)), (h2 if isinstance(h2, tuple) else (h2,))
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    loss1 = y1.square().sum() + sum(s.sum() for s in s1)
    loss2 = y2.square().sum() + sum(s.sum() for s in s2)
    g1 = torch.autograd.grad(loss1, list(fast.parameters()))
    g2 = torch.autograd.grad(loss2, list(ref.parameters()))
    for (name, _), a, b in zip(fast.named_parameters(), g1, g2):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=name)


LSTM_CASES = [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 1, 1)]


@pytest.mark.parametrize(("ln", "peep", "mask", "zone"), LSTM_CASES)
def test_lstm_sequence_gradcheck(ln, peep, mask, zone):
    torch.manual_seed(0)
    T, B, H = 3, 2, 3
    args = (
        torch.randn(T, B, 4 * H, dtype=F64, requires_grad=True),
        torch.randn(B, H, dtype=F64, requires_grad=True),
        torch.randn(B, H, dtype=F64, requires_grad=True),
        torch.randn(4 * H, H, dtype=F64, requires_grad=True),
        (1 + 0.1 * torch.randn(4 * H, dtype=F64)).requires_grad_() if ln else None,
        (1 + 0.1 * torch.randn(H, dtype=F64)).requires_grad_() if ln else None,
        (0.1 * torch.randn(H, dtype=F64)).requires_grad_() if ln else None,
        (0.3 * torch.randn(3 * H, dtype=F64)).requires_grad_() if peep else None,
        (torch.rand(B, H, dtype=F64) > 0.3).to(F64) * 1.5 if mask else None,
        (torch.rand(2, T, B, H, dtype=F64) > 0.5).to(F64) if zone else None,
    )
    y1, h1, c1 = LSTMSequence.apply(*args)
    y2, h2, c2 = lstm_reference(
        *args[:5], None if args[5] is None else (args[5], args[6]), args[7], args[8], zones=args[9]
    )
    torch.testing.assert_close((y1, h1, c1), (y2, h2, c2))
    assert torch.autograd.gradcheck(LSTMSequence.apply, args)


@pytest.mark.parametrize(("ln", "bias", "mask", "zone"), [(0, 1, 0, 0), (1, 1, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1)])
def test_gru_sequence_gradcheck(ln, bias, mask, zone):
    torch.manual_seed(0)
    T, B, H = 3, 2, 3
    args = (
        torch.randn(T, B, 3 * H, dtype=F64, requires_grad=True),
        torch.randn(B, H, dtype=F64, requires_grad=True),
        torch.randn(3 * H, H, dtype=F64, requires_grad=True),
        torch.randn(3 * H, dtype=F64, requires_grad=True) if bias else None,
        (1 + 0.1 * torch.randn(3 * H, dtype=F64)).requires_grad_() if ln else None,
        (torch.rand(B, H, dtype=F64) > 0.3).to(F64) * 1.5 if mask else None,
        (torch.rand(T, B, H, dtype=F64) > 0.5).to(F64) if zone else None,
    )
    torch.testing.assert_close(GRUSequence.apply(*args), gru_reference(*args[:6], zones=args[6]))
    assert torch.autograd.gradcheck(GRUSequence.apply, args)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_dropout_is_an_exact_no_op_in_eval(kind):
    torch.manual_seed(0)
    ours = getattr(rnn, kind)(3, 5, num_layers=2, recurrent_dropout=0.4).eval()
    ref = getattr(torch.nn, kind)(3, 5, num_layers=2).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(6, 2, 3)
    assert torch.equal(ours(x)[0], ref(x)[0])
    ours.train()
    assert not torch.allclose(ours(x)[0], ref(x)[0])


def test_recurrent_dropout_draws_one_mask_per_sequence(monkeypatch):
    seen = []
    real = LSTMSequence.apply

    def spy(*args):
        seen.append(args[8])
        return real(*args)

    monkeypatch.setattr(extended.LSTMSequence, "apply", spy)
    torch.manual_seed(0)
    layer = rnn.LSTM(3, 64, num_layers=2, bidirectional=True, recurrent_dropout=0.25, batch_first=True)
    layer(torch.randn(8, 5, 3), lengths=[5, 5, 4, 3, 3, 2, 1, 1])
    masks: dict[int, torch.Tensor] = {}
    for m in seen:  # the blocks of time (one per distinct length) see row slices of the same mask
        base = masks.setdefault(m.untyped_storage().data_ptr(), m)
        assert torch.equal(m, base[: m.shape[0]]) and m.shape[0] <= base.shape[0]
        if m.shape[0] > base.shape[0]:
            masks[m.untyped_storage().data_ptr()] = m
    assert len(masks) == 4  # one (B, H) mask per layer and direction, for the whole sequence
    for m in masks.values():
        assert m.shape == (8, 64)
        assert set(m.unique().tolist()) <= {0.0, torch.tensor(1 / 0.75).item()}
        assert 0.15 < (m == 0).float().mean() < 0.35


def test_zoneout_masks_per_step_in_training_and_expectation_in_eval():
    torch.manual_seed(0)
    layer = rnn.GRU(2, 3, zoneout=0.5, batch_first=True)
    x = torch.randn(2, 7, 2)
    train1, train2 = layer(x)[0], layer(x)[0]
    assert not torch.equal(train1, train2)  # fresh masks each call
    layer.eval()
    torch.testing.assert_close(layer(x)[0], layer(x)[0])
    gx = torch.nn.functional.linear(x.transpose(0, 1), layer.weight_ih_l0, layer.bias_ih_l0)
    zones = torch.full((7, 2, 3), 0.5)
    y, _ = gru_reference(gx, torch.zeros(2, 3), layer.weight_hh_l0, layer.bias_hh_l0, None, None, zones=zones)
    torch.testing.assert_close(layer(x)[0], y.transpose(0, 1))


@pytest.mark.parametrize("opts", [{"layer_norm": True}, {"peephole": True, "zoneout": 0.1}])
def test_step_equals_whole_sequence_in_eval(opts):
    torch.manual_seed(0)
    layer = rnn.LSTM(3, 4, num_layers=2, **opts).eval()
    x = torch.randn(5, 2, 3)
    y, (_h, c) = layer(x)
    state = None
    for t in range(5):
        y_t, state = layer.step(x[t], state)
        torch.testing.assert_close(y_t, y[t])
    torch.testing.assert_close(state[1], c)


def test_parameter_names_and_state_dict_round_trip():
    a = rnn.LSTM(3, 4, bidirectional=True, layer_norm=True, peephole=True)
    names = set(a.state_dict())
    for extra in ("weight_ln_ih", "weight_ln_hh", "weight_ln_c", "bias_ln_c", "weight_peephole"):
        assert {extra + "_l0", extra + "_l0_reverse"} <= names
    assert a.weight_ln_ih_l0.shape == (16,) and a.weight_peephole_l0.shape == (12,)
    assert torch.equal(a.weight_ln_c_l0, torch.ones(4))  # gains start at 1 after torch's uniform init
    b = rnn.LSTM(3, 4, bidirectional=True, layer_norm=True, peephole=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(a(x)[0], b(x)[0])


def test_registered_names_build_the_extended_layers():
    assert rnn.make_layer("ln_lstm", 3, 4).layer_norm
    assert rnn.make_layer("ln_gru", 3, 4).layer_norm
    assert rnn.make_layer("peephole_lstm", 3, 4).peephole
    assert rnn.make_layer("lstm", 3, 4, recurrent_dropout=0.25).recurrent_dropout == 0.25


def test_bad_extension_arguments():
    with pytest.raises(ValueError) as err:
        rnn.GRU(3, 4, peephole=True)
    assert str(err.value) == "GRU: peephole is an option of LSTM, not GRU; got peephole=True"
    with pytest.raises(ValueError) as err:
        rnn.LSTM(3, 4, recurrent_dropout=1.0)
    assert str(err.value) == "LSTM: expected recurrent_dropout to be a probability in [0, 1), got 1.0"
    with pytest.raises(ValueError) as err:
        rnn.LSTM(3, 4, proj_size=2, layer_norm=True)
    assert str(err.value) == "LSTM: proj_size cannot be combined with layer_norm"
