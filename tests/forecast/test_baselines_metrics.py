"""Baselines and metrics: rnnkit/forecast/baselines.py and metrics.py, against NumPy/statsmodels references."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from rnnkit.forecast import metrics as M
from rnnkit.forecast.baselines import LinearForecaster, naive, seasonal_naive


def test_metrics_against_formulas():
    rng = np.random.default_rng(0)
    y, f = rng.normal(size=(5, 4, 2)), rng.normal(size=(5, 4, 2))
    assert M.mae(y, f) == pytest.approx(np.mean(np.abs(y - f)))
    assert M.mse(y, f) == pytest.approx(np.mean((y - f) ** 2))
    assert M.rmse(y, f) == pytest.approx(np.sqrt(np.mean((y - f) ** 2)))
    assert M.smape(y, f) == pytest.approx(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))
    train = rng.normal(size=(30, 2))
    scale = M.naive_scale(train, season=3)
    np.testing.assert_allclose(scale, np.mean(np.abs(train[3:] - train[:-3]), axis=0))
    assert M.mase(y, f, scale) == pytest.approx(np.mean(np.abs(y - f) / scale))
    mask = np.zeros_like(y, bool)
    mask[0] = True
    assert M.mae(y, f, mask) == pytest.approx(np.mean(np.abs(y[0] - f[0])))
    assert M.coverage(y, y - 1, y + 1) == 1.0


def test_metric_errors():
    with pytest.raises(ValueError) as err:
        M.mae(np.zeros(3), np.zeros(4))
    assert str(err.value) == "expected truth and forecast of the same shape, got (3,) and (4,)"
    with pytest.raises(ValueError) as err:
        M.mse(np.zeros(3), np.zeros(3), np.zeros(3, bool))
    assert str(err.value) == "no observed value to score"
    with pytest.raises(ValueError) as err:
        M.naive_scale(np.zeros((3, 1)), season=3)
    assert str(err.value) == "MASE needs more than season=3 training rows, got 3"


def test_naive_and_seasonal_naive():
    x = np.arange(10.0).reshape(1, 10, 1)
    assert naive(x, 3)[0, :, 0].tolist() == [9.0, 9.0, 9.0]
    assert seasonal_naive(x, 5, 4)[0, :, 0].tolist() == [6.0, 7.0, 8.0, 9.0, 6.0]
    with pytest.raises(ValueError) as err:
        seasonal_naive(x, 5, 11)
    assert str(err.value) == "seasonal naive needs 1 <= season <= lookback (10), got season=11"


@pytest.mark.parametrize("decompose", [True, False])
def test_linear_baseline_recovers_a_linear_process(decompose):
    # An AR(2) process is exactly linear in its look-back; the ridge fit must recover its one-step map.
    rng = np.random.default_rng(0)
    y = np.zeros(3000)
    for t in range(2, len(y)):
        y[t] = 1.5 * y[t - 1] - 0.7 * y[t - 2] + rng.normal()
    w = sliding_window_view(y, 9)[:, :, None]  # (N, 9, 1)
    # (ridge ~0: the decomposed features are a reparametrisation of the look-back, so the fits agree.)
    model = LinearForecaster(8, 1, decompose=decompose, ridge=1e-12).fit(w[:, :8], w[:, 8:])
    pred = model.predict(w[:, :8])[:, 0, 0]
    design = np.concatenate([w[:, :8, 0], np.ones((len(w), 1))], axis=1)
    coef = np.linalg.lstsq(design, w[:, 8, 0], rcond=None)[0]  # the least-squares reference
    np.testing.assert_allclose(pred, design @ coef, atol=1e-3)
    np.testing.assert_allclose(coef[6:8], [-0.7, 1.5], atol=0.1)  # and it found the process
    with pytest.raises(ValueError) as err:
        model.predict(w[:, :7])
    assert str(err.value) == "expected look-back windows of 8 steps, got 7"
    with pytest.raises(ValueError) as err:
        LinearForecaster(8, 1).predict(w[:, :8])
    assert str(err.value) == "LinearForecaster.predict called before fit"
