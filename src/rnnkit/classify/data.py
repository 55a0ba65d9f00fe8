"""Time-series classification data: UCR/UEA archives by name (offline, through aeon) and files (.ts/.arff/.csv).

Every loader returns a :class:`SeriesSet`: a list of float32 arrays (T_i, F), one per series, so multivariate and
unequal-length data sets share one form, plus string labels. :func:`pad` turns a list into a padded batch and
its lengths for :class:`rnnkit.classify.model.SequenceClassifier`.

Shapes: N series, T time steps (T_i for series i), F channels.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

FILE_TYPES = (".ts", ".arff", ".csv")


@dataclass
class SeriesSet:
    """Series (each (T_i, F) float32) with their labels (None for unlabelled input), and where they came from."""

    series: list[np.ndarray]
    labels: list[str] | None
    source: str

    def __len__(self) -> int:
        return len(self.series)

    @property
    def channels(self) -> int:
        return self.series[0].shape[1]

    @property
    def lengths(self) -> list[int]:
        return [s.shape[0] for s in self.series]

    def subset(self, index: Sequence[int]) -> SeriesSet:
        labels = None if self.labels is None else [self.labels[i] for i in index]
        return SeriesSet([self.series[i] for i in index], labels, self.source)


# ---- UCR/UEA by name ------------------------------------------------------------------------------------------
def _aeon_data_dir() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def available_datasets() -> list[str]:
    """Classification data sets that ship inside aeon, so load without a network.

    >>> {"GunPoint", "JapaneseVowels", "ItalyPowerDemand", "BasicMotions"} <= set(available_datasets())
    True
    """
    names = []
    for folder in sorted(_aeon_data_dir().iterdir()):
        train = folder / f"{folder.name}_TRAIN.ts"
        if train.is_file() and "@classlabel true" in train.read_text(errors="replace")[:20000].lower():
            names.append(folder.name)
    return names


def load_dataset(name: str, split: str) -> SeriesSet:
    """A UCR/UEA data set's official ``split`` ("train" or "test"), offline: by name (one shipped with aeon) or
    as a folder in the archive's layout (``.../Univariate_ts/ArrowHead`` holding ``ArrowHead_TRAIN.ts`` and
    ``ArrowHead_TEST.ts``, or ``.arff``).

    >>> data = load_dataset("JapaneseVowels", "train")
    >>> len(data), data.channels, min(data.lengths), max(data.lengths)
    (270, 12, 7, 26)
    """
    if split not in ("train", "test"):
        raise ValueError(f"expected split 'train' or 'test', got {split!r}")
    folder = Path(name)
    if folder.is_dir():
        return load_file(archive_file(folder, split))
    available = available_datasets()
    if name not in available:
        raise ValueError(
            f"unknown data set {name!r}; available offline (shipped with aeon): {', '.join(available)}. "
            "For other data give a folder in the UCR archive layout (NAME/NAME_TRAIN.ts, NAME/NAME_TEST.ts) "
            "or --train FILE --test FILE"
        )
    from aeon.datasets import load_classification

    X, y = load_classification(name, split=split)
    return _checked(_from_aeon(X), [str(v) for v in y], f"{name} ({split})")


def archive_file(folder: Path, split: str) -> Path:
    """FOLDER/NAME_TRAIN.ts (or .arff) of a data set folder in the UCR/UEA archive layout; NAME = the folder's."""
    for suffix in (".ts", ".arff"):
        path = folder / f"{folder.name}_{split.upper()}{suffix}"
        if path.is_file():
            return path
    raise ValueError(
        f"{folder} is not a data set folder in the UCR/UEA archive layout: expected {folder.name}_{split.upper()}.ts "
        f"(or .arff) in it"
    )


def archive_datasets(root: str | Path) -> list[Path]:
    """The data set folders under ``root`` (an unpacked UCR/UEA archive, e.g. ``Univariate_ts/``): every
    sub-folder NAME holding NAME_TRAIN and NAME_TEST (.ts or .arff), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"expected a folder of UCR/UEA data sets, got {root} (not a folder)")
    found = []
    for folder in sorted(root.iterdir(), key=lambda p: p.name.lower()):
        if folder.is_dir() and all(
            any((folder / f"{folder.name}_{s}{x}").is_file() for x in (".ts", ".arff")) for s in ("TRAIN", "TEST")
        ):
            found.append(folder)
    return found


# ---- files ------------------------------------------------------------------------------------------------------
def load_file(path: str | Path, label_column: str = "label", labels_required: bool = True) -> SeriesSet:
    """Series from a .ts or .arff file (aeon's loaders) or a wide CSV (one row per series).

    CSV: a header row; ``label_column`` holds the class and every other column is one time step of a univariate
    series. A shorter series leaves its last cells empty; a missing value inside a series is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in FILE_TYPES:
        raise ValueError(f"expected a {', '.join(FILE_TYPES)} file, got {path.name!r}")
    if path.stat().st_size == 0 or not path.read_text(errors="replace").strip():
        raise ValueError(f"{path} is empty; expected one series per row (a CSV with a header row, .ts or .arff)")
    if suffix == ".csv":
        series, labels = _read_csv(path, label_column, labels_required)
    else:
        from aeon.datasets import load_from_arff_file, load_from_ts_file

        try:
            X, y = (load_from_ts_file if suffix == ".ts" else load_from_arff_file)(str(path))
        except (OSError, ValueError, IndexError, TypeError) as err:
            raise ValueError(f"could not read {path}: {err}") from err
        if len(X) == 0:
            raise ValueError(f"{path} holds no series")
        series = _from_aeon(X)
        labels = None if y is None or len(y) == 0 else [str(v) for v in y]
        if labels is None and labels_required:
            raise ValueError(f"{path} has no class labels; training and evaluation need them")
    return _checked(series, labels, str(path))


def _read_csv(path: Path, label_column: str, labels_required: bool) -> tuple[list[np.ndarray], list[str] | None]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row]
    header, rows = rows[0], rows[1:]
    if not rows:
        raise ValueError(f"{path} has a header but no series")
    if label_column in header:
        label_at: int | None = header.index(label_column)
    elif labels_required:
        raise ValueError(
            f"{path} has no label column {label_column!r}; columns are {_preview(header)}. "
            "Name the column holding the classes with --label_column"
        )
    else:
        label_at = None
    series, labels = [], []
    for i, row in enumerate(rows, start=2):  # line numbers as an editor shows them (header = line 1)
        if len(row) != len(header):
            raise ValueError(
                f"{path}: line {i} has {len(row)} fields, expected {len(header)} as in the header; "
                "the CSV is ragged (leave the last cells of a shorter series empty instead)"
            )
        cells = [c.strip() for k, c in enumerate(row) if k != label_at]
        while cells and cells[-1] == "":
            cells.pop()  # a shorter series
        if not cells:
            raise ValueError(f"{path}: line {i} holds no values")
        try:
            values = np.array([float(c) if c else math.nan for c in cells], dtype=np.float32)
        except ValueError as err:
            raise ValueError(f"{path}: line {i}: {err}; expected numbers") from None
        series.append(values[:, None])  # (T_i, 1)
        if label_at is not None:
            labels.append(row[label_at].strip())
    return series, (labels if label_at is not None else None)


