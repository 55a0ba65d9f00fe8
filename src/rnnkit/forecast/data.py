"""Forecasting data: read a table, validate its time axis, report and fill missing values, add calendar features.

A table (CSV, Parquet or a pandas DataFrame) has a time column, one or more target columns, optional past-only
covariates (known up to the forecast origin), optional known-future covariates (known over the horizon too, such
as calendar features) and optionally an id column that separates several series in one file.

Shapes, used across :mod:`rnnkit.forecast`: T time steps of one series, C targets, P past covariates,
F known-future covariates, L look-back, H horizon, B batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.forecast.timeaxis import CALENDAR_FEATURES, calendar_features, fill_gaps, infer_freq, season_of, time_steps

__all__ = [  # the time-axis helpers live in rnnkit.forecast.timeaxis; importable from here as before
    "CALENDAR_FEATURES",
    "GAP_METHODS",
    "MISSING_METHODS",
    "Series",
    "SeriesSet",
    "calendar_features",
    "load_series",
    "read_table",
    "season_of",
    "time_steps",
]

log = logging.getLogger(__name__)

MISSING_METHODS = ("interpolate", "ffill", "zero", "mask", "error")
"""How missing target values are handled: linear interpolation (edges: nearest value), forward fill (leading gap:
back fill), zeros, ``mask`` (kept missing: zero in the model input, excluded from the loss and the metrics), or an
error."""
GAP_METHODS = ("error", "fill")
"""Missing timestamps (a gap in a regular series): an error, or insert the rows as missing values (then handled by
the missing-value method)."""


@dataclass
class Series:
    """One series: its timestamps, targets (NaN where missing) and covariates, all row-aligned."""

    id: str
    time: pd.Index  # a DatetimeIndex, or int64 step numbers for an integer time column
    target: np.ndarray  # (T, C) float32, NaN only where ``observed`` is False and the method is "mask"
    observed: np.ndarray  # (T, C) bool, False where the target was missing in the file
    past: np.ndarray  # (T, P) float32
    future: np.ndarray  # (T, F) float32

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class SeriesSet:
    """Every series of a table, with the column roles that produced them."""

    series: list[Series]
    targets: list[str]
    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)  # user columns then calendar feature names
    calendar: list[str] = field(default_factory=list)
    freq: str = ""
    time_col: str = ""
    id_col: str | None = None
    missing: str = "interpolate"
    missing_report: dict[str, int] = field(default_factory=dict)  # column -> missing values found

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.series]


def read_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A DataFrame from a CSV or Parquet file (by suffix), or the DataFrame itself (copied).

    >>> read_table(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"expected a .csv or .parquet file, got {path.name!r}")


def _split_names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _check_columns(df: pd.DataFrame, names: Sequence[str], role: str) -> None:
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise ValueError(f"{role} column(s) {missing} not found; the table has columns {list(df.columns)}")


def _fill(values: pd.DataFrame, method: str) -> pd.DataFrame:
    if method == "interpolate":
        return values.interpolate(method="linear", limit_direction="both")
    if method == "ffill":
        return values.ffill().bfill()
    if method == "zero":
        return values.fillna(0.0)
    return values  # "mask": kept as NaN, the observed mask says where


@dataclass
class _Roles:
    """The columns of a table by role, checked against the table."""

    time: str
    targets: list[str]
    past: list[str]
    future: list[str]
    calendar: list[str]
    id: str | None

    @property
    def values(self) -> list[str]:
        return self.targets + self.past + self.future


def _roles(
    df: pd.DataFrame,
    target: str | Sequence[str],
    time_col: str | None,
    past: str | Sequence[str] | None,
    future: str | Sequence[str] | None,
    calendar: str | Sequence[str] | None,
    id_col: str | None,
) -> _Roles:
    if df.shape[1] == 0:
        raise ValueError("the table has no columns")
    r = _Roles(
        time=time_col or str(df.columns[0]),
        targets=_split_names(target),
        past=_split_names(past),
        future=_split_names(future),
        calendar=_split_names(calendar),
        id=id_col,
    )
    if not r.targets:
        raise ValueError("expected at least one target column (--target COL[,COL]), got none")
    _check_columns(df, [r.time], "time")
    _check_columns(df, r.targets, "target")
    _check_columns(df, r.past, "past covariate")
    _check_columns(df, r.future, "future covariate")
    if r.id is not None:
        _check_columns(df, [r.id], "id")
    roles = r.values
    special = {r.time} | ({r.id} if r.id is not None else set())
    overlap = sorted({c for c in roles if roles.count(c) > 1} | (special & set(roles)))
    if overlap:
        raise ValueError(f"column(s) {overlap} given more than one role (time/id/target/past/future)")
    for col in roles:
        if not pd.api.types.is_numeric_dtype(df[col]):
            bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                raise ValueError(
                    f"column {col!r} must hold numbers; row {row} (counting data rows from 0) holds "
                    f"{df[col].iloc[row]!r}; fix the value, or leave the cell empty to treat it as missing"
                )
            raise ValueError(f"column {col!r} must be numeric, got dtype {df[col].dtype}")
        values = df[col].to_numpy(np.float64)
        if np.isinf(values).any():
            row = int(np.argmax(np.isinf(values)))
            raise ValueError(
                f"column {col!r} holds an infinite value ({values[row]}) at row {row} (counting data rows from 0); "
                "replace it with a number, or leave the cell empty to treat it as missing"
            )
    return r


def _parse_time(df: pd.DataFrame, time_col: str) -> None:
    """Dates stay dates, integers stay integers (step numbers: never nanoseconds since 1970), the rest is parsed."""
    col = df[time_col]
    if pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col):
        df[time_col] = col.astype(np.int64)
        return
    try:
        df[time_col] = pd.to_datetime(col)
    except (ValueError, TypeError) as err:
        raise ValueError(f"time column {time_col!r} could not be parsed as dates or integer steps: {err}") from None
    if df[time_col].isna().any():
        row = int(np.argmax(df[time_col].isna().to_numpy()))
        raise ValueError(f"time column {time_col!r} has a missing timestamp at row {row}")


def _time_index(values: pd.Series) -> pd.Index:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.DatetimeIndex(values)
    return pd.Index(values.to_numpy(np.int64))


def _check_order(time: pd.Index, sid: str) -> None:
    dup = time.duplicated()
    if dup.any():
        first = time[dup][0]
        rows = np.flatnonzero(time == first)[:2].tolist()
        raise ValueError(f"series {sid!r}: duplicate timestamp {first} (rows {rows} of the series)")
    if not time.is_monotonic_increasing:
        bad = int(np.argmax(time[1:] < time[:-1]))
        raise ValueError(
            f"series {sid!r}: timestamps must increase, got {time[bad + 1]} after {time[bad]} (row {bad + 1})"
        )


def _targets(frame: pd.DataFrame, r: _Roles, time: pd.Index, sid: str, missing: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Targets with missing values handled by ``missing``, and where they were observed (T, C)."""
    y = frame[r.targets].astype("float64")
    observed = y.notna().to_numpy()
    if not observed.all() and missing == "error":
        col = r.targets[int(np.argmax((~observed).any(axis=0)))]
        row = int(np.argmax((~observed).any(axis=1)))
        raise ValueError(
            f"series {sid!r}: target {col!r} has {int((~observed).sum())} missing value(s), first at "
            f"{time[row]}; choose missing='interpolate'|'ffill'|'zero'|'mask' (--missing)"
        )
    if (~observed).all(axis=0).any():
        col = r.targets[int(np.argmax((~observed).all(axis=0)))]
        raise ValueError(f"series {sid!r}: target {col!r} has no observed value")
    return _fill(y, missing), observed


