"""Forecasting models and heads: rnnkit/forecast/models.py and heads.py."""

from __future__ import annotations

import math
import os
import shutil
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from rnnkit.forecast.heads import GaussianHead, QuantileHead, StudentTHead, make_head
from rnnkit.forecast.models import SegRNN, _shared_step, make_model
from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.train import load_model

L, H, C = 12, 6, 3


def kwargs(name: str, **extra) -> dict:
    base = {"lookback": L, "horizon": H, "num_targets": C}
    base.update({"seg_len": 3, "d_model": 8} if name == "segrnn" else {"hidden_size": 8})
    base.update(extra)
    return base


def batch(b: int = 4, past: int = 0, future: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "x": torch.randn(b, L, C, generator=g),
        "x_mask": torch.ones(b, L, C, dtype=torch.bool),
        "past": torch.randn(b, L, past, generator=g),
        "future": torch.randn(b, L + H, future, generator=g),
        "y": torch.randn(b, H, C, generator=g),
        "y_mask": torch.ones(b, H, C, dtype=torch.bool),
    }


@pytest.mark.parametrize(
    ("name", "head", "cell"),
    [
        (name, head, ["gru", "lstm"][(i + j) % 2])  # every model x head, each cell on half of them
        for i, name in enumerate(["segrnn", "rnn", "ar"])
        for j, head in enumerate(["point", "median", "gaussian", "studentt", "quantile"])
    ],
)
def test_shapes_losses_and_gradients(name, head, cell):
    torch.manual_seed(0)
    model = make_model(name, cell=cell, head=head, **kwargs(name))
    b = batch()
    out = model(b)
    k = {"point": 1, "median": 1, "gaussian": 2, "studentt": 3, "quantile": 3}[head]
    assert out.shape == (4, H, C, k)
    loss = model.loss(b)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    with torch.no_grad():
        point = model.head.point(model(b))
    assert point.shape == (4, H, C)
    if model.head.intervals:
        lo, hi = model.head.quantile(model(b), 0.1), model.head.quantile(model(b), 0.9)
        assert torch.all(lo <= hi)


@pytest.mark.parametrize("name", ["rnn", "ar"])
def test_covariates_change_the_forecast(name):
    torch.manual_seed(0)
    model = make_model(name, num_past=2, num_future=1, **kwargs(name)).eval()
    b = batch(past=2, future=1)
    with torch.no_grad():
        base = model(b)
        b2 = dict(b, future=b["future"].clone())
        b2["future"][:, L:] += 1.0  # only the horizon's known-future values change
        assert not torch.allclose(model(b2), base)