def _preview(names: Sequence[str], n: int = 6) -> str:
    shown = ", ".join(repr(v) for v in names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _from_aeon(X: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    """aeon's (N, F, T) array or list of (F, T_i) arrays -> list of (T_i, F) float32."""
    return [np.ascontiguousarray(np.asarray(x, dtype=np.float32).T) for x in X]


def _checked(series: list[np.ndarray], labels: list[str] | None, source: str) -> SeriesSet:
    for i, s in enumerate(series):
        bad = np.argwhere(~np.isfinite(s))
        if len(bad):
            step, channel = (int(v) for v in bad[0])
            raise ValueError(
                f"{source}: series {i} has a missing or infinite value (NaN) at time step {step}, channel {channel}; "
                "fill or drop missing values first"
            )
    channels = {s.shape[1] for s in series}
    if len(channels) > 1:
        raise ValueError(f"{source}: series have different numbers of channels {sorted(channels)}")
    if labels is not None and any(v == "" for v in labels):
        raise ValueError(f"{source}: series {labels.index('')} has an empty label")
    return SeriesSet(series, labels, source)


# ---- checks between splits, batches ------------------------------------------------------------------------------
def class_order(labels: Iterable[str]) -> list[str]:
    """The distinct labels, numbers in numeric order first, then the rest alphabetically.

    >>> class_order(["10", "2", "b", "a", "2"])
    ['2', '10', 'a', 'b']
    """

    def key(label: str) -> tuple[int, float, str]:
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)

    return sorted(set(labels), key=key)


def check_compatible(train: SeriesSet, test: SeriesSet) -> None:
    """Same channels, and no class in ``test`` that ``train`` lacks (a classifier cannot predict it)."""
    if test.channels != train.channels:
        raise ValueError(f"{test.source} has {test.channels} channels but {train.source} has {train.channels}")
    if test.labels is not None and train.labels is not None:
        unseen = class_order(set(test.labels) - set(train.labels))
        if unseen:
            raise ValueError(
                f"{test.source} has classes that {train.source} lacks: {', '.join(repr(c) for c in unseen)}; "
                "a classifier can only predict classes it was trained on"
            )


def channel_stats(data: SeriesSet) -> tuple[list[float], list[float]]:
    """Per-channel mean and std over every valid time step (std 1 for a constant channel)."""
    values = np.concatenate(data.series, axis=0).astype(np.float64)  # (sum T_i, F)
    mean, std = values.mean(axis=0), values.std(axis=0)
    std[std < 1e-8] = 1.0
    return mean.tolist(), std.tolist()


def diff_stats(data: SeriesSet, mean: Sequence[float], std: Sequence[float]) -> list[float]:
    """Per-channel std of the first differences of the standardised series (1 where they are constant)."""
    diffs = [np.diff((s - np.asarray(mean)) / np.asarray(std), axis=0) for s in data.series if len(s) > 1]
    if not diffs:
        return [1.0] * data.channels
    scale = np.concatenate(diffs, axis=0).astype(np.float64).std(axis=0)
    scale[scale < 1e-8] = 1.0
    return scale.tolist()


def pad(series: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """List of (T_i, F) -> padded (N, T_max, F) float32 (zeros past each length) and lengths (N,) int64.

    >>> x, lengths = pad([np.ones((2, 3)), np.ones((4, 3))])
    >>> tuple(x.shape), lengths.tolist(), float(x[0, 2:].abs().sum())
    ((2, 4, 3), [2, 4], 0.0)
    """
    lengths = torch.tensor([s.shape[0] for s in series], dtype=torch.long)
    x = torch.zeros(len(series), int(lengths.max()), series[0].shape[1])
    for i, s in enumerate(series):
        x[i, : s.shape[0]] = torch.from_numpy(np.asarray(s, dtype=np.float32))
    return x, lengths
