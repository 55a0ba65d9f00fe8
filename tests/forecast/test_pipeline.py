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