def test_segrnn_is_channel_independent_and_scale_equivariant():
    torch.manual_seed(0)
    model = SegRNN(**kwargs("segrnn")).eval()
    b = batch()
    with torch.no_grad():
        out = model(b)[..., 0]
        b2 = dict(b, x=b["x"].clone())
        b2["x"][:, :, 0] += 5.0  # channel 0 only
        out2 = model(b2)[..., 0]
        torch.testing.assert_close(out2[:, :, 1:], out[:, :, 1:])  # other channels untouched
        # RevIN: shifting and scaling a window shifts and scales its forecast.
        b3 = dict(b, x=b["x"] * 3 + 7)
        torch.testing.assert_close(model(b3)[..., 0], out * 3 + 7, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("cell", "kw"), [(GRU, {}), (LSTM, {}), (RNN, {}), (RNN, {"nonlinearity": "relu"}), (GRU, {"bias": False})]
)
def test_segrnn_shared_decoder_step_matches_the_cell_on_every_row(cell, kw):
    """The decoder's shared step equals running the torch cell on all B*C*S rows (inputs repeated over windows,
    states over segments), forward and every gradient, in float64 on random sizes."""
    rng = np.random.default_rng(7)
    for _ in range(3):
        B, C, S, d_in, D = (int(v) for v in rng.integers(1, 6, size=5))
        rnn = cell(d_in, D, 1, batch_first=True, **kw).double()
        x = torch.randn(C, S, d_in, dtype=torch.double, requires_grad=True)
        n_states = 2 if cell is LSTM else 1
        states = [torch.randn(1, B * C, D, dtype=torch.double, requires_grad=True) for _ in range(n_states)]
        state = tuple(states) if cell is LSTM else states[0]
        fast = _shared_step(rnn, x, state, B)  # (B, C, S, D)
        rows = x.unsqueeze(0).expand(B, -1, -1, -1).reshape(B * C * S, 1, d_in)
        repeated = [s.repeat_interleave(S, dim=1) for s in states]
        ref, _ = rnn(rows, tuple(repeated) if cell is LSTM else repeated[0])
        ref = ref.view(B, C, S, D)
        torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)
        g = torch.randn_like(ref)
        wrt = [x, *states, *rnn.parameters()]
        for a, b in zip(torch.autograd.grad((fast * g).sum(), wrt), torch.autograd.grad((ref * g).sum(), wrt)):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_model_errors():
    with pytest.raises(ValueError) as err:
        SegRNN(lookback=10, horizon=6, num_targets=1, seg_len=4)
    assert str(err.value) == "segrnn needs --lookback and --horizon divisible by --seg_len, got 10, 6 and 4"
    with pytest.raises(ValueError) as err:
        SegRNN(lookback=12, horizon=6, num_targets=1, seg_len=3, num_future=2)
    assert str(err.value) == "model 'segrnn' is channel-independent and uses no covariates; use --model rnn or ar"
    with pytest.raises(ValueError) as err:
        make_model("transformer", lookback=1, horizon=1, num_targets=1)
    assert str(err.value) == "unknown model 'transformer'; choose one of 'segrnn', 'rnn', 'ar'"
    with pytest.raises(ValueError) as err:
        make_model("rnn", cell="tcn", **kwargs("rnn"))
    assert str(err.value) == "unknown cell 'tcn'; choose one of 'gru', 'lstm', 'rnn'"
    with pytest.raises(ValueError) as err:
        make_model("rnn", lookback=0, horizon=1, num_targets=1)
    assert str(err.value) == "expected lookback to be a positive integer, got 0"
    model = make_model("rnn", **kwargs("rnn"))
    with pytest.raises(ValueError) as err:
        model({"x": torch.zeros(2, L + 1, C)})
    assert str(err.value) == f"expected x of shape (B, {L}, {C}), got (2, {L + 1}, {C})"
    with pytest.raises(ValueError) as err:
        make_head("poisson")
    assert (
        str(err.value) == "unknown head 'poisson'; choose one of 'point', 'median', 'gaussian', 'studentt', 'quantile'"
    )
    with pytest.raises(ValueError) as err:
        QuantileHead([0.5, 1.0])
    assert str(err.value) == "expected distinct quantile levels strictly between 0 and 1, got [0.5, 1.0]"
    with pytest.raises(ValueError) as err:
        make_head("point").quantile(torch.zeros(1, 1), 0.1)
    assert str(err.value) == "the 'point' head gives no intervals; train with --head gaussian|studentt|quantile"


def test_head_quantiles_match_scipy():
    p = torch.tensor([[1.0, 2.0]])
    assert float(GaussianHead().quantile(p, 0.9)) == pytest.approx(stats.norm.ppf(0.9, 1.0, 2.0), rel=1e-5)
    p = torch.tensor([[1.0, 2.0, 4.0]])
    assert float(StudentTHead().quantile(p, 0.1)) == pytest.approx(stats.t.ppf(0.1, 4.0, 1.0, 2.0), rel=1e-5)
    q = QuantileHead([0.1, 0.5, 0.9])
    p = torch.tensor([[0.0, 1.0, 3.0]])
    assert float(q.quantile(p, 0.7)) == pytest.approx(2.0)
    assert float(q.point(p)) == 1.0
    # Gaussian NLL equals -log N(y; mu, sigma).
    g = GaussianHead()
    y = torch.tensor([0.5])
    assert float(g.loss(torch.tensor([[1.0, 2.0]]), y)) == pytest.approx(-stats.norm.logpdf(0.5, 1.0, 2.0), rel=1e-5)
    # The affine change of units maps quantiles exactly.
    params = torch.tensor([[1.0, 2.0]])
    moved = g.affine(params, torch.tensor([10.0]), torch.tensor([3.0]))
    assert float(g.quantile(moved, 0.9)) == pytest.approx(10 + 3 * float(g.quantile(params, 0.9)), rel=1e-5)


