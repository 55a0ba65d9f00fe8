"""The forecasting section of ``rnnkit demo``: Seattle daily maximum and minimum temperature (vega_datasets, shipped
locally), forecast 14 days ahead by :class:`rnnkit.forecast.Forecaster` with its defaults (a Gaussian head for the
interval band; a one-minute budget so the demo stays short).

The report shows the validation figures the choice was made on (the network against the naive, seasonal-naive
and linear baselines), what was kept for forecasting, the test figures, the 80% interval coverage, and one test
window with its band.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from rnnkit.report import Section, text_table

log = logging.getLogger(__name__)


def _rows(results: dict[str, dict[str, float]]) -> str:
    return "".join(
        f"<tr><th>{html.escape(name)}</th><td>{m['mae']:.2f}</td><td>{m['rmse']:.2f}</td><td>{m['mase']:.3f}</td>"
        + (f"<td>{m['coverage_80']:.2f}</td></tr>" if "coverage_80" in m else "<td>-</td></tr>")
        for name, m in results.items()
    )


def section(out: Path, quick: bool) -> Section:
    from vega_datasets import local_data

    from rnnkit.forecast.forecaster import Forecaster
    from rnnkit.forecast.plots import plot_forecast

    out = Path(out) / "forecast"
    df = local_data.seattle_weather()[["date", "temp_max", "temp_min"]]
    quick_settings = {"epochs": 2, "max_steps": 10, "d_model": 32, "ensemble": 1} if quick else {}
    # A one-minute budget keeps the demo short; one thread and no torch.compile (which pays off only on long runs,
    # and would spend the budget compiling) let it train as many steps as it can in that minute.
    budget = 0.2 if quick else 1.0
    f = Forecaster(
        horizon=14, head="gaussian", time_budget=budget, threads=1, compile=False, quiet=True, **quick_settings
    )
    f.fit(df, "temp_max,temp_min", time_col="date", run_dir=out / "run")
    m, s = f.metrics, f.settings
    arrays, prep = f._test_arrays, f._prep
    k = len(arrays["index"]) - 1
    sidx, start = arrays["index"][k]
    series = prep.series.series[sidx]
    L, H = prep.lookback, prep.horizon
    kept = m["kept"] if m["kept"] != "model" else "the network"
    image = plot_forecast(
        out / "forecast.png",
        history_t=series.time[start : start + L],
        history=series.target[start : start + L],
        future_t=series.time[start + L : start + L + H],
        forecast=arrays["forecast"][k],
        truth=arrays["y"][k],
        lo=arrays.get("lo", [None] * (k + 1))[k],
        hi=arrays.get("hi", [None] * (k + 1))[k],
        names=prep.series.targets,
        title=f"Seattle: last test window, {kept} with its 80% interval",
    )
    val = m["choice"]["val"]
    verdict = (
        f"The network scored a validation MASE of {val['model']:.3f}; the best baseline, "
        f"{min((n for n in val if n != 'model'), key=lambda n: val[n])}, "
        f"{min(v for n, v in val.items() if n != 'model'):.3f}. "
        + ("The network is kept for forecasting." if m["kept"] == "model" else f"The {kept} baseline is kept.")
    )
    header = "<tr><th></th><th>MAE</th><th>RMSE</th><th>MASE (weekly)</th><th>80% coverage</th></tr>"
    body = (
        "<p>Daily maximum and minimum temperature in Seattle 2012-2015 (vega_datasets, no download). Forecast "
        f"{H} days from the last {L} (chosen from the data), with every other setting at its default; the last "
        f"20% of the days are the test range, every window of it scored (°C). Trained {sum(m['steps'])} steps in "
        f"{m['train_seconds']:.1f} s.</p>"
        f"<p><b>Validation</b> (what the choice is made on): {html.escape(verdict)}</p>"
        f"<table>{header}{_rows(m['val'])}</table>"
        f"<p><b>Test</b> (model: {html.escape(kept)}; the 80% intervals rescaled on the validation days)</p>"
        f"<table>{header}{_rows(m['test'])}</table>"
    )
    log.info("forecast demo: lookback %d, horizon %d, kept %s", s["lookback"], s["horizon"], kept)
    # One row per predictor, the network first; "model" in the test results is whichever was kept.
    test = {**m["test"], "model": m["test"].get("network", m["test"]["model"])}
    names = {n: ("network" if n == "model" else n) + (" (kept)" if n == m["kept"] else "") for n in m["val"]}
    rows = [
        [names[n], f"{v['mase']:.3f}", f"{test[n]['mae']:.2f}", f"{test[n]['mase']:.3f}"] for n, v in m["val"].items()
    ]
    summary = text_table(["", "val MASE", "test MAE", "test MASE"], rows) + f"\n{verdict}"
    return Section(title="Forecasting: Seattle weather", html=body, images=[image], summary=summary)
