"""Train/validation/test borders and stride-1 sliding windows over one or several series.

Borders follow the long-horizon forecasting literature's code (Informer/Autoformer ``data_loader.py``, reused by
DLinear, PatchTST, SegRNN, iTransformer): each split is a row range ``[start, stop)`` whose first L rows are only
context (the look-back of its first window), so every forecast TARGET of the validation/test range lies after the
training rows. The scaler is fitted on the training range ``[0, train_stop)`` alone.

- ETTh* files: 12/4/4 months of 30 days in hourly rows: train [0, 8640), val [8640 - L, 11520),
  test [11520 - L, 14400); ETTm*: the same in 15-minute rows (x4).
- Any other data: 70/10/20 by rows: n_train = int(0.7 n), n_test = int(0.2 n), val the rest.

Shapes: see :mod:`rnnkit.forecast.data`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from rnnkit.forecast.data import time_steps

if TYPE_CHECKING:
    from rnnkit.forecast.data import Series
    from rnnkit.forecast.scale import StandardScaler

Borders = dict[str, tuple[int, int]]


def split_borders(
    n: int, lookback: int, *, name: str = "", ett: bool = False, val_frac: float = 0.1, test_frac: float = 0.2
) -> Borders:
    """Row ranges ``{"train", "val", "test"}`` of a series of ``n`` rows (each after the first includes L context).

    ``ett`` with a ``name`` starting ``ETTh``/``ETTm`` gives the fixed 12/4/4-month borders; otherwise fractions.

    >>> split_borders(17420, 96, name="ETTh1.csv", ett=True)
    {'train': (0, 8640), 'val': (8544, 11520), 'test': (11424, 14400)}
    >>> split_borders(100, 10)
    {'train': (0, 70), 'val': (60, 80), 'test': (70, 100)}
    """
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise ValueError(
            f"expected 0 <= val_frac, test_frac and val_frac + test_frac < 1, got {val_frac} and {test_frac}"
        )
    m = re.match(r"ETT([hm])", PurePath(name).name) if ett else None
    if m:
        per_month = 30 * 24 * (4 if m.group(1) == "m" else 1)
        train, val, test = 12 * per_month, 16 * per_month, 20 * per_month
        if n < test:
            raise ValueError(f"{name}: the ETT protocol needs {test} rows, got {n}")
        return {"train": (0, train), "val": (train - lookback, val), "test": (val - lookback, test)}
    n_train, n_test = int(n * (1 - val_frac - test_frac)), int(n * test_frac)
    n_val = n - n_train - n_test
    if n_train < lookback:
        raise ValueError(f"the training split has {n_train} rows, fewer than the look-back {lookback}")
    return {
        "train": (0, n_train),
        "val": (n_train - lookback, n_train + n_val),
        "test": (n - n_test - lookback, n),
    }


def window_starts(start: int, stop: int, lookback: int, horizon: int, stride: int = 1) -> np.ndarray:
    """First rows of every window (L inputs then H targets) lying inside ``[start, stop)``.

    >>> window_starts(0, 10, 3, 2).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    last = stop - lookback - horizon
    if last < start:
        return np.zeros(0, np.int64)
    return np.arange(start, last + 1, stride, dtype=np.int64)


def backtest_index(lengths: list[int], lookback: int, horizon: int, windows: int, stride: int) -> np.ndarray:
    """(n, 2) (series, first row) of the last ``windows`` origins of each series, ``stride`` apart, oldest first.

    >>> backtest_index([20], 5, 3, 3, 2).tolist()
    [[0, 8], [0, 10], [0, 12]]
    """
    rows = []
    for k, n in enumerate(lengths):
        last = n - lookback - horizon
        if last < 0:
            raise ValueError(f"series {k} has {n} rows, fewer than lookback + horizon = {lookback + horizon}")
        starts = [s for s in (last - stride * i for i in range(windows)) if s >= 0]
        rows += [(k, s) for s in reversed(starts)]
    return np.asarray(rows, np.int64)


