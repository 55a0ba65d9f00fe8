"""End to end through ``rnnkit forecast train|predict|eval|backtest`` (in-process, tiny models, seconds)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.forecast.cli import load_forecaster
from rnnkit.forecast.data import load_series
from rnnkit.forecast.pipeline import future_frame
from rnnkit.forecast.windows import backtest_index

TINY = ["--epochs", "2", "--d_model", "16", "--hidden_size", "16", "--quiet", "true", "--batch_size", "16"]
TINY += ["--ensemble", "1", "--compile", "false", "--fallback", "false"]


@pytest.fixture(scope="module")
def air(data_path) -> str:
    return str(data_path("timeseries", "AirPassengers.csv"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, air) -> str:
    out = tmp_path_factory.mktemp("air")
    argv = ["forecast", "train", "--csv", air, "--target", "#Passengers", "--lookback", "24", "--horizon", "12"]
    assert main([*argv, "--head", "gaussian", "--out", str(out), *TINY]) == 0
    return str(out)


def read(path) -> dict:
    return json.loads(open(path).read())


def read_last_time(path) -> float:
    """Training seconds of a run: the "time" of the last event in its metrics.jsonl."""
    return [json.loads(line) for line in open(path).read().splitlines()][-1]["time"]


def test_train_writes_model_metrics_and_baselines(trained):
    m = read(f"{trained}/metrics.json")
    assert m["units"] == "data" and m["windows"] == {"train": 65, "val": 5, "test": 17}
    assert set(m["test"]) == {"model", "naive", "seasonal_naive", "linear"}
    assert set(m["test"]["model"]) == {"mae", "mse", "rmse", "smape", "mase", "coverage_80", "width_80"}
    assert read(f"{trained}/config.json")["lookback"] == 24
    assert read(f"{trained}/model/config.json")["kind"] == "forecast.segrnn"


def test_eval_of_the_saved_model_reproduces_the_training_metrics(trained, air, tmp_path):
    assert main(["forecast", "eval", "--model", trained, "--csv", air, "--out", str(tmp_path)]) == 0
    got, want = read(tmp_path / "metrics.json"), read(f"{trained}/metrics.json")["test"]
    for name in want:
        for key, value in want[name].items():
            assert got[name][key] == pytest.approx(value, rel=1e-5), (name, key)
    assert (tmp_path / "forecast_test.png").stat().st_size > 0


def test_predict_forecasts_after_the_last_timestamp(trained, air, tmp_path):
    assert main(["forecast", "predict", "--model", trained, "--csv", air, "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "forecast.csv", parse_dates=["Month"])
    assert list(frame.columns) == ["Month", "target", "forecast", "lo", "hi"]
    assert frame["Month"].tolist() == list(pd.date_range("1961-01-01", periods=12, freq="MS"))
    assert (frame["lo"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["hi"]).all()
    # The same numbers as the loaded model called directly.
    model = load_forecaster(trained)
    direct = future_frame(model, load_series(air, "#Passengers"))
    np.testing.assert_allclose(frame["forecast"], direct["forecast"], rtol=1e-5)
    assert (tmp_path / "forecast.png").exists() and read(tmp_path / "metrics.json")["rows"] == 12


def test_backtest_windows(trained, air, tmp_path):
    argv = ["forecast", "backtest", "--model", trained, "--csv", air, "--windows", "4", "--stride", "6"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    m = read(tmp_path / "metrics.json")
    assert m["windows"] == 4 and m["stride"] == 6
    # Origins are the last forecastable ones, 6 months apart; the last one leaves exactly H=12 months of truth.
    assert [o["origin"][:7] for o in m["origins"]] == ["1958-06", "1958-12", "1959-06", "1959-12"]
    assert backtest_index([144], 24, 12, 100, 50).tolist() == [[0, 8], [0, 58], [0, 108]]


def test_ltsf_protocol_on_an_ett_named_file(tmp_path):
    n = 14400
    t = pd.date_range("2016-07-01", periods=n, freq="h")
    rng = np.random.default_rng(0)
    y = np.sin(np.arange(n) * 2 * np.pi / 24) + 0.1 * rng.normal(size=n)
    pd.DataFrame({"date": t, "OT": y, "x": y * 2 + 1}).to_csv(tmp_path / "ETTh9.csv", index=False)
    argv = ["forecast", "train", "--csv", str(tmp_path / "ETTh9.csv"), "--target", "OT,x", "--protocol", "ltsf"]
    argv += ["--lookback", "24", "--horizon", "24", "--max_steps", "3", "--out", str(tmp_path / "run"), *TINY]
    assert main(argv) == 0
    m = read(tmp_path / "run" / "metrics.json")
    assert m["units"] == "scaled"
    assert m["windows"] == {"train": 8640 - 48 + 1, "val": 2880 + 24 - 48 + 1, "test": 2880 + 24 - 48 + 1}
    assert m["test"]["linear"]["mse"] < 0.05 < m["test"]["naive"]["mse"]  # a clean daily cycle


def test_covariates_several_series_and_masked_missing_values(tmp_path):
    rows = []
    for sid, n in (("a", 120), ("b", 100)):
        t = pd.date_range("2024-01-01", periods=n, freq="h")
        y = np.sin(t.hour.to_numpy() * 2 * np.pi / 24) + (sid == "b")
        rows.append(pd.DataFrame({"ts": t, "store": sid, "sales": y, "temp": np.cos(np.arange(n) / 5)}))
    df = pd.concat(rows)
    df.loc[df.index[5], "sales"] = np.nan
    df.to_parquet(tmp_path / "multi.parquet")
    argv = ["forecast", "train", "--csv", str(tmp_path / "multi.parquet"), "--target", "sales", "--time_col", "ts"]
    argv += ["--id_col", "store", "--past", "temp", "--calendar", "hour", "--missing", "mask", "--model", "ar"]
    argv += ["--head", "quantile", "--lookback", "24", "--horizon", "6", "--out", str(tmp_path / "run"), *TINY]
    assert main(argv) == 0
    assert read(tmp_path / "run" / "model" / "config.json")["config"]["meta"]["calendar"] == ["hour"]
    assert (
        main(["forecast", "predict", "--model", str(tmp_path / "run"), "--csv", str(tmp_path / "multi.parquet")]) == 0
    )
    frame = pd.read_csv(tmp_path / "run" / "predict" / "forecast.csv")
    assert frame.groupby("id").size().to_dict() == {"a": 6, "b": 6}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--target", "y"], "missing --csv: this command needs it (see --help)"),
        (["train", "--csv", "x.csv"], "missing --target: this command needs it (see --help)"),
        (
            ["train", "--csv", "x.csv", "--target", "y", "--model", "tft"],
            "--model must be one of 'segrnn', 'rnn', 'ar'; got 'tft'",
        ),
        (
            ["train", "--csv", "x.csv", "--target", "y", "--calendar", "hour"],
            "--model segrnn uses no covariates; drop --past/--future/--calendar or use --model rnn|ar",
        ),
        (
            ["train", "--csv", "x.csv", "--target", "y", "--schedule", "step"],
            "--schedule must be one of 'cosine', 'constant', 'linear', 'wsd', 'plateau'; got 'step'",
        ),
        (["train", "--csv", "nope.csv", "--target", "y"], "no such file: nope.csv"),
        (
            ["predict", "--model", "nowhere", "--csv", "x.csv"],
            "no trained model in nowhere (expected model/model.safetensors)",
        ),
        (
            ["eval", "--model", "m", "--csv", "x.csv", "--split", "all"],
            "--split must be one of 'train', 'val', 'test'; got 'all'",
        ),
    ],
)
def test_cli_errors(argv, message, capsys):
    assert main(["forecast", *argv]) == 2
    assert capsys.readouterr().err.strip() == f"rnnkit forecast {argv[0]}: error: {message}"


def test_bad_column_through_the_cli(air, capsys, tmp_path):
    assert main(["forecast", "train", "--csv", air, "--target", "Passengers", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "rnnkit forecast train: error: target column(s) ['Passengers'] not found; "
        "the table has columns ['Month', '#Passengers']"
    )


def test_train_an_ensemble_and_reload_it(air, tmp_path):
    argv = ["forecast", "train", "--csv", air, "--target", "#Passengers", "--lookback", "24", "--horizon", "12"]
    assert main([*argv, "--out", str(tmp_path), *TINY, "--ensemble", "2", "--schedule", "constant"]) == 0
    m = read(tmp_path / "metrics.json")
    assert m["members"] == 2 and len(m["best_val"]) == 2
    assert (tmp_path / "member0").is_dir() and (tmp_path / "member1").is_dir()
    lines = [json.loads(line) for line in (tmp_path / "member1" / "metrics.jsonl").read_text().splitlines()]
    lrs = [d["lr"] for d in lines if "lr" in d]
    assert lrs and all(v == pytest.approx(read(tmp_path / "config.json")["lr"]) for v in lrs)  # constant: no decay
    model = load_forecaster(tmp_path)
    assert read(tmp_path / "model" / "config.json")["kind"] == "forecast.ensemble" and len(model.members) == 2
    assert main(["forecast", "eval", "--model", str(tmp_path), "--csv", air, "--out", str(tmp_path / "ev")]) == 0
    assert read(tmp_path / "ev" / "metrics.json")["model"]["mae"] == pytest.approx(m["test"]["model"]["mae"], 1e-5)


def test_members_that_stop_early_leave_the_budget_to_more_members(air, tmp_path, monkeypatch):
    # The policy (share what is left; fill the budget with more members) is the engine's fit_ensemble, tested in
    # tests/train; here: forecast train asks for it, and every member it trains is in the saved ensemble.
    import rnnkit.forecast.training as training

    calls = []
    real = training.fit_ensemble

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "fit_ensemble", spy)
    argv = ["forecast", "train", "--csv", air, "--target", "#Passengers", "--lookback", "24", "--horizon", "12"]
    argv += [*TINY, "--ensemble", "2", "--time_budget", "0.05", "--ema", "0.9"]
    assert main([*argv, "--out", str(tmp_path / "fill")]) == 0
    assert calls[-1]["share"] == "rest" and calls[-1]["fill_budget"] is True
    m = read(tmp_path / "fill" / "metrics.json")
    n = m["members"]
    assert n >= 2 and len(m["best_val"]) == n == len(load_forecaster(tmp_path / "fill").members)
    assert sorted(p.name for p in (tmp_path / "fill").glob("member*")) == sorted(f"member{i}" for i in range(n))
    # a member beyond --ensemble starts only while budget is left: all but the last started inside the budget
    # (each member's own training seconds, from its log; independent of the machine's speed)
    secs = [read_last_time(tmp_path / "fill" / f"member{i}" / "metrics.jsonl") for i in range(n)]
    assert sum(secs[:-1]) < 0.05 * 60
    assert main([*argv, "--fill_budget", "false", "--out", str(tmp_path / "two")]) == 0
    assert calls[-1]["fill_budget"] is False and read(tmp_path / "two" / "metrics.json")["members"] == 2
