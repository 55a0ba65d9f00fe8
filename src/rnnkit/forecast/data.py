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

log = logging.getLogger(__name__)

MISSING_METHODS = ("interpolate", "ffill", "zero", "mask", "error")
"""How missing target values are handled: linear interpolation (edges: nearest value), forward fill (leading gap:
back fill), zeros, ``mask`` (kept missing: zero in the model input, excluded from the loss and the metrics), or an
error."""
GAP_METHODS = ("error", "fill")
"""Missing timestamps (a gap in a regular series): an error, or insert the rows as missing values (then handled by
the missing-value method)."""
CALENDAR_FEATURES = ("hour", "dayofweek", "dayofmonth", "dayofyear", "month")
"""Known-future calendar features, each encoded as sin and cos of its phase."""


@dataclass
class Series:
    """One series: its timestamps, targets (NaN where missing) and covariates, all row-aligned."""

    id: str
    time: pd.DatetimeIndex
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


def _infer_freq(time: pd.DatetimeIndex, series_id: str) -> str:
    """The series' frequency; a clear error naming the first irregular step when there is none."""
    freq = pd.infer_freq(time) if len(time) >= 3 else None
    if freq is not None:
        return freq
    # Guess the intended frequency from the most common step and point at the first step that breaks it.
    steps = time[1:] - time[:-1]
    if len(steps) == 0:
        raise ValueError(f"series {series_id!r}: need at least 2 timestamps to infer a frequency, got {len(time)}")
    typical = pd.Series(steps).mode().iloc[0]
    bad = int(np.argmax(steps != typical))
    raise ValueError(
        f"series {series_id!r}: irregular timestamps: expected a step of {typical}, got {steps[bad]} between "
        f"{time[bad]} and {time[bad + 1]} (rows {bad} and {bad + 1}); pass gaps='fill' (--gaps fill) to insert "
        "missing timestamps as missing values, or resample the data"
    )


def _fill_gaps(frame: pd.DataFrame, time_col: str, freq: str | None, series_id: str) -> pd.DataFrame:
    """Insert rows (all values missing) for timestamps absent from a regular grid."""
    time = pd.DatetimeIndex(frame[time_col])
    if freq is None:
        # The step that most consecutive rows agree on; for calendar frequencies try pandas on the longest run.
        steps = pd.Series(time[1:] - time[:-1])
        typical = steps.mode().iloc[0]
        freq = pd.tseries.frequencies.to_offset(typical).freqstr
    grid = pd.date_range(time[0], time[-1], freq=freq)
    if not time.isin(grid).all():
        off = time[~time.isin(grid)][0]
        raise ValueError(
            f"series {series_id!r}: timestamp {off} is not on the {freq!r} grid starting at {time[0]}; "
            "resample the data first"
        )
    added = len(grid) - len(time)
    if added:
        log.warning("series %r: inserted %d missing timestamps (gaps='fill')", series_id, added)
    return frame.set_index(time_col).reindex(grid).rename_axis(time_col).reset_index()