def test_pinball_loss_and_masks():
    q = QuantileHead([0.1, 0.9])
    p = torch.tensor([[0.0, 0.0]])
    assert float(q.loss(p, torch.tensor([1.0]))) == pytest.approx(0.1 + 0.9)
    # Masked entries are left out of every loss.
    head = make_head("point")
    params = torch.tensor([[[0.0]], [[10.0]]])
    y = torch.zeros(2, 1)
    assert float(head.loss(params, y, torch.tensor([[True], [False]]))) == 0.0
    assert math.isclose(float(head.loss(params, y)), 50.0)


@pytest.mark.parametrize("name", ["segrnn", "rnn", "ar"])
def test_save_load_round_trip(tmp_path, name):
    torch.manual_seed(0)
    extra = {} if name == "segrnn" else {"num_future": 1}
    model = make_model(name, head="studentt", meta={"targets": ["a", "b", "c"]}, **kwargs(name, **extra)).eval()
    b = batch(future=0 if name == "segrnn" else 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)  # not just the initial values
        want = model(b)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.meta == {"targets": ["a", "b", "c"]}
    with torch.no_grad():
        torch.testing.assert_close(loaded(b), want)
    np.testing.assert_equal(loaded.model_config(), model.model_config())


def _members(head: str, n: int = 3, name: str = "segrnn") -> list:
    members = []
    for seed in range(n):
        torch.manual_seed(seed)
        members.append(make_model(name, head=head, **kwargs(name)).eval())
    return members


@pytest.mark.parametrize("head", ["point", "median", "quantile"])
def test_ensemble_averages_the_members(head):
    from rnnkit.forecast.models import ForecastEnsemble

    members = _members(head)
    b = batch()
    with torch.no_grad():
        got = ForecastEnsemble(members).eval()(b)
        want = sum(m(b) for m in members) / 3
    torch.testing.assert_close(got, want)


def test_gaussian_ensemble_matches_the_mixture_moments():
    """Against the moments of the equal-weight mixture, estimated from 200k draws of it."""
    from rnnkit.forecast.models import ForecastEnsemble

    members = _members("gaussian")
    b = batch(b=1)
    with torch.no_grad():
        params = torch.stack([m(b) for m in members])  # (M, 1, H, C, 2)
        got = ForecastEnsemble(members).eval()(b)
    g = torch.Generator().manual_seed(0)
    pick = torch.randint(0, 3, (200_000, 1, H, C), generator=g)
    mu = params[..., 0].gather(0, pick)  # one member per draw
    sigma = params[..., 1].gather(0, pick)
    draws = mu + sigma * torch.randn(mu.shape, generator=g)
    torch.testing.assert_close(got[..., 0], draws.mean(0, keepdim=True)[0], atol=0.02, rtol=0.0)
    torch.testing.assert_close(got[..., 1], draws.std(0, keepdim=True)[0], atol=0.02, rtol=0.02)


def test_ensemble_save_load_and_errors(tmp_path):
    from rnnkit.forecast.models import ForecastEnsemble

    ens = ForecastEnsemble(_members("quantile", 2), meta={"targets": ["a", "b", "c"]}).eval()
    b = batch()
    ens.save(tmp_path / "e")
    loaded = load_model(tmp_path / "e")
    assert isinstance(loaded, ForecastEnsemble) and len(loaded.members) == 2
    assert loaded.meta == {"targets": ["a", "b", "c"]}
    with torch.no_grad():
        torch.testing.assert_close(loaded(b), ens(b))
    with pytest.raises(ValueError, match="Student-t members cannot be combined"):
        ForecastEnsemble(_members("studentt", 2))
    with pytest.raises(ValueError, match="ensemble members disagree on horizon"):
        ForecastEnsemble([_members("point", 1)[0], make_model("segrnn", **kwargs("segrnn", horizon=3))])
    with pytest.raises(ValueError, match="expected at least one member"):
        ForecastEnsemble([])


