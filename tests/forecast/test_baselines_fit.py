"""The linear baseline reported beside every model is fitted on the training windows, never on the scored ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnkit.forecast.baselines import LinearForecaster
from rnnkit.forecast.data import load_series
from rnnkit.forecast.pipeline import evaluate, prepare


def _prepared():
    # training rows follow one sine, the later rows another (other period): a fit on the scored windows
    # would do far better than one on the training windows
    t = np.arange(400.0)
    y = np.where(t < 280, np.sin(t / 3.0), np.sin(t / 7.0)) + 0.05 * np.random.default_rng(0).normal(size=400)
    df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=400, freq="h"), "y": y})
    return prepare(load_series(df, "y"), 24, 6)


def test_linear_baseline_equals_a_fit_on_the_training_windows() -> None:
    prep = _prepared()
    results, arrays = evaluate(None, prep, "test")
    train = prep.data.gather(*prep.index("train").T, prep.lookback, prep.horizon)
    scored = prep.data.gather(*prep.index("test").T, prep.lookback, prep.horizon)
    x, y, m = (scored[k].numpy() for k in ("x", "y", "y_mask"))
    sid = prep.series.series[0].id
    lin = LinearForecaster(prep.lookback, prep.horizon)
    lin.fit(train["x"].numpy(), train["y"].numpy(), train["y_mask"].numpy())
    f = np.stack([prep.scaler.inverse(sid, a) for a in lin.predict(x)])  # (N, H, 1) data units (holdout protocol)
    np.testing.assert_allclose(np.mean((f - arrays["y"]) ** 2), results["linear"]["mse"], rtol=1e-6)
    # and the test would notice a fit on the scored windows: that one scores far lower
    peek = LinearForecaster(prep.lookback, prep.horizon).fit(x, y, m)
    f_peek = np.stack([prep.scaler.inverse(sid, a) for a in peek.predict(x)])
    assert np.mean((f_peek - arrays["y"]) ** 2) < 0.5 * results["linear"]["mse"]
