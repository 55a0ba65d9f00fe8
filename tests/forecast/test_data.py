"""Reading, validating and filling series: rnnkit/forecast/data.py."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from rnnkit.forecast.data import calendar_features, load_series, read_table


def frame(n: int = 10, freq: str = "h", **cols: list) -> pd.DataFrame:
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq=freq)})
    df["y"] = np.arange(n, dtype=float)
    for k, v in cols.items():
        df[k] = v
    return df


def test_csv_parquet_and_dataframe_agree(tmp_path):
    df = frame(cov=np.linspace(0, 1, 10))
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet")
    got = [load_series(src, "y", past="cov") for src in (df, tmp_path / "a.csv", tmp_path / "a.parquet")]
    for s in got:
        assert s.freq == "h" and s.targets == ["y"] and s.past == ["cov"]
        np.testing.assert_allclose(s.series[0].target[:, 0], np.arange(10))
        np.testing.assert_allclose(s.series[0].past[:, 0], np.linspace(0, 1, 10), rtol=1e-6)


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        read_table(tmp_path / "nope.csv")
    assert str(err.value) == f"no such file: {tmp_path / 'nope.csv'}"
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(ValueError) as err:
        read_table(tmp_path / "a.xlsx")
    assert str(err.value) == "expected a .csv or .parquet file, got 'a.xlsx'"


def test_column_errors():
    df = frame(c=np.zeros(10), s=["a"] * 10)
    with pytest.raises(ValueError) as err:
        load_series(df, "nope")
    assert str(err.value) == "target column(s) ['nope'] not found; the table has columns ['date', 'y', 'c', 's']"
    with pytest.raises(ValueError) as err:
        load_series(df, "y", past="zz")
    assert str(err.value).startswith("past covariate column(s) ['zz'] not found")
    with pytest.raises(ValueError) as err:
        load_series(df, "y", past="c", future="c")
    assert str(err.value) == "column(s) ['c'] given more than one role (time/id/target/past/future)"
    with pytest.raises(ValueError) as err:
        load_series(df, "s")
    assert str(err.value) == (
        "column 's' must hold numbers; row 0 (counting data rows from 0) holds 'a'; "
        "fix the value, or leave the cell empty to treat it as missing"
    )
    with pytest.raises(ValueError) as err:
        load_series(df, "")
    assert str(err.value) == "expected at least one target column (--target COL[,COL]), got none"
    with pytest.raises(ValueError) as err:
        load_series(df, "y", missing="drop")
    assert str(err.value) == "missing must be one of ['interpolate', 'ffill', 'zero', 'mask', 'error'], got 'drop'"
    with pytest.raises(ValueError) as err:
        load_series(df, "y", calendar="week")
    assert str(err.value) == (
        "unknown calendar feature 'week'; expected some of ['hour', 'dayofweek', 'dayofmonth', 'dayofyear', 'month']"
    )


def test_duplicate_timestamp_is_an_error():
    df = frame(5)
    df.loc[3, "date"] = df.loc[2, "date"]
    with pytest.raises(ValueError) as err:
        load_series(df, "y")
    assert str(err.value) == "series '0': duplicate timestamp 2024-01-01 02:00:00 (rows [2, 3] of the series)"


def test_unsorted_and_irregular_timestamps_are_errors():
    df = frame(6).iloc[[0, 1, 3, 2, 4, 5]]
    with pytest.raises(ValueError) as err:
        load_series(df, "y")
    assert str(err.value) == (
        "series '0': timestamps must increase, got 2024-01-01 02:00:00 after 2024-01-01 03:00:00 (row 3)"
    )
    df = frame(8).drop(index=4)
    with pytest.raises(ValueError) as err:
        load_series(df, "y")
    assert str(err.value) == (
        "series '0': irregular timestamps: expected a step of 0 days 01:00:00, got 0 days 02:00:00 between "
        "2024-01-01 03:00:00 and 2024-01-01 05:00:00 (rows 3 and 4); pass gaps='fill' (--gaps fill) to insert "
        "missing timestamps as missing values, or resample the data"
    )


def test_gaps_fill_inserts_missing_rows(caplog):
    df = frame(8).drop(index=4)
    with caplog.at_level(logging.WARNING):
        s = load_series(df, "y", gaps="fill", missing="mask")
    x = s.series[0]
    assert len(x) == 8 and s.freq == "h"
    assert x.observed[:, 0].tolist() == [True] * 4 + [False] + [True] * 3
    assert s.missing_report == {"y": 1}
    assert "inserted 1 missing timestamps" in caplog.text


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("interpolate", [0.0, 1.0, 2.0, 3.0, 3.0]),  # trailing gap: nearest value
        ("ffill", [0.0, 0.0, 2.0, 3.0, 3.0]),
        ("zero", [0.0, 0.0, 2.0, 3.0, 0.0]),
    ],
)
def test_missing_fill_methods(method, expected, caplog):
    df = frame(5)
    df.loc[[1, 4], "y"] = np.nan
    with caplog.at_level(logging.WARNING):
        s = load_series(df, "y", missing=method)
    assert s.series[0].target[:, 0].tolist() == expected
    assert s.series[0].observed[:, 0].tolist() == [True, False, True, True, False]
    assert f"column 'y': 2 missing value(s), handled by '{method}'" in caplog.text


def test_missing_mask_keeps_nan_and_error_method():
    df = frame(5)
    df.loc[2, "y"] = np.nan
    s = load_series(df, "y", missing="mask")
    assert np.isnan(s.series[0].target[2, 0]) and not s.series[0].observed[2, 0]
    with pytest.raises(ValueError) as err:
        load_series(df, "y", missing="error")
    assert str(err.value) == (
        "series '0': target 'y' has 1 missing value(s), first at 2024-01-01 02:00:00; "
        "choose missing='interpolate'|'ffill'|'zero'|'mask' (--missing)"
    )
    df["y"] = np.nan
    with pytest.raises(ValueError) as err:
        load_series(df, "y", missing="mask")
    assert str(err.value) == "series '0': target 'y' has no observed value"


def test_several_series_and_covariate_alignment():
    a = frame(6, c=np.arange(6) * 10.0, f=np.arange(6) * 100.0)
    b = frame(4, c=np.arange(4) * 10.0 + 1, f=np.arange(4) * 100.0 + 1)
    b["y"] += 50
    df = pd.concat([a.assign(id="a"), b.assign(id="b")]).sample(frac=1.0, random_state=0)  # shuffled rows
    s = load_series(df, "y", id_col="id", past="c", future="f", calendar="hour")
    assert sorted(s.ids) == ["a", "b"]
    assert s.future == ["f", "hour_sin", "hour_cos"]
    for x in s.series:
        # Every row's covariates belong to that row's time (sorted per series, not scrambled).
        hours = x.time.hour.to_numpy()
        base = 50.0 if x.id == "b" else 0.0
        np.testing.assert_allclose(x.target[:, 0], hours + base)
        np.testing.assert_allclose(x.past[:, 0], hours * 10.0 + (x.id == "b"))
        np.testing.assert_allclose(x.future[:, 0], hours * 100.0 + (x.id == "b"))
        np.testing.assert_allclose(x.future[:, 1], np.sin(2 * np.pi * hours / 24), atol=1e-6)


def test_series_with_different_frequencies_is_an_error():
    df = pd.concat([frame(5).assign(id="a"), frame(5, freq="D").assign(id="b")])
    with pytest.raises(ValueError) as err:
        load_series(df, "y", id_col="id")
    assert str(err.value) == "series 'b' has frequency 'D' but the first series has 'h'"


def test_calendar_features_are_periodic():
    t = pd.date_range("2024-01-01", periods=48, freq="h")
    x, cols = calendar_features(t, ["hour", "dayofweek"])
    assert cols == ["hour_sin", "hour_cos", "dayofweek_sin", "dayofweek_cos"]
    np.testing.assert_allclose(x[:24, :2], x[24:, :2], atol=1e-6)
