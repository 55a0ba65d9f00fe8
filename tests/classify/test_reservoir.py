"""The reservoir classifier against references: its recurrence against a float64 NumPy loop, its ridge readout
against scikit-learn, padding invariance, and saving inside an ensemble beside a trained network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.classify.data import load_dataset, pad
from rnnkit.classify.model import ClassifierEnsemble, SequenceClassifier
from rnnkit.classify.reservoir import ALPHAS, ReservoirClassifier, dilations_for, fit_reservoir, ridge_loo
from rnnkit.train import load_model


def numpy_features(model, x, threshold=0.0):
    """The forward reading's features of one series x (T, 2) in float64 NumPy, step by step; "positive" counts the
    steps a state exceeds ``threshold`` (N,)."""
    T = len(x)
    z = (x.astype(np.float64) - [0.5, -1.0]) / [2.0, 0.5]  # (T, F)
    dz = np.diff(z, axis=0, prepend=z[:1]) / [1.5, 0.7]
    u = np.concatenate([z, dz], axis=1)  # (T, 2F)
    w_in, w_rec = model.w_in.double().numpy(), model.w_rec.double().numpy()
    bias, leak = model.bias.double().numpy(), model.leak.double().numpy()
    h = np.zeros(len(bias))
    states = []
    for t in range(T):
        drive = []
        for g, d in enumerate(model.dilations):
            past = [u[t - j * d] if t - j * d >= 0 else np.zeros(4) for j in range(model.window - 1, -1, -1)]
            drive.append(np.concatenate(past) @ w_in[g])
        h = (1 - leak) * h + leak * np.tanh(np.concatenate(drive) + bias + h @ w_rec)
        states.append(h)
    states = np.array(states)
    return np.concatenate([states.mean(0), states.max(0), states[-1], (states > threshold).mean(0)])


@pytest.mark.parametrize(
    "window, bidirectional, calibrated", [(1, False, False), (3, False, False), (3, True, False), (3, True, True)]
)
def test_features_match_a_float64_numpy_loop(window, bidirectional, calibrated):
    shape = dict(units=5, groups=3, window=window, dilations=dilations_for(12, window, 3))
    model = ReservoirClassifier(2, 3, **shape, bidirectional=bidirectional, calibrated=calibrated, seed=4)
    model.mean.copy_(torch.tensor([0.5, -1.0]))
    model.std.copy_(torch.tensor([2.0, 0.5]))
    model.diff_std.copy_(torch.tensor([1.5, 0.7]))
    threshold = np.zeros((2, 15))
    if calibrated:
        threshold = 0.3 * np.random.default_rng(0).normal(size=(2, 15))
        model.threshold.copy_(torch.from_numpy(threshold))
    x = torch.randn(1, 12, 2)
    got = model.features(x).double().numpy()[0]

    series = x[0].numpy()
    want = numpy_features(model, series, threshold[0])
    if bidirectional:  # the same reservoirs read the series end to start
        want = np.concatenate([want, numpy_features(model, series[::-1], threshold[1])])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_calibrated_thresholds_are_each_units_mean_state_over_the_training_series(tmp_path):
    train = load_dataset("ItalyPowerDemand", "train")
    model = fit_reservoir(train, window=3, units=4, groups=2, calibrated=True)
    plain = fit_reservoir(train, window=3, units=4, groups=2, calibrated=False)  # the same reservoir, threshold 0
    states = plain.features(*pad(train.series[:64])).double().numpy()  # (64, 8 * 2 * 4): per direction 4 blocks
    want = states.reshape(64, 2, 4, 8)[:, :, 0].mean(axis=0)  # the "mean" block of each direction
    np.testing.assert_allclose(model.threshold.double().numpy(), want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(want, 0.0)
    model.save(tmp_path)
    torch.testing.assert_close(load_model(tmp_path).threshold, model.threshold)


def test_model_files_without_the_bidirectional_key_read_forwards_only():
    model = ReservoirClassifier(2, 3, units=4, groups=2, bidirectional=True)
    config = model.model_config()
    del config["bidirectional"], config["calibrated"]  # written before the options existed
    old = ReservoirClassifier.from_model_config(config)
    assert not old.bidirectional and old.head.in_features == model.head.in_features // 2
    assert not old.calibrated and "threshold" not in dict(old.named_buffers())


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_the_scores(bidirectional):
    torch.manual_seed(0)
    model = ReservoirClassifier(2, 3, units=4, groups=2, window=3, dilations=[1, 2], bidirectional=bidirectional)
    series = [torch.randn(n, 2) for n in (7, 3, 5)]
    x, lengths = pad([s.numpy() for s in series])
    batched = model(x, lengths)
    alone = torch.cat([model(s[None]) for s in series])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_ridge_readout_matches_scikit_learn():
    from sklearn.linear_model import Ridge, RidgeClassifierCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 60))  # more features than series, as the reservoir's are
    y = rng.integers(0, 3, size=40)
    X[:, 0] += y  # some signal
    weight, bias, alpha, temperature = ridge_loo(torch.from_numpy(X), torch.from_numpy(y), 3)
    reference = RidgeClassifierCV(alphas=ALPHAS).fit(X, y)
    assert alpha == pytest.approx(reference.alpha_)
    ridge = Ridge(alpha=alpha).fit(X, np.where(np.eye(3)[y] > 0, 1.0, -1.0))
    np.testing.assert_allclose(weight.numpy(), ridge.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(bias.numpy(), ridge.intercept_, rtol=1e-6, atol=1e-8)
    assert 0.01 <= temperature <= 10


def test_fitted_on_a_real_data_set_and_saved_beside_a_network(tmp_path):
    train, test = load_dataset("ItalyPowerDemand", "train"), load_dataset("ItalyPowerDemand", "test")
    reservoir = fit_reservoir(train, window=9, units=16, groups=4)
    x, lengths = pad(test.series)
    pred = reservoir(x, lengths).argmax(-1).numpy()
    accuracy = np.mean([reservoir.labels[i] == c for i, c in zip(pred, test.labels)])
    assert accuracy > 0.8  # two balanced classes: chance is 0.5
    network = SequenceClassifier(1, 4, 1, 2, labels=reservoir.labels).eval()
    ensemble = ClassifierEnsemble([network, reservoir], [0.5, 0.5]).eval()
    ensemble.save(tmp_path)
    loaded = load_model(tmp_path).eval()
    torch.testing.assert_close(loaded(x[:20], lengths[:20]), ensemble(x[:20], lengths[:20]))
    assert [type(m).__name__ for m in loaded.members] == ["SequenceClassifier", "ReservoirClassifier"]
    assert loaded.members[1].dilations == reservoir.dilations and loaded.weights == [0.5, 0.5]