def _one_series(frame: pd.DataFrame, r: _Roles, sid: str, missing: str, gaps: str) -> Series:
    """One series from its rows: order checked, gaps filled (``gaps="fill"``), missing values handled."""
    if r.id is not None:
        frame = frame.sort_values(r.time, kind="stable")
    _check_order(_time_index(frame[r.time]), sid)
    frame = frame[[r.time, *r.values]]
    if gaps == "fill":
        frame = fill_gaps(frame, r.time, sid)
    time = _time_index(frame[r.time])
    y, observed = _targets(frame, r, time, sid, missing)
    cov = frame[r.past + r.future].astype("float64")
    if cov.isna().all(axis=0).any():
        col = cov.columns[int(np.argmax(cov.isna().all(axis=0).to_numpy()))]
        raise ValueError(f"series {sid!r}: covariate {col!r} has no observed value")
    cov = _fill(cov, "interpolate")
    cal_x, _ = calendar_features(time, r.calendar)
    return Series(
        id=sid,
        time=time,
        target=y.to_numpy(np.float32),
        observed=observed,
        past=cov[r.past].to_numpy(np.float32),
        future=np.concatenate([cov[r.future].to_numpy(np.float32), cal_x], axis=1),
    )


def load_series(
    source: str | Path | pd.DataFrame,
    target: str | Sequence[str],
    *,
    time_col: str | None = None,
    past: str | Sequence[str] | None = None,
    future: str | Sequence[str] | None = None,
    calendar: str | Sequence[str] | None = None,
    id_col: str | None = None,
    missing: str = "interpolate",
    gaps: str = "error",
) -> SeriesSet:
    """Read and validate a table of one or several series.

    ``time_col`` None takes the first column; it holds dates, or integers (0, 1, 2, ...) read as step numbers
    (frequency ``"step"``). Duplicate timestamps (within a series) and irregular ones raise a ValueError naming the
    first offending rows; ``gaps="fill"`` inserts absent timestamps as missing values instead. An infinite value
    is an error naming its row. Missing target values are counted, logged and handled by ``missing`` (see
    :data:`MISSING_METHODS`); missing covariates are always interpolated (a model input needs a value), and
    reported.

    >>> df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=4, freq="D"), "y": [1.0, None, 3.0, 4.0]})
    >>> s = load_series(df, "y", time_col="t")
    >>> s.freq, s.series[0].target[:, 0].tolist(), s.missing_report
    ('D', [1.0, 2.0, 3.0, 4.0], {'y': 1})
    >>> load_series(pd.DataFrame({"t": [0, 1, 2], "y": [5.0, 6.0, 7.0]}), "y").freq  # integer steps
    'step'
    """
    if missing not in MISSING_METHODS:
        raise ValueError(f"missing must be one of {list(MISSING_METHODS)}, got {missing!r}")
    if gaps not in GAP_METHODS:
        raise ValueError(f"gaps must be one of {list(GAP_METHODS)}, got {gaps!r}")
    df = read_table(source)
    r = _roles(df, target, time_col, past, future, calendar, id_col)
    _parse_time(df, r.time)
    groups = [("0", df)] if r.id is None else [(str(k), g) for k, g in df.groupby(r.id, sort=False)]
    series, freq = [], ""
    for sid, frame in groups:
        s = _one_series(frame, r, sid, missing, gaps)
        this_freq = infer_freq(s.time, sid)
        if freq and this_freq != freq:
            raise ValueError(f"series {sid!r} has frequency {this_freq!r} but the first series has {freq!r}")
        freq = this_freq
        series.append(s)
    report = _missing_report(df, r, missing, gaps, series)
    _, cal_cols = calendar_features(series[0].time[:1], r.calendar)
    return SeriesSet(
        series=series,
        targets=r.targets,
        past=r.past,
        future=r.future + cal_cols,
        calendar=r.calendar,
        freq=freq,
        time_col=r.time,
        id_col=r.id,
        missing=missing,
        missing_report=report,
    )


def _missing_report(df: pd.DataFrame, r: _Roles, missing: str, gaps: str, series: list[Series]) -> dict[str, int]:
    """Missing values per column (inserted timestamps count as missing in every column), logged as warnings."""
    report: dict[str, int] = {}
    inserted = sum(len(s) for s in series) - len(df) if gaps == "fill" else 0
    for col in r.values:
        n = int(df[col].isna().sum()) + inserted
        if n:
            report[col] = n
            log.warning(
                "column %r: %d missing value(s), handled by %r", col, n, missing if col in r.targets else "interpolate"
            )
    return report