@pytest.mark.parametrize("name", ["segrnn", "rnn", "ar"])
def test_cycle_is_taken_out_at_each_window_phase_and_put_back(name):
    torch.manual_seed(0)
    plain = make_model(name, **kwargs(name)).eval()
    cyc = make_model(name, cycle=5, **kwargs(name)).eval()
    cyc.load_state_dict({**plain.state_dict(), "cycle_values": torch.randn(5, C)})
    b = dict(batch(), t=torch.tensor([0, 3, 7, 123]))
    q = cyc.cycle_values.detach()
    # Brute force: the cycle value of step i of window j is q[(t_j + i) % 5].
    past = torch.stack([torch.stack([q[(t + i) % 5] for i in range(L)]) for t in b["t"].tolist()])
    ahead = torch.stack([torch.stack([q[(t + L + i) % 5] for i in range(H)]) for t in b["t"].tolist()])
    with torch.no_grad():
        want = plain(dict(b, x=b["x"] - past, y=b["y"] - ahead)) + ahead.unsqueeze(-1)
        torch.testing.assert_close(cyc(b), want)
        # Windows one whole cycle apart share their phase; one step apart they do not.
        torch.testing.assert_close(cyc(dict(b, t=b["t"] + 5)), cyc(b))
        assert not torch.allclose(cyc(dict(b, t=b["t"] + 1)), cyc(b))
    # A zero cycle (the start of training) changes nothing.
    cyc.cycle_values.data.zero_()
    with torch.no_grad():
        torch.testing.assert_close(cyc(b), plain(b))
    loss = cyc.loss(b)
    loss.backward()
    assert cyc.cycle_values.grad is not None and cyc.cycle_values.grad.abs().sum() > 0


def test_cycle_errors():
    with pytest.raises(ValueError) as err:
        make_model("segrnn", cycle=-1, **kwargs("segrnn"))
    assert str(err.value) == "expected cycle to be a whole number of steps >= 0 (0: none), got -1"
    model = make_model("segrnn", cycle=24, **kwargs("segrnn"))
    with pytest.raises(ValueError) as err:
        model(batch())
    assert str(err.value) == (
        "this model removes a learnt cycle of 24 steps and needs each window's time step 't' (WindowData gives it "
        "when the data's frequency has a step count); retrain with --cycle 0"
    )


def _loss_and_grads(model: SegRNN, batch: dict) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    loss = model.loss(batch)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def test_compiled_decoder_step_matches_the_eager_one_and_falls_back_when_compilation_fails(monkeypatch):
    import rnnkit.forecast.models as models

    torch.manual_seed(0)
    model = SegRNN(lookback=12, horizon=8, num_targets=3, seg_len=4, d_model=8, dropout=0.0)
    batch = {"x": torch.randn(5, 12, 3), "y": torch.randn(5, 8, 3), "y_mask": torch.ones(5, 8, 3, dtype=torch.bool)}
    want, want_grads = _loss_and_grads(model, batch)
    model.compile_step = True
    if shutil.which(os.environ.get("CXX", "c++")) is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler: torch.compile cannot build the decoder step here")
    with warnings.catch_warnings():  # a failed compilation falls back to eager with a warning: fail on it here
        warnings.filterwarnings("error", message="torch.compile of the decoder step failed")
        for b in (batch, {k: v[:2] for k, v in batch.items()}, batch):  # a second batch size recompiles
            got, got_grads = _loss_and_grads(model, b)
    assert models._COMPILED["gru"] is not None  # compiled, not fallen back to eager
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setitem(models._COMPILED, "gru", broken)
    with pytest.warns(UserWarning, match="running it eagerly: no C.. compiler"):
        got, _ = _loss_and_grads(model, batch)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert models._COMPILED["gru"] is None  # no second try