def season_of(freq: str) -> int:
    """A natural seasonal period for a pandas frequency: a day of sub-daily steps, a week of days, a year of
    weeks/months/quarters; 1 when none applies.

    >>> season_of("h"), season_of("15min"), season_of("D"), season_of("MS")
    (24, 96, 7, 12)
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    name = offset.name
    if name == "D" and offset.n == 1:  # not a Tick in pandas >= 3
        return 7
    if name == "B":
        return 5
    if isinstance(offset, pd.tseries.offsets.Tick):
        step = pd.Timedelta(offset)
        return max(1, int(pd.Timedelta(days=1) / step)) if step < pd.Timedelta(days=1) else 1
    if name.startswith("W"):
        return 52
    if name.startswith(("M", "BM", "SM")):
        return 12
    if name.startswith(("Q", "BQ")):
        return 4
    return 1


def time_steps(time: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Whole steps of ``freq`` from 1970-01-01 to each timestamp (int64): ``steps % cycle`` is a phase that depends
    on the timestamp alone, not on where a file starts (the hour of day for hourly steps and a cycle of 24).

    Fixed-length steps (hours, minutes, days, weeks) count elapsed time; month, quarter and year steps count
    calendar months; business days count weekdays.

    >>> time_steps(pd.date_range("2024-01-01 05:00", periods=3, freq="h"), "h") % 24
    array([5, 6, 7])
    >>> time_steps(pd.date_range("2024-03-01", periods=2, freq="MS"), "MS") % 12  # March, April
    array([2, 3])
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    name, n = offset.name, offset.n
    naive = time.tz_localize(None) if time.tz is not None else time
    if name.startswith(("M", "BM", "Q", "BQ", "Y", "BY", "A", "BA")):  # calendar months ("min" is lower case)
        months = (naive.year - 1970) * 12 + naive.month - 1
        per = 12 if name.startswith(("Y", "BY", "A", "BA")) else 3 if name.startswith(("Q", "BQ")) else 1
        return np.asarray(months // (per * n), np.int64)
    if name == "B":
        days = naive.values.astype("datetime64[D]")
        return np.busday_count(np.datetime64("1970-01-01", "D"), days).astype(np.int64) // n
    step = None
    if name.startswith("W"):
        step = pd.Timedelta(days=7 * n)
    elif name == "D":  # not a Tick in pandas >= 3
        step = pd.Timedelta(days=n)
    elif isinstance(offset, pd.tseries.offsets.Tick):
        step = pd.Timedelta(offset)
    if step is not None:
        return np.asarray((naive - pd.Timestamp("1970-01-01")) // step, np.int64)
    raise ValueError(f"cannot count steps of frequency {freq!r} for a cycle; use --cycle 0")


def calendar_features(time: pd.DatetimeIndex, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Sin/cos encodings of calendar fields, known in advance for any future timestamp.

    >>> x, cols = calendar_features(pd.date_range("2024-01-01", periods=3, freq="h"), ["hour"])
    >>> x.shape, cols
    ((3, 2), ['hour_sin', 'hour_cos'])
    """
    periods = {"hour": 24, "dayofweek": 7, "dayofmonth": 31, "dayofyear": 366, "month": 12}
    cols, out = [], []
    for name in names:
        if name not in periods:
            raise ValueError(f"unknown calendar feature {name!r}; expected some of {list(CALENDAR_FEATURES)}")
        value = {
            "hour": time.hour,
            "dayofweek": time.dayofweek,
            "dayofmonth": time.day - 1,
            "dayofyear": time.dayofyear - 1,
            "month": time.month - 1,
        }[name]
        phase = 2 * np.pi * np.asarray(value, dtype=np.float64) / periods[name]
        out += [np.sin(phase), np.cos(phase)]
        cols += [f"{name}_sin", f"{name}_cos"]
    if not out:
        return np.zeros((len(time), 0), np.float32), []
    return np.stack(out, axis=1).astype(np.float32), cols


