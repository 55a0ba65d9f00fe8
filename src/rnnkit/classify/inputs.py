"""Series from Python: every input form :class:`~rnnkit.classify.Classifier` accepts becomes a :class:`SeriesSet`.

Accepted ``X`` (N series, T steps, C channels), as aeon and sktime hold collections:

- numpy/torch ``(N, T)`` (univariate) or ``(N, C, T)`` (aeon's ``numpy3D``);
- a list of arrays: ``(T_i,)`` univariate, or ``(C, T_i)`` (aeon's ``np-list``), lengths may differ;
- a list of pandas DataFrames ``(T_i, C)`` (aeon's ``df-list``);
- a pandas DataFrame: wide (one row per series, one column per step, trailing NaN = a shorter series, as in a CSV),
  a ``(instance, time)`` MultiIndex with one column per channel (aeon's ``pd-multiindex``), or one pd.Series per
  cell (aeon's ``nested_univ``).

``y``: one label per series (any values; they become strings, the class names of the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.classify.data import SeriesSet, _checked


def as_series_set(X: Any, y: Any = None, name: str = "X") -> SeriesSet:
    """``X`` (and labels ``y``) -> a checked :class:`SeriesSet` of float32 (T_i, C) arrays.

    >>> as_series_set(np.zeros((4, 10)), ["a", "b", "a", "b"]).series[0].shape
    (10, 1)
    >>> as_series_set([np.zeros((2, 5)), np.zeros((2, 7))]).lengths
    [5, 7]
    >>> as_series_set(np.zeros((2, 3, 4, 5)))
    Traceback (most recent call last):
    ...
    ValueError: X: expected a 2D (N, T) or 3D (N, C, T) array, got 4D of shape (2, 3, 4, 5)
    """
    series = _series(X, name)
    if not series:
        raise ValueError(f"{name}: expected at least one series, got none")
    for i, s in enumerate(series):
        if s.shape[0] == 0:
            raise ValueError(f"{name}: series {i} has no time steps")
    labels = None if y is None else _labels(y, len(series), name)
    return _checked(series, labels, name)


def _series(X: Any, name: str) -> list[np.ndarray]:
    if hasattr(X, "detach") and hasattr(X, "numpy"):  # a torch tensor
        X = X.detach().cpu().numpy()
    if _is_pandas(X, "DataFrame"):
        return _from_dataframe(X, name)
    if _is_pandas(X, "Series"):
        X = list(X)
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            return [_float(row[:, None], name, i) for i, row in enumerate(X)]  # (T, 1)
        if X.ndim == 3:
            return [_float(s.T, name, i) for i, s in enumerate(X)]  # (C, T) -> (T, C)
        raise ValueError(f"{name}: expected a 2D (N, T) or 3D (N, C, T) array, got {X.ndim}D of shape {X.shape}")
    if isinstance(X, (list, tuple, np.ndarray)):
        return [_one(item, name, i) for i, item in enumerate(X)]
    raise TypeError(
        f"{name}: expected a numpy array (N, T) or (N, C, T), a list of series, or a pandas DataFrame; "
        f"got {type(X).__name__}"
    )


def _one(item: Any, name: str, i: int) -> np.ndarray:
    """One series of a list: (T,) or aeon's (C, T) array, or a (T, C) DataFrame."""
    if _is_pandas(item, "DataFrame"):
        return _float(item.to_numpy(), name, i)
    if _is_pandas(item, "Series"):
        return _float(item.to_numpy()[:, None], name, i)
    arr = np.asarray(item.detach().cpu().numpy() if hasattr(item, "detach") else item)
    if arr.ndim == 1:
        return _float(arr[:, None], name, i)
    if arr.ndim == 2:
        return _float(arr.T, name, i)
    raise ValueError(f"{name}: series {i} should be 1D (T,) or 2D (C, T); got shape {arr.shape}")


def _from_dataframe(df: Any, name: str) -> list[np.ndarray]:
    import pandas as pd

    if isinstance(df.index, pd.MultiIndex):  # aeon's pd-multiindex: (instance, time) x channels
        return [_float(group.to_numpy(), name, i) for i, (_, group) in enumerate(df.groupby(level=0, sort=False))]
    if len(df) and all(isinstance(v, pd.Series) for v in df.iloc[0]):  # nested_univ: a pd.Series per cell
        return [_float(np.stack([cell.to_numpy() for cell in row], axis=1), name, i) for i, row in enumerate(df.values)]
    out = []
    for i, row in enumerate(df.to_numpy()):  # wide: one row per series
        values = _float(row[:, None], name, i)
        valid = np.flatnonzero(~np.isnan(values[:, 0]))
        out.append(values[: valid[-1] + 1] if len(valid) else values[:0])  # trailing NaN: a shorter series
    return out


def _float(values: Any, name: str, i: int) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float32, order="C")  # a copy: writable, whatever the input was
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: series {i} is not numeric ({err})") from None


def _labels(y: Any, n: int, name: str) -> list[str]:
    values = list(y.tolist() if hasattr(y, "tolist") else y)
    if len(values) != n:
        raise ValueError(f"y: expected one label per series of {name} ({n}), got {len(values)}")
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            raise ValueError(f"y: label {i} is missing ({v!r})")
    return [str(v) for v in values]


def _is_pandas(obj: Any, kind: str) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == kind


def check_trainable(data: SeriesSet) -> None:
    """A classifier needs at least two classes to learn anything."""
    classes: Sequence[str] = sorted(set(data.labels or []))
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        raise ValueError(f"{data.source}: a classifier needs series of at least two classes; found {found}")
