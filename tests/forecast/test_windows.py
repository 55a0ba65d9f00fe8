"""Split borders, stride-1 windows and leakage: rnnkit/forecast/windows.py and pipeline.prepare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.forecast.data import load_series
from rnnkit.forecast.pipeline import prepare
from rnnkit.forecast.windows import split_borders, window_starts


def test_ett_borders_match_the_literature():
    assert split_borders(17420, 96, name="data/ETTh1.csv", ett=True) == {
        "train": (0, 8640),
        "val": (8544, 11520),
        "test": (11424, 14400),
    }
    assert split_borders(69680, 96, name="ETTm2.csv", ett=True) == {
        "train": (0, 34560),
        "val": (34464, 46080),
        "test": (45984, 57600),
    }
    # Without the LTSF flag (or for other names) the same file gets 70/10/20 by rows.
    assert split_borders(17420, 96, name="ETTh1.csv") == split_borders(17420, 96, name="other.csv", ett=True)
    with pytest.raises(ValueError) as err:
        split_borders(1000, 96, name="ETTh1.csv", ett=True)
    assert str(err.value) == "ETTh1.csv: the ETT protocol needs 14400 rows, got 1000"


def test_ratio_borders_match_the_literature_code():
    # Informer's Dataset_Custom: num_train = int(0.7 n), num_test = int(0.2 n), val the rest.
    n, L = 1001, 24
    b = split_borders(n, L)
    assert b == {"train": (0, 700), "val": (676, 801), "test": (777, 1001)}
    with pytest.raises(ValueError) as err:
        split_borders(100, 10, val_frac=0.5, test_frac=0.5)
    assert str(err.value) == "expected 0 <= val_frac, test_frac and val_frac + test_frac < 1, got 0.5 and 0.5"
    with pytest.raises(ValueError) as err:
        split_borders(20, 30)
    assert str(err.value) == "the training split has 14 rows, fewer than the look-back 30"


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 50), st.integers(1, 60), st.integers(1, 10), st.integers(1, 10), st.integers(1, 3))
def test_windows_stay_inside_their_range(start, length, lookback, horizon, stride):
    stop = start + length
    s = window_starts(start, stop, lookback, horizon, stride)
    assert len(s) == max(0, (length - lookback - horizon) // stride + 1)
    if len(s):
        assert s[0] == start and s[-1] + lookback + horizon <= stop
        assert np.all(np.diff(s) == stride)


def series_frame(n: int = 200) -> pd.DataFrame:
    t = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"date": t, "y": np.arange(n, dtype=float), "c": np.arange(n) * 2.0})


def test_no_test_data_leaks_into_scaling_or_training():
    L, H = 12, 6
    df = series_frame()
    prep = prepare(load_series(df, "y"), L, H, protocol="ltsf")
    train_stop = prep.borders[0]["train"][1]
    assert train_stop == 140
    # The scaler saw the training rows only ...
    assert prep.scaler.mean["0"].tolist() == [np.mean(np.arange(140))]
    # ... and is unchanged when everything after them is replaced.
    df2 = df.copy()
    df2.loc[train_stop:, "y"] = 1e6
    prep2 = prepare(load_series(df2, "y"), L, H, protocol="ltsf")
    assert prep2.scaler.to_dict() == prep.scaler.to_dict()
    # Every training window (inputs and targets) ends inside the training rows; val/test targets lie after them.
    idx = prep.index("train")
    assert idx[:, 1].max() + L + H == train_stop
    np.testing.assert_array_equal(
        prep2.data.gather(idx[:, 0], idx[:, 1], L, H)["y"], prep.loader("train", 10**6).__iter__().__next__()["y"]
    )
    for split in ("val", "test"):
        first_target = prep.index(split)[:, 1].min() + L
        assert first_target >= train_stop
    # Stride 1: test windows count = rows of the test range - L - H + 1, first target right after validation.
    test = prep.index("test")
    assert len(test) == (200 - prep.borders[0]["test"][0]) - L - H + 1
    assert test[0, 1] + L == prep.borders[0]["val"][1]


def test_windows_gather_aligned_rows():
    L, H = 5, 3
    df = series_frame(60)
    prep = prepare(load_series(df, "y", future="c"), L, H)
    batch = prep.data.gather(np.array([0]), np.array([7]), L, H)
    mean, std = prep.scaler.mean["0"][0], prep.scaler.std["0"][0]
    x = batch["x"][0, :, 0].numpy() * std + mean
    y = batch["y"][0, :, 0].numpy() * std + mean
    np.testing.assert_allclose(x, np.arange(7, 12), atol=1e-4)
    np.testing.assert_allclose(y, np.arange(12, 15), atol=1e-4)
    # Known-future covariates cover the look-back and the horizon, on the same rows as the targets.
    np.testing.assert_allclose(batch["future"][0, :, 0].numpy(), np.arange(7, 15) * 2.0)


def test_several_series_are_split_and_scaled_separately():
    a, b = series_frame(100), series_frame(80)
    b["y"] = b["y"] * 3 + 1000
    prep = prepare(load_series(pd.concat([a.assign(id="a"), b.assign(id="b")]), "y", id_col="id"), 8, 4)
    assert prep.borders[0]["train"] == (0, 70) and prep.borders[1]["train"] == (0, 56)
    assert prep.scaler.mean["b"][0] == pytest.approx(np.mean(np.arange(56) * 3 + 1000))
    test = prep.index("test")
    assert set(test[:, 0].tolist()) == {0, 1}
    # Windows never cross from one series into the next.
    assert all(start + 12 <= [100, 80][k] for k, start in test)


def test_too_short_series_is_an_error():
    with pytest.raises(ValueError) as err:
        prepare(load_series(series_frame(10), "y"), 8, 4)
    assert str(err.value) == (
        "series '0' has 10 rows, fewer than lookback 8 + horizon 4 = 12; "
        "lower --lookback or --horizon (left unset, both are chosen to fit the data)"
    )
    with pytest.raises(ValueError) as err:
        prepare(load_series(series_frame(100), "y"), 8, 4, protocol="paper")
    assert str(err.value) == "unknown protocol 'paper'; choose one of 'ltsf', 'holdout'"


def test_masked_targets_stay_out_of_windows_mask():
    df = series_frame(60)
    df.loc[20, "y"] = np.nan
    prep = prepare(load_series(df, "y", missing="mask"), 5, 3)
    batch = prep.data.gather(np.array([0]), np.array([15]), 5, 3)  # row 20 is the first target
    assert batch["y_mask"][0, :, 0].tolist() == [False, True, True]
    assert float(batch["y"][0, 0, 0]) == 0.0  # a finite placeholder; the mask keeps it out of the loss
    batch = prep.data.gather(np.array([0]), np.array([18]), 5, 3)  # row 20 in the look-back
    assert batch["x_mask"][0, :, 0].tolist() == [True, True, False, True, True]


def test_window_time_step_is_the_phase_of_its_first_row_whatever_the_file_start():
    # Two series in one table starting at different hours: each window's t % 24 is its first row's hour.
    frames = []
    for sid, start in (("a", "2024-01-01 00:00"), ("b", "2024-03-05 07:00")):
        t = pd.date_range(start, periods=60, freq="h")
        frames.append(pd.DataFrame({"date": t, "id": sid, "y": np.arange(60.0)}))
    table = pd.concat(frames)
    prep = prepare(load_series(table, "y", id_col="id"), 8, 4)
    idx = prep.index("train")
    t = prep.data.gather(idx[:, 0], idx[:, 1], 8, 4)["t"].numpy()
    hours = [prep.series.series[k].time[s].hour for k, s in idx]
    assert np.array_equal(t % 24, hours)
    assert {k for k, _ in idx} == {0, 1}


@pytest.mark.parametrize(
    ("freq", "cycle", "field"),
    [("h", 24, "hour"), ("15min", 96, None), ("D", 7, "dayofweek"), ("MS", 12, "month"), ("QS", 4, "quarter")],
)
def test_time_steps_give_calendar_phases(freq, cycle, field):
    from rnnkit.forecast.data import time_steps

    t = pd.date_range("2023-05-17 13:45" if freq == "15min" else "2023-05-01", periods=50, freq=freq)
    steps = time_steps(t, freq)
    assert np.all(np.diff(steps) == 1)  # one per step
    if field is not None:
        value = np.asarray(getattr(t, field))
        # The phase moves with the calendar field: equal phases, equal fields.
        for p in range(cycle):
            assert len(set(value[steps % cycle == p])) <= 1
    with pytest.raises(ValueError) as err:
        time_steps(pd.date_range("2024-01-01", periods=3, freq="SME"), "SME")
    assert str(err.value) == "cannot count steps of frequency 'SME' for a cycle; use --cycle 0"