def _fill(values: pd.DataFrame, method: str) -> pd.DataFrame:
    if method == "interpolate":
        return values.interpolate(method="linear", limit_direction="both")
    if method == "ffill":
        return values.ffill().bfill()
    if method == "zero":
        return values.fillna(0.0)
    return values  # "mask": kept as NaN, the observed mask says where


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

    ``time_col`` None takes the first column. Duplicate timestamps (within a series) and irregular ones raise a
    ValueError naming the first offending rows; ``gaps="fill"`` inserts absent timestamps as missing values instead.
    Missing target values are counted, logged and handled by ``missing`` (see :data:`MISSING_METHODS`); missing
    covariates are always interpolated (a model input needs a value), and reported.

    >>> df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=4, freq="D"), "y": [1.0, None, 3.0, 4.0]})
    >>> s = load_series(df, "y", time_col="t")
    >>> s.freq, s.series[0].target[:, 0].tolist(), s.missing_report
    ('D', [1.0, 2.0, 3.0, 4.0], {'y': 1})
    """
    if missing not in MISSING_METHODS:
        raise ValueError(f"missing must be one of {list(MISSING_METHODS)}, got {missing!r}")
    if gaps not in GAP_METHODS:
        raise ValueError(f"gaps must be one of {list(GAP_METHODS)}, got {gaps!r}")
    df = read_table(source)
    if df.shape[1] == 0:
        raise ValueError("the table has no columns")
    time_col = time_col or str(df.columns[0])
    targets, past_cols, future_cols = _split_names(target), _split_names(past), _split_names(future)
    cal = _split_names(calendar)
    if not targets:
        raise ValueError("expected at least one target column (--target COL[,COL]), got none")
    _check_columns(df, [time_col], "time")
    _check_columns(df, targets, "target")
    _check_columns(df, past_cols, "past covariate")
    _check_columns(df, future_cols, "future covariate")
    if id_col is not None:
        _check_columns(df, [id_col], "id")
    roles = targets + past_cols + future_cols
    special = {time_col} | ({id_col} if id_col is not None else set())
    overlap = sorted({c for c in roles if roles.count(c) > 1} | (special & set(roles)))
    if overlap:
        raise ValueError(f"column(s) {overlap} given more than one role (time/id/target/past/future)")
    for col in roles:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise ValueError(f"column {col!r} must be numeric, got dtype {df[col].dtype}")
    try:
        df[time_col] = pd.to_datetime(df[time_col])
    except (ValueError, TypeError) as err:
        raise ValueError(f"time column {time_col!r} could not be parsed as dates: {err}") from None
    if df[time_col].isna().any():
        row = int(np.argmax(df[time_col].isna().to_numpy()))
        raise ValueError(f"time column {time_col!r} has a missing timestamp at row {row}")

    groups = [("0", df)] if id_col is None else [(str(k), g) for k, g in df.groupby(id_col, sort=False)]
    report: dict[str, int] = {}
    series, freq = [], ""
    cal_cols: list[str] = []
    for sid, frame in groups:
        frame = frame.sort_values(time_col, kind="stable") if id_col is not None else frame
        time = pd.DatetimeIndex(frame[time_col])
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
        frame = frame[[time_col, *roles]]
        if gaps == "fill":
            frame = _fill_gaps(frame, time_col, pd.infer_freq(time) if len(time) >= 3 else None, sid)
            time = pd.DatetimeIndex(frame[time_col])
        this_freq = _infer_freq(time, sid)
        if freq and this_freq != freq:
            raise ValueError(f"series {sid!r} has frequency {this_freq!r} but the first series has {freq!r}")
        freq = this_freq
        for col in roles:
            n = int(frame[col].isna().sum())
            if n:
                report[col] = report.get(col, 0) + n
        y = frame[targets].astype("float64")
        observed = y.notna().to_numpy()
        if not observed.all() and missing == "error":
            col = targets[int(np.argmax((~observed).any(axis=0)))]
            row = int(np.argmax((~observed).any(axis=1)))
            raise ValueError(
                f"series {sid!r}: target {col!r} has {int((~observed).sum())} missing value(s), first at "
                f"{time[row]}; choose missing='interpolate'|'ffill'|'zero'|'mask' (--missing)"
            )
        if (~observed).all(axis=0).any():
            col = targets[int(np.argmax((~observed).all(axis=0)))]
            raise ValueError(f"series {sid!r}: target {col!r} has no observed value")
        y = _fill(y, missing)
        cov = frame[past_cols + future_cols].astype("float64")
        if cov.isna().all(axis=0).any():
            col = cov.columns[int(np.argmax(cov.isna().all(axis=0).to_numpy()))]
            raise ValueError(f"series {sid!r}: covariate {col!r} has no observed value")
        cov = _fill(cov, "interpolate")
        cal_x, cal_cols = calendar_features(time, cal)
        fut = np.concatenate([cov[future_cols].to_numpy(np.float32), cal_x], axis=1)
        series.append(
            Series(
                id=sid,
                time=time,
                target=y.to_numpy(np.float32),
                observed=observed,
                past=cov[past_cols].to_numpy(np.float32),
                future=fut,
            )
        )
    for col, n in report.items():
        how = missing if col in targets else "interpolate"
        log.warning("column %r: %d missing value(s), handled by %r", col, n, how)
    return SeriesSet(
        series=series,
        targets=targets,
        past=past_cols,
        future=future_cols + cal_cols,
        calendar=cal,
        freq=freq,
        time_col=time_col,
        id_col=id_col,
        missing=missing,
        missing_report=report,
    )
