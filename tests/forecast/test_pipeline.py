"""Evaluation units and MASE per series: rnnkit/forecast/pipeline.py against direct NumPy computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.forecast.data import load_series
from rnnkit.forecast.pipeline import evaluate, prepare


def two_series() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for sid, scale in (("small", 1.0), ("big", 100.0)):
        t = pd.date_range("2024-01-01", periods=80, freq="D")
        parts.append(pd.DataFrame({"t": t, "id": sid, "y": scale * np.cumsum(rng.normal(size=80))}))
    return pd.concat(parts)


def test_baseline_metrics_in_data_units_and_mase_per_series():
    L, H = 10, 3
    series = load_series(two_series(), "y", time_col="t", id_col="id")
    prep = prepare(series, L, H)
    results, arrays = evaluate(None, prep, "test", season=1)
    # Data units: the naive error computed straight from the raw values.
    errs, scaled = [], []
    for k, start in arrays["index"]:
        y = series.series[k].target[:, 0]
        err = np.abs(y[start + L : start + L + H] - y[start + L - 1])
        train = y[: prep.borders[k]["train"][1]]
        errs.append(err)
        scaled.append(err / np.mean(np.abs(np.diff(train))))
    assert results["naive"]["mae"] == pytest.approx(np.mean(errs), rel=1e-5)
    assert results["naive"]["mase"] == pytest.approx(np.mean(scaled), rel=1e-5)
    assert set(results) == {"naive", "linear"}  # no model given; season 1 would only repeat the naive row


def test_ltsf_units_are_scaled():
    series = load_series(two_series(), "y", time_col="t", id_col="id")
    results, arrays = evaluate(None, prepare(series, 10, 3, protocol="ltsf"), "test", season=2)
    assert "seasonal_naive" in results
    assert np.abs(arrays["y"]).max() < 50  # scaled by training statistics, not the raw hundreds


def test_calibration_makes_validation_coverage_nominal():
    import torch

    from rnnkit.forecast.models import SegRNN
    from rnnkit.forecast.pipeline import calibrate

    torch.manual_seed(0)
    df = two_series().query("id == 'small'")
    prep = prepare(load_series(df, "y", time_col="t"), 8, 4)
    model = SegRNN(lookback=8, horizon=4, num_targets=1, seg_len=4, d_model=8, head="gaussian")  # untrained
    raw = evaluate(model, prep, "val", baselines=False)[0]["model"]["coverage_80"]
    scale = calibrate(model, prep, 0.8)
    assert model.meta["interval_calibration"]["raw_coverage"] == pytest.approx(raw)
    got = evaluate(model, prep, "val", baselines=False)[0]["model"]["coverage_80"]
    n = len(prep.index("val")) * 4
    assert 0.8 <= got <= 0.8 + 2 / n and scale > 0
    # Another level is left as the head gives it.
    assert evaluate(model, prep, "val", level=0.5, baselines=False)[0]["model"]["coverage_50"] != got


def _volatile(n: int = 400) -> pd.DataFrame:
    """A noisy sine whose noise triples early in the test rows (the last 20%): validation calm, test wild."""
    rng = np.random.default_rng(1)
    noise = rng.normal(size=n) * np.where(np.arange(n) < 0.85 * n, 0.3, 0.9)
    return pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="h"), "y": np.sin(np.arange(n) / 5) + noise})


def _gaussian_model(prep):  # type: ignore[no-untyped-def]
    import torch

    from rnnkit.forecast.models import SegRNN

    torch.manual_seed(0)
    # Untrained, and without RevIN, so its interval widths do not follow the input's volatility by themselves.
    return SegRNN(lookback=8, horizon=4, num_targets=1, seg_len=4, d_model=8, head="gaussian", revin=False)


def test_rolling_scales_use_only_truths_known_at_each_origin():
    import torch

    from rnnkit.forecast.pipeline import _conformity, _windows, predict_params, rolling_scales

    prep = prepare(load_series(_volatile(), "y", time_col="t"), 8, 4)
    model = _gaussian_model(prep)
    index, K = prep.index("test"), 7  # K < 20: the quantile is refitted at every origin
    got = rolling_scales(model, prep, index, 0.8, K)
    # Brute force: the windows of validation + test whose horizon ends before the window's first forecast step.
    pool = np.concatenate([prep.index("val"), index])
    params = torch.from_numpy(predict_params(model, prep.data, pool))
    scores = _conformity(model, params, _windows(prep, pool)["y"], 0.8)
    for i, (_, start) in enumerate(index):
        known = [j for j, (_, s) in enumerate(pool) if s + 4 <= start][-K:]
        values = scores[known].ravel()
        q = np.ceil((len(values) + 1) * 0.8) / len(values)
        assert got[i] == pytest.approx(np.quantile(values, min(1.0, q)))
    # No look-ahead: changing every truth from the 10th test origin on leaves the first 10 factors as they were.
    first = index[10, 1] + prep.lookback
    prep.data.target[first:, 0] += 5.0  # the windows read their targets from this scaled array
    again = rolling_scales(model, prep, index, 0.8, K)
    assert np.array_equal(again[:11], got[:11]) and not np.array_equal(again, got)


def test_rolling_calibration_follows_a_change_of_volatility():
    from rnnkit.forecast.pipeline import calibrate

    prep = prepare(load_series(_volatile(), "y", time_col="t"), 8, 4)
    model = _gaussian_model(prep)
    calibrate(model, prep, 0.8)  # fitted on the calm validation range
    split = evaluate(model, prep, "test", baselines=False)[0]["model"]["coverage_80"]
    rolling = evaluate(model, prep, "test", baselines=False, rolling=30)[0]["model"]["coverage_80"]
    assert split < 0.7  # too narrow once the noise triples
    assert abs(rolling - 0.8) < abs(split - 0.8) and 0.7 <= rolling <= 0.9
