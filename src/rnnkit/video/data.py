"""Video data sets: where the files are (:class:`VideoSet`), their decoded frames (:class:`Clips`), and the
torch datasets that cut clips out of them for training.

Layouts (as torchvision's ``ImageFolder``/``DatasetFolder``):

- a folder with one sub-folder per class, each holding videos (files, or folders of frame images);
- a CSV file with ``path`` and ``label`` columns (paths relative to the CSV's folder).

Decoding happens once per run: :func:`decode` turns every file into a uint8 ``(T_i, S, S, C)`` array at the
model's size (a 32x32 grey frame is 1 KB), kept in memory, so epochs after the first cost no decoding at all.
Files that cannot be read are skipped and listed in :attr:`Clips.bad` (the run reports them) rather than
stopping a long run; :func:`decode` with ``skip_bad=False`` raises instead.

Shapes: N clips, T frames (T_i for clip i), C channels, S frame size, B batch.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rnnkit.video.io import VideoReadError, is_video, list_videos, max_start, read_video, sample_indices

log = logging.getLogger(__name__)


@dataclass
class VideoSet:
    """Video paths with their labels (None when unlabelled) and where they came from."""

    paths: list[Path]
    labels: list[str] | None
    source: str

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, index: Sequence[int]) -> VideoSet:
        labels = None if self.labels is None else [self.labels[i] for i in index]
        return VideoSet([self.paths[i] for i in index], labels, self.source)


def load_folder(root: str | Path) -> VideoSet:
    """A labelled :class:`VideoSet` from a folder of class folders, or from a CSV of (path, label).

    >>> load_folder("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no/such/folder: no such folder or CSV file; expected a folder with one sub-folder ...
    """
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        return _load_csv(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root}: no such folder or CSV file; expected a folder with one sub-folder of videos per class, "
            "or a CSV with path,label columns"
        )
    paths: list[Path] = []
    labels: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if is_video(folder):  # a frame folder directly in root: not a class
            continue
        for video in list_videos(folder):
            paths.append(video)
            labels.append(folder.name)
    if not paths:
        raise ValueError(
            f"{root}: found no videos; expected one sub-folder per class holding video files "
            "(.mp4 .avi .webm .gif .mkv .mov .npy .npz) or folders of frame images"
        )
    return VideoSet(paths, labels, str(root))


def _load_csv(path: Path) -> VideoSet:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        if "path" not in columns or "label" not in columns:
            raise ValueError(f"{path}: expected a CSV header with 'path' and 'label' columns, got {columns}")
        rows = [(r["path"], r["label"]) for r in reader]
    if not rows:
        raise ValueError(f"{path}: the CSV lists no videos")
    return VideoSet([path.parent / p for p, _ in rows], [label for _, label in rows], str(path))


def stratified_split(data: VideoSet | Clips, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(kept, held-out) indices: ``fraction`` of each class held out (at least one per class with >= 2 items).

    >>> stratified_split(VideoSet([Path(str(i)) for i in range(6)], list("aaabbb"), "x"), 0.34, 0)
    ([0, 1, 3, 4], [2, 5])
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"expected a held-out fraction in [0, 1), got {fraction!r}")
    if data.labels is None:
        raise ValueError("a stratified split needs labels")
    if fraction == 0:
        return list(range(len(data.labels))), []
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for c in sorted(set(data.labels)):
        members = [i for i, v in enumerate(data.labels) if v == c]
        take = min(len(members) - 1, max(1, round(fraction * len(members))))
        held += rng.permutation(members)[:take].tolist()
    kept = sorted(set(range(len(data.labels))) - set(held))
    return kept, sorted(held)


@dataclass
class Clips:
    """Decoded videos in memory: uint8 (T_i, S, S, C) each, labels, their files, and what could not be read."""

    videos: list[np.ndarray]
    labels: list[str] | None
    paths: list[str]
    bad: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of every file that was skipped."""
    decode_seconds: float = 0.0
    """Wall time spent decoding (0 for arrays made in memory)."""

    def __len__(self) -> int:
        return len(self.videos)

    @property
    def channels(self) -> int:
        return int(self.videos[0].shape[-1])

    @property
    def size(self) -> int:
        return int(self.videos[0].shape[1])

    def subset(self, index: Sequence[int]) -> Clips:
        labels = None if self.labels is None else [self.labels[i] for i in index]
        return Clips([self.videos[i] for i in index], labels, [self.paths[i] for i in index], self.bad)

    @classmethod
    def from_arrays(cls, videos: np.ndarray | Sequence[np.ndarray], labels: Sequence[str] | None = None) -> Clips:
        """Clips from uint8 arrays (N, T, S, S) / (N, T, S, S, C) or a list of (T_i, S, S[, C]).

        >>> Clips.from_arrays(np.zeros((2, 3, 8, 8), dtype=np.uint8), ["a", "b"]).videos[0].shape
        (3, 8, 8, 1)
        """
        arrays = [np.asarray(v) for v in videos]
        arrays = [a[..., None] if a.ndim == 3 else a for a in arrays]
        for i, a in enumerate(arrays):
            if a.ndim != 4 or a.dtype != np.uint8 or a.shape[1] != a.shape[2] or a.shape[-1] not in (1, 3):
                raise ValueError(
                    f"video {i}: expected uint8 frames (T, S, S) or (T, S, S, 1|3), got {a.dtype} {a.shape}"
                )
        if labels is not None and len(labels) != len(arrays):
            raise ValueError(f"expected one label per video: {len(arrays)} videos, {len(labels)} labels")
        return cls(
            arrays, None if labels is None else [str(v) for v in labels], [f"<array {i}>" for i in range(len(arrays))]
        )


def decode(
    data: VideoSet | Sequence[str | Path],
    size: int,
    channels: int,
    max_frames: int | None = None,
    skip_bad: bool = True,
) -> Clips:
    """Read every video of ``data`` once at ``size`` x ``size`` -> :class:`Clips`.

    ``skip_bad``: leave out unreadable files (listed in ``Clips.bad`` and logged) instead of raising.
    """
    videos = data if isinstance(data, VideoSet) else VideoSet([Path(p) for p in data], None, "files")
    start = time.perf_counter()
    arrays: list[np.ndarray] = []
    labels: list[str] = []
    paths: list[str] = []
    bad: list[tuple[str, str]] = []
    for i, path in enumerate(videos.paths):
        try:
            arrays.append(read_video(path, size=size, channels=channels, max_frames=max_frames))
        except VideoReadError as err:
            if not skip_bad:
                raise
            bad.append((str(path), str(err)))
            log.warning("skipping %s", err)
            continue
        paths.append(str(path))
        if videos.labels is not None:
            labels.append(videos.labels[i])
    if not arrays:
        reasons = "; ".join(r for _, r in bad[:3])
        raise ValueError(f"{videos.source}: none of its {len(videos)} videos could be read ({reasons})")
    return Clips(arrays, labels if videos.labels is not None else None, paths, bad, time.perf_counter() - start)


class ClipDataset(torch.utils.data.Dataset):
    """(clip uint8 (T_i, C, S, S), class index) pairs cut from :class:`Clips`.

    ``stride=None``: ``frames`` frames spread over the whole video; ``stride=s``: ``frames`` consecutive frames
    ``s`` apart, from a random start when ``random`` (training; drawn from torch's global RNG, which the trainer
    seeds, so runs repeat and resume) or centred otherwise.
    """

    def __init__(
        self, clips: Clips, targets: Sequence[int], frames: int, stride: int | None = None, random: bool = False
    ) -> None:
        self.videos = [torch.from_numpy(v).permute(0, 3, 1, 2) for v in clips.videos]  # (T_i, C, S, S) views
        self.targets = list(targets)
        self.frames, self.stride, self.random = frames, stride, random

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        video = self.videos[i]
        start = None
        if self.random and self.stride is not None:
            start = int(torch.randint(max_start(len(video), self.frames, self.stride) + 1, ()))
        index = sample_indices(len(video), self.frames, self.stride, start)
        return video[torch.from_numpy(index)], self.targets[i]


def pad_clips(clips: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Clips (T_i, C, S, S) -> zero-padded batch (B, T_max, C, S, S) and lengths (B,).

    >>> x, lengths = pad_clips([torch.ones(3, 1, 4, 4), torch.ones(1, 1, 4, 4)])
    >>> tuple(x.shape), lengths.tolist(), float(x[1, 1:].sum())
    ((2, 3, 1, 4, 4), [3, 1], 0.0)
    """
    lengths = torch.tensor([len(c) for c in clips])
    x = clips[0].new_zeros(len(clips), int(lengths.max()), *clips[0].shape[1:])
    for b, c in enumerate(clips):
        x[b, : len(c)] = c
    return x, lengths


def collate(items: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor, Tensor]:
    """-> clips uint8 (B, T_max, C, S, S), lengths (B,), targets (B,)."""
    x, lengths = pad_clips([c for c, _ in items])
    return x, lengths, torch.tensor([t for _, t in items])


class WindowDataset(torch.utils.data.Dataset):
    """Windows of ``length`` consecutive frames (uint8 (length, C, S, S)) for next-frame prediction: every clip
    at least ``length`` frames long gives one window, from a random start when ``random``, else its first frames."""

    def __init__(self, clips: Clips, length: int, random: bool = False) -> None:
        self.videos = [torch.from_numpy(v).permute(0, 3, 1, 2) for v in clips.videos if len(v) >= length]
        if not self.videos:
            longest = max(len(v) for v in clips.videos)
            raise ValueError(
                f"next-frame prediction needs clips of at least {length} frames; the longest has {longest}"
            )
        self.length, self.random = length, random

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> Tensor:
        video = self.videos[i]
        start = int(torch.randint(len(video) - self.length + 1, ())) if self.random else 0
        return video[start : start + self.length]


def channel_stats(clips: Clips) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the frames, in [0, 1] units (std at least 1e-3)."""
    total = np.zeros(clips.channels)
    square = np.zeros(clips.channels)
    count = 0
    for v in clips.videos:
        x = v.reshape(-1, v.shape[-1]).astype(np.float64) / 255.0
        total += x.sum(0)
        square += (x**2).sum(0)
        count += len(x)
    mean = total / count
    std = np.sqrt(np.maximum(square / count - mean**2, 1e-6))
    return mean.tolist(), np.maximum(std, 1e-3).tolist()


VideoData = (
    Clips | VideoSet | str | Path | Sequence[str | Path] | tuple[np.ndarray | Sequence[np.ndarray], Sequence[str]]
)
"""What the Python API accepts as data: decoded :class:`Clips`, a :class:`VideoSet`, a folder of class folders
or a CSV, one video file, a list of video files, or ``(arrays, labels)``."""


def as_clips(data: VideoData | np.ndarray, size: int, channels: int, skip_bad: bool = True) -> Clips:
    """Any accepted form of data -> :class:`Clips` of ``size`` x ``size`` frames with ``channels`` channels.

    Arrays of another size are resized and converted (grey <-> RGB); files are decoded at that size.

    >>> as_clips((np.zeros((2, 4, 16, 16), dtype=np.uint8), ["a", "b"]), size=8, channels=3).videos[1].shape
    (4, 8, 8, 3)
    """
    from rnnkit.video.io import _grey, resize_frames

    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], (str, Path)):
        data = Clips.from_arrays(data[0], data[1])  # type: ignore[arg-type]
    elif isinstance(data, np.ndarray):
        data = Clips.from_arrays(data)
    if isinstance(data, Clips):
        videos = []
        for v in data.videos:
            if v.shape[-1] != channels:
                v = v.repeat(3, axis=-1) if channels == 3 else _grey(v)
            if v.shape[1:3] != (size, size):
                v = resize_frames(v, (size, size))
            videos.append(v)
        return Clips(videos, data.labels, data.paths, data.bad, data.decode_seconds)
    if isinstance(data, (str, Path)):
        path = Path(data)
        if (path.is_file() and path.suffix.lower() != ".csv") or is_video(path):
            return decode([path], size, channels, skip_bad=False)
        return decode(load_folder(path), size, channels, skip_bad=skip_bad)
    if isinstance(data, VideoSet):
        return decode(data, size, channels, skip_bad=skip_bad)
    return decode(list(data), size, channels, skip_bad=False)  # type: ignore[arg-type]