@dataclass
class WindowData:
    """All series concatenated, scaled and ready to gather windows from (float32 arrays, row-aligned)."""

    target: np.ndarray  # (N, C) scaled, 0 where missing
    observed: np.ndarray  # (N, C) bool
    past: np.ndarray  # (N, P)
    future: np.ndarray  # (N, F)
    offsets: np.ndarray  # (S,) first row of each series in the concatenation
    lengths: np.ndarray  # (S,)
    steps: np.ndarray | None = None  # (N,) int64 steps of the frequency since 1970 (data.time_steps); None: unknown

    def gather(self, series: np.ndarray, starts: np.ndarray, lookback: int, horizon: int) -> dict[str, Tensor]:
        """Batch of windows: ``x`` (B, L, C), ``x_mask`` (B, L, C), ``past`` (B, L, P), ``future`` (B, L+H, F),
        ``y`` (B, H, C), ``y_mask`` (B, H, C) and, when the time steps are known, ``t`` (B,) the step of each
        window's first row (its phase in a cycle: :class:`~rnnkit.forecast.models.ForecastModel` ``cycle``)."""
        g = self.offsets[series] + starts  # (B,)
        rows_in = g[:, None] + np.arange(lookback)  # (B, L)
        rows_out = g[:, None] + lookback + np.arange(horizon)  # (B, H)
        rows_all = g[:, None] + np.arange(lookback + horizon)
        batch = {
            "x": torch.from_numpy(self.target[rows_in]),
            "x_mask": torch.from_numpy(self.observed[rows_in]),
            "past": torch.from_numpy(self.past[rows_in]),
            "future": torch.from_numpy(self.future[rows_all]),
            "y": torch.from_numpy(self.target[rows_out]),
            "y_mask": torch.from_numpy(self.observed[rows_out]),
        }
        if self.steps is not None:
            batch["t"] = torch.from_numpy(self.steps[g])
        return batch


class WindowLoader:
    """Iterable of window batches (dicts of tensors), gathered with NumPy fancy indexing (no per-item Python).

    ``index`` is (n, 2): series number and first row (within that series) of each window. With ``shuffle`` the
    order of an epoch depends only on (``seed``, epoch) (the trainer calls :meth:`set_epoch`), so a resumed run
    sees the same batches as an uninterrupted one; under torchrun each process takes every world_size-th window
    of that order (its shard).

    >>> import numpy as np
    >>> loader = WindowLoader(None, np.zeros((10, 2), np.int64), 3, 2, 4, shuffle=True)  # type: ignore[arg-type]
    >>> loader.set_epoch(1); a = loader._order(); loader.set_epoch(1); bool((a == loader._order()).all())
    True
    """

    def __init__(
        self,
        data: WindowData,
        index: np.ndarray,
        lookback: int,
        horizon: int,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
    ):
        if len(index) == 0:
            raise ValueError(f"no window of look-back {lookback} + horizon {horizon} fits in this split")
        self.data, self.index, self.lookback, self.horizon = data, index, lookback, horizon
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> np.ndarray:
        from rnnkit.train.distributed import rank, world_size

        n = len(self.index)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)
        return order[rank() :: world_size()] if self.shuffle else order  # training shards; evaluation sees all

    def __len__(self) -> int:
        return -(-len(self._order()) // self.batch_size)

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        order = self._order()
        for i in range(0, len(order), self.batch_size):
            idx = self.index[order[i : i + self.batch_size]]
            yield self.data.gather(idx[:, 0], idx[:, 1], self.lookback, self.horizon)


def build_window_data(series: list[Series], scaler: StandardScaler, freq: str | None = None) -> WindowData:
    """Concatenate ``Series`` objects after scaling their targets with the fitted ``scaler``; missing -> 0.

    With ``freq`` every row also gets its time step (:func:`~rnnkit.forecast.data.time_steps`), unless the
    frequency has no step count (then ``steps`` is None and a model with a cycle refuses the data)."""
    targets, observed, past, future, lengths = [], [], [], [], []
    for s in series:
        y = scaler.transform(s.id, s.target)
        observed.append(s.observed & ~np.isnan(y))
        targets.append(np.nan_to_num(y, nan=0.0).astype(np.float32))
        past.append(s.past.astype(np.float32))
        future.append(s.future.astype(np.float32))
        lengths.append(len(s.target))
    lens = np.asarray(lengths, np.int64)
    steps = None
    if freq:
        with contextlib.suppress(ValueError):  # a frequency with no step count: no steps
            steps = np.concatenate([time_steps(s.time, freq) for s in series])
    return WindowData(
        target=np.concatenate(targets),
        observed=np.concatenate(observed),
        past=np.concatenate(past),
        future=np.concatenate(future),
        offsets=np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        lengths=lens,
        steps=steps,
    )


def split_index(borders: list[Borders], split: str, lookback: int, horizon: int, stride: int = 1) -> np.ndarray:
    """(n, 2) windows (series number, first row) of ``split`` over every series, given each series' borders."""
    parts = []
    for k, b in enumerate(borders):
        starts = window_starts(*b[split], lookback, horizon, stride)
        parts.append(np.stack([np.full_like(starts, k), starts], axis=1))
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)
