"""The forecasting section of ``rnnkit demo``: Seattle daily maximum temperature (vega_datasets, shipped locally).

A SegRNN with a Gaussian head forecasts the next 14 days from the last 56; the report shows its test metrics
beside the naive, seasonal-naive (weekly) and linear baselines, the 80% interval coverage, and one test window
with its interval band.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from rnnkit.report import Section

log = logging.getLogger(__name__)


def section(out: Path, quick: bool) -> Section:
    from vega_datasets import local_data

    from rnnkit.forecast.data import load_series
    from rnnkit.forecast.models import SegRNN
    from rnnkit.forecast.pipeline import calibrate, evaluate, model_meta, prepare, train
    from rnnkit.forecast.plots import plot_forecast
    from rnnkit.train import TrainConfig, seed_everything

    out = Path(out) / "forecast"
    seed_everything(0)
    df = local_data.seattle_weather()[["date", "temp_max", "temp_min"]]
    series = load_series(df, "temp_max,temp_min", time_col="date")
    L, H = 56, 14
    prep = prepare(series, L, H)
    model = SegRNN(
        lookback=L,
        horizon=H,
        num_targets=2,
        seg_len=7,
        d_model=32 if quick else 64,
        head="gaussian",
        meta=model_meta(prep, season=7),
    )
    config = TrainConfig(
        epochs=2 if quick else 40,
        max_steps=10 if quick else None,
        batch_size=64,
        lr=3e-3,
        weight_decay=0.0,
        early_stopping=8,
        time_budget=0.2 if quick else 1.0,
        quiet=True,
    )
    result = train(model, prep, config, run_dir=out / "run")
    calibrate(model, prep, 0.8)  # interval width rescaled on the validation days (never the test days)
    results, arrays = evaluate(model, prep, "test", level=0.8, season=7)
    k = len(arrays["index"]) - 1
    sidx, start = arrays["index"][k]
    s = series.series[sidx]
    image = plot_forecast(
        out / "forecast.png",
        history_t=s.time[start : start + L],
        history=s.target[start : start + L],
        future_t=s.time[start + L : start + L + H],
        forecast=arrays["forecast"][k],
        truth=arrays["y"][k],
        lo=arrays["lo"][k],
        hi=arrays["hi"][k],
        names=series.targets,
        title="Seattle: last test window, SegRNN (Gaussian head) with its 80% interval",
    )
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{m['mae']:.2f}</td><td>{m['rmse']:.2f}</td><td>{m['mase']:.3f}</td>"
        + (f"<td>{m['coverage_80']:.2f}</td></tr>" if "coverage_80" in m else "<td>-</td></tr>")
        for name, m in results.items()
    )
    body = (
        "<p>Daily maximum and minimum temperature in Seattle 2012-2015 (vega_datasets, no download). Forecast "
        f"{H} days from the last {L}; the last 20% of the days are the test range, every window of it scored "
        f"(°C). Trained {result.steps} steps in {result.seconds:.1f} s; the 80% intervals are rescaled on the "
        "validation days (split-conformal).</p>"
        "<table><tr><th></th><th>MAE</th><th>RMSE</th><th>MASE (weekly)</th><th>80% coverage</th></tr>"
        f"{rows}</table>"
    )
    return Section(title="Forecasting: Seattle weather", html=body, images=[image])
