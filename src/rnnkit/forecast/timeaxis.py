"""The time axis of a series: dates with a pandas frequency, or integer steps (0, 1, 2, ...).

A time column of integers is read as step numbers, not as nanoseconds since 1970 (pandas' reading of an integer
column as dates): its frequency is ``"step"`` (or ``"step5"`` for steps of 5), its forecast timestamps continue the
count, and its seasonal period, with no calendar to suggest one, is found in the data (:func:`detect_season`).

Shapes: T time steps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CALENDAR_FEATURES = ("hour", "dayofweek", "dayofmonth", "dayofyear", "month")
"""Known-future calendar features, each encoded as sin and cos of its phase."""
STEP = "step"
"""Frequency name of an integer time column; ``"step5"``: steps of 5."""


def is_step(freq: str) -> bool:
    """Whether ``freq`` is the frequency of an integer time column.

    >>> is_step("step"), is_step("step5"), is_step("h")
    (True, True, False)
    """
    return freq.startswith(STEP)


def step_size(freq: str) -> int:
    """The step of an integer-step frequency: ``"step"`` -> 1, ``"step5"`` -> 5."""
    return int(freq[len(STEP) :] or 1)


def infer_freq(time: pd.Index, series_id: str) -> str:
    """The series' frequency; a clear error naming the first irregular step when there is none.

    >>> infer_freq(pd.Index([0, 1, 2, 3]), "0"), infer_freq(pd.Index([10, 15, 20]), "0")
    ('step', 'step5')
    """
    if not isinstance(time, pd.DatetimeIndex):
        steps = np.diff(np.asarray(time, np.int64))
        if len(steps) and (steps == steps[0]).all() and steps[0] > 0:
            return STEP if steps[0] == 1 else f"{STEP}{steps[0]}"
    else:
        freq = pd.infer_freq(time) if len(time) >= 3 else None
        if freq is not None:
            return freq
        steps = time[1:] - time[:-1]
    # Guess the intended frequency from the most common step and point at the first step that breaks it.
    if len(steps) == 0:
        raise ValueError(f"series {series_id!r}: need at least 2 timestamps to infer a frequency, got {len(time)}")
    typical = pd.Series(steps).mode().iloc[0]
    bad = int(np.argmax(steps != typical))
    raise ValueError(
        f"series {series_id!r}: irregular timestamps: expected a step of {typical}, got {steps[bad]} between "
        f"{time[bad]} and {time[bad + 1]} (rows {bad} and {bad + 1}); pass gaps='fill' (--gaps fill) to insert "
        "missing timestamps as missing values, or resample the data"
    )


def fill_gaps(frame: pd.DataFrame, time_col: str, series_id: str) -> pd.DataFrame:
    """Insert rows (all values missing) for timestamps absent from a regular grid: dates on the frequency pandas
    infers (else the most common step), integers on their most common step."""
    raw = frame[time_col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        time = pd.DatetimeIndex(raw)
        freq: str | None = pd.infer_freq(time) if len(time) >= 3 else None
        if freq is None:
            typical = pd.Series(time[1:] - time[:-1]).mode().iloc[0]
            freq = pd.tseries.frequencies.to_offset(typical).freqstr
        grid: pd.Index = pd.date_range(time[0], time[-1], freq=freq)
    else:
        time = pd.Index(raw.to_numpy(np.int64))
        step = int(pd.Series(np.diff(time)).mode().iloc[0]) if len(time) > 1 else 1
        freq = f"step {step}"
        grid = pd.Index(np.arange(time[0], time[-1] + 1, step))
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


def future_times(last: object, freq: str, n: int) -> pd.Index:
    """The ``n`` timestamps after ``last``.

    >>> future_times(11, "step", 3).tolist()
    [12, 13, 14]
    >>> future_times(pd.Timestamp("2024-01-31"), "MS", 2).strftime("%Y-%m").tolist()
    ['2024-02', '2024-03']
    """
    if is_step(freq):
        d = step_size(freq)
        return pd.Index(int(last) + d * np.arange(1, n + 1))  # type: ignore[call-overload]
    offset = pd.tseries.frequencies.to_offset(freq)
    return pd.date_range(pd.Timestamp(last) + offset, periods=n, freq=offset)  # type: ignore[arg-type]


def season_of(freq: str) -> int:
    """A natural seasonal period for a pandas frequency: a day of sub-daily steps, a week of days, a year of
    weeks/months/quarters; 1 when none applies (and for integer steps, which have no calendar:
    :func:`detect_season` looks in the data instead).

    >>> season_of("h"), season_of("15min"), season_of("D"), season_of("MS"), season_of("step")
    (24, 96, 7, 12, 1)
    """
    if is_step(freq):
        return 1
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


def detect_season(values: np.ndarray, max_period: int | None = None, threshold: float = 0.3) -> int:
    """The seasonal period of ``values`` (T,) or (T, C) from its autocorrelation: the lag of the highest local
    peak of the autocorrelation of the differenced series (averaged over channels), between 2 and
    ``max_period`` (default T // 3), if that peak exceeds ``threshold``; else 1 (no season).

    >>> t = np.arange(120)
    >>> detect_season(np.sin(2 * np.pi * t / 12) + 0.01 * t)
    12
    >>> detect_season(np.random.default_rng(0).normal(size=120))
    1
    """
    x = np.asarray(values, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    x = x[~np.isnan(x).any(axis=1)]
    x = np.diff(x, axis=0)  # a trend would make every lag look alike
    n = len(x)
    top = min(max_period or n // 3, n - 1)
    if top < 2:
        return 1
    x = x - x.mean(axis=0)
    denom = (x**2).sum(axis=0)
    denom[denom == 0] = np.inf
    acf = np.array([((x[:-k] * x[k:]).sum(axis=0) / denom).mean() for k in range(1, top + 2)])  # lags 1..top+1
    best, season = threshold, 1
    for k in range(2, top + 1):
        a = acf[k - 1]
        if a > acf[k - 2] and a >= acf[k] and a > best:
            best, season = a, k
    return season


def time_steps(time: pd.Index, freq: str) -> np.ndarray:
    """Whole steps of ``freq`` from 1970-01-01 to each timestamp (int64): ``steps % cycle`` is a phase that depends
    on the timestamp alone, not on where a file starts (the hour of day for hourly steps and a cycle of 24).

    Fixed-length steps (hours, minutes, days, weeks) count elapsed time; month, quarter and year steps count
    calendar months; business days count weekdays; integer steps are their own count.

    >>> time_steps(pd.date_range("2024-01-01 05:00", periods=3, freq="h"), "h") % 24
    array([5, 6, 7])
    >>> time_steps(pd.date_range("2024-03-01", periods=2, freq="MS"), "MS") % 12  # March, April
    array([2, 3])
    >>> time_steps(pd.Index([10, 15]), "step5")
    array([2, 3])
    """
    if is_step(freq):
        return np.asarray(time, np.int64) // step_size(freq)
    assert isinstance(time, pd.DatetimeIndex)
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


def calendar_features(time: pd.Index, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
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
        if not isinstance(time, pd.DatetimeIndex):
            raise ValueError(f"calendar feature {name!r} needs dates; this time column holds integer steps")
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
