"""The estimator (rnnkit/forecast/forecaster.py) and the small-data cases of issue 14 section 3, each through the CLI
where a user meets it (one-line error, exit status 2)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.forecast import BaselineModel, Forecaster, load
from rnnkit.forecast.fallback import choose
from rnnkit.forecast.models import ForecastModel

TINY = dict(d_model=16, ensemble=1, epochs=3, compile=False, quiet=True, batch_size=32)
TINY_ARGS = ["--d_model", "16", "--ensemble", "1", "--epochs", "3", "--compile", "false", "--quiet", "true"]
TINY_ARGS += ["--batch_size", "32"]


@pytest.fixture(scope="module")
def air(data_path) -> str:
    return str(data_path("timeseries", "AirPassengers.csv"))


def steps_frame(n: int = 160, period: int = 12) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame({"t": t, "y": 10 + np.sin(2 * np.pi * t / period) + 0.02 * t})


def err(capsys) -> str:  # type: ignore[no-untyped-def]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_integer_time_is_steps_and_the_season_comes_from_the_data(tmp_path):
    f = Forecaster(**TINY).fit(steps_frame())
    assert f.settings["season"] == 12 and f.settings["cycle"] == 12 and f.settings["horizon"] == 12
    frame = f.predict()
    assert frame["t"].tolist() == list(range(160, 172))  # steps continue the count: no 1970 timestamps
    f.save(tmp_path / "m")
    again = load(tmp_path / "m").predict(steps_frame())
    np.testing.assert_allclose(again["forecast"], frame["forecast"])


def test_defaults_adapt_to_a_small_monthly_series(air):
    # AirPassengers: 144 months -> horizon one season, look-back in whole seasons that fits the training split,
    # enough epochs for 1000 steps at one batch per epoch, validation every 30 steps.
    f = Forecaster()
    plan = f._plan(air, "#Passengers")
    s = plan.settings
    assert (s["horizon"], s["lookback"], s["season"], s["seg_len"]) == (12, 36, 12, 12)
    assert (s["epochs"], s["val_every"]) == (1000, 30)


def test_the_network_losing_to_a_baseline_on_validation_is_said_and_the_baseline_kept(air, tmp_path, caplog):
    f = Forecaster(**{**TINY, "head": "gaussian"}).fit(air, "#Passengers")  # 3 epochs: far from trained
    choice = f.model.meta["choice"]
    assert isinstance(f.model, BaselineModel) and choice["kept"] == f.model.kind
    assert choice["val"][choice["kept"]] < choice["val"]["model"]
    assert "scores worse than the" in caplog.text and "on validation" in caplog.text
    assert f.metrics["test"]["model"]["mae"] == pytest.approx(f.metrics["test"][choice["kept"]]["mae"], rel=1e-5)
    frame = f.predict()
    assert (frame["lo"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["hi"]).all()
    f.save(tmp_path / "m")
    np.testing.assert_allclose(load(tmp_path / "m").predict(air)["forecast"], frame["forecast"], rtol=1e-6)
    kept = Forecaster(**{**TINY, "fallback": False}).fit(air, "#Passengers")
    assert kept.model is kept.network and kept.model.meta["choice"]["kept"] == "model"


class Oracle(ForecastModel):
    """Forecasts the truth (the windows the pipeline feeds carry it): beats every baseline."""

    def forward(self, batch):  # type: ignore[no-untyped-def]
        return batch["y"].unsqueeze(-1)


def test_a_network_that_beats_the_baselines_is_kept():
    f = Forecaster(**TINY)
    plan = f._plan(steps_frame(), "y")
    oracle = Oracle(lookback=plan.prep.lookback, horizon=plan.prep.horizon, num_targets=1, meta=plan.meta)
    oracle.anchor = torch.nn.Parameter(torch.zeros(1))
    assert choose(oracle, plan.prep, season=12, level=0.8, fallback=True) is oracle
    assert oracle.meta["choice"]["kept"] == "model" and oracle.meta["choice"]["val"]["model"] == 0.0


def test_no_window_fits_says_which_split_how_many_rows_and_what_would_fit(capsys, tmp_path):
    steps_frame(60).to_csv(tmp_path / "s.csv", index=False)
    argv = ["forecast", "train", "--csv", str(tmp_path / "s.csv"), "--target", "y", "--out", str(tmp_path / "r")]
    assert main([*argv, "--lookback", "40", "--horizon", "5"]) == 2
    assert err(capsys) == (
        "rnnkit forecast train: error: no training window fits: the training split of series '0' has 42 rows, "
        "fewer than lookback 40 + horizon 5 = 45; use --lookback 37 or less"
    )
    assert main([*argv, "--lookback", "12", "--horizon", "8"]) == 2
    assert err(capsys) == (
        "rnnkit forecast train: error: no validation window fits: the validation split of series '0' has 6 rows, "
        "fewer than the horizon 8; use --horizon 6 or less, or a larger --val_frac (now 0.1)"
    )


def test_inf_in_a_target_is_rejected_with_its_row(capsys, tmp_path):
    df = steps_frame(50)
    df.loc[17, "y"] = np.inf
    df.to_csv(tmp_path / "s.csv", index=False)
    assert main(["forecast", "train", "--csv", str(tmp_path / "s.csv"), "--target", "y"]) == 2
    assert err(capsys) == (
        "rnnkit forecast train: error: column 'y' holds an infinite value (inf) at row 17 (counting data rows from "
        "0); replace it with a number, or leave the cell empty to treat it as missing"
    )


@pytest.fixture(scope="module")
def gappy(tmp_path_factory) -> tuple[str, str]:
    """A daily series with two missing days, trained with --gaps fill (the option is stored in the model)."""
    d = tmp_path_factory.mktemp("gappy")
    t = pd.date_range("2024-01-01", periods=200, freq="D")
    df = pd.DataFrame({"date": t, "y": np.sin(np.arange(200) * 2 * np.pi / 7) + 5}).drop(index=[50, 120])
    df.to_csv(d / "g.csv", index=False)
    argv = ["forecast", "train", "--csv", str(d / "g.csv"), "--target", "y", "--gaps", "fill", *TINY_ARGS]
    assert main([*argv, "--out", str(d / "run"), "--horizon", "7"]) == 0
    return str(d / "g.csv"), str(d / "run")


def test_data_options_given_at_training_are_stored_in_the_model(gappy, tmp_path):
    csv, run = gappy
    assert main(["forecast", "predict", "--model", run, "--csv", csv, "--out", str(tmp_path / "p")]) == 0
    text = (tmp_path / "p" / "forecast.csv").read_text()
    assert text.splitlines()[1].startswith("2024-07-19,y,")
    # float32 values written as their shortest decimal, not 440.578857421875
    assert all(len(v.split(".")[-1]) <= 9 for v in pd.read_csv(tmp_path / "p" / "forecast.csv")["forecast"].astype(str))
    argv = ["forecast", "backtest", "--model", run, "--csv", csv, "--windows", "2", "--out", str(tmp_path / "b")]
    assert main(argv) == 0


def test_predict_and_backtest_reject_train_only_flags(gappy, capsys):
    csv, run = gappy
    assert main(["forecast", "predict", "--model", run, "--csv", csv, "--epochs", "3"]) == 2
    assert err(capsys).startswith("rnnkit forecast predict: error: unknown flag --epochs")
    assert main(["forecast", "backtest", "--model", run, "--csv", csv, "--lookback", "3"]) == 2
    assert err(capsys).startswith("rnnkit forecast backtest: error: unknown flag --lookback")


def test_backtest_origins_stay_out_of_the_training_period_and_windows_are_not_capped(gappy, capsys, tmp_path, caplog):
    csv, run = gappy
    argv = ["forecast", "backtest", "--model", run, "--csv", csv, "--out", str(tmp_path / "b")]
    # 200 days, 70% training: 60 days after the training period hold 8 weekly origins
    assert main([*argv, "--windows", "1000"]) == 2
    assert err(capsys) == (
        "rnnkit forecast backtest: error: --windows 1000: series '0' has room for 8 origin(s) 7 steps apart after "
        "the training period; use --windows 8 or less, a smaller --stride, or --in_sample true to include "
        "in-sample origins"
    )
    assert main([*argv, "--windows", "8"]) == 0
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    train_end = load(run).model.meta["train_end"]["0"]
    assert m["windows"] == 8 and all(o["origin"] >= train_end for o in m["origins"])
    assert main([*argv, "--windows", "15", "--in_sample", "true"]) == 0
    assert "7 of the 15 backtest origins forecast training rows: their errors are in-sample" in caplog.text
    # --windows left unset: as many as fit after the training period (8 here), at most 10, and the log says so
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rnnkit.forecast.forecaster"):
        assert main(argv) == 0
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m["windows"] == 8 and all(o["origin"] >= train_end for o in m["origins"])
    assert "backtest: series '0' has room for 8 of 10 origins after the training period" in caplog.text


def test_the_python_api_and_the_cli_give_the_same_forecast(air, tmp_path):
    argv = ["forecast", "train", "--csv", air, "--target", "#Passengers", *TINY_ARGS, "--fallback", "false"]
    assert main([*argv, "--head", "quantile", "--seed", "3", "--out", str(tmp_path / "cli")]) == 0
    assert main(["forecast", "predict", "--model", str(tmp_path / "cli"), "--csv", air]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "predict" / "forecast.csv")
    api = Forecaster(**TINY, fallback=False, head="quantile", seed=3).fit(air, "#Passengers").predict()
    np.testing.assert_allclose(api["forecast"], cli["forecast"], rtol=1e-6)
    np.testing.assert_allclose(api["lo"], cli["lo"], rtol=1e-6)
    # rnnkit.load and rnnkit.forecast.load take the run folder or its model/ folder
    assert type(rnnkit.load(tmp_path / "cli")).__name__ == "SegRNN"
    assert load(tmp_path / "cli" / "model").settings["seed"] == 3


def test_inputs_are_checked_at_the_boundary():
    with pytest.raises(TypeError, match=r"Forecaster got unknown setting\(s\) \['horizn'\]"):
        Forecaster(horizn=3)
    with pytest.raises(ValueError, match=r"--horizon must be a positive integer; got 0"):
        Forecaster(horizon=0)
    with pytest.raises(ValueError, match=r"--target is required: the column\(s\) to forecast, one or more of"):
        Forecaster(**TINY).fit(pd.DataFrame({"t": range(50), "a": 1.0, "b": 2.0}))
    with pytest.raises(ValueError, match="call fit"):
        Forecaster().predict()


@pytest.mark.parametrize("verb", ["train", "predict", "eval", "backtest"])
def test_help_shows_required_flags_and_no_train_flags_outside_train(verb, capsys):
    with pytest.raises(SystemExit):
        main(["forecast", verb, "--help"])
    text = capsys.readouterr().out
    required = {"train": ["--csv", "--target"]}.get(verb, ["--model", "--csv"])
    lines = text.split("options:", 1)[1].splitlines()  # the flags' help, after the usage block
    for flag in required:
        line = next(i for i, s in enumerate(lines) if s.strip().startswith(f"{flag} "))
        assert "(required" in " ".join(lines[line : line + 3]), flag
    assert ("--epochs" in text) == (verb == "train") and ("--lookback" in text) == (verb == "train")
    assert "ETTh1" not in text and "RESULTS.md" not in text  # benchmark write-ups live in the docs
