"""Built-in labelled videos for demos, tests and benchmarks: scikit-learn's bundled 8x8 digit images moving across
a dark canvas (no download), as uint8 arrays and as real video files (so the decoding path is exercised).

- :func:`moving_digits`: each clip moves one digit in a straight line, labelled by its direction (or its digit).
  A "left" clip is distributed exactly as a "right" clip played backwards (same start-position range, speeds and
  digits), so the *set* of frames says nothing about the direction: only their order does. A model that sees
  frames one at a time, or averages per-frame features, cannot beat chance between opposite directions.
- :func:`bouncing_digits`: a digit with a random velocity that bounces off the edges (as Moving MNIST), for
  next-frame prediction.
- :func:`write_dataset`: a folder per class of video files, the layout ``rnnkit video train --data`` reads.

Shapes: N clips, T frames, S canvas size (height = width).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.video.io import write_video

DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
"""Direction name -> (dy, dx) unit step in image coordinates (y grows downwards)."""


@functools.lru_cache(maxsize=4)
def _digits(digit_size: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digit images (8x8, 0..16) resized to ``digit_size`` -> uint8 (N, d, d), labels (N,).

    Read straight from the file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``: 64 pixels and the
    digit per row, what ``load_digits`` reads) because importing ``sklearn.datasets`` takes seconds.
    """
    import importlib.util

    from PIL import Image

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the moving-digit videos need scikit-learn's digit images: pip install 'rnnkit[video]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)  # (1797, 65)
        pixels, target = table[:, :64].reshape(-1, 8, 8), table[:, 64]
    else:  # a scikit-learn that stores it elsewhere
        from sklearn.datasets import load_digits

        data = load_digits()
        pixels, target = data.images, data.target
    images = (pixels / 16.0 * 255.0).astype(np.uint8)  # (1797, 8, 8)
    size = (digit_size, digit_size)
    resized = np.stack([np.asarray(Image.fromarray(im).resize(size, Image.Resampling.BILINEAR)) for im in images])
    return resized, target.astype(np.int64)


def _paste(canvas: np.ndarray, digit: np.ndarray, y: int, x: int) -> None:
    d = digit.shape[0]
    np.maximum(canvas[y : y + d, x : x + d], digit, out=canvas[y : y + d, x : x + d])


def moving_digits(
    n: int,
    frames: int = 10,
    size: int = 32,
    directions: Sequence[str] = ("right", "left"),
    speed: tuple[float, float] = (1.0, 2.0),
    digit_size: int = 12,
    label: str = "direction",
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """``n`` clips of a digit moving in a straight line -> uint8 videos (N, T, S, S) and their labels.

    Directions cycle through ``directions`` (balanced classes); speed is uniform in ``speed`` pixels per frame;
    the start is uniform over the positions that keep the digit inside the canvas. ``label``: ``"direction"``
    or ``"digit"`` ("0".."9").

    >>> videos, labels = moving_digits(4, frames=5, size=24, digit_size=8)
    >>> videos.shape, videos.dtype, labels
    ((4, 5, 24, 24), dtype('uint8'), ['right', 'left', 'right', 'left'])
    """
    unknown = [d for d in directions if d not in DIRECTIONS]
    if unknown or not directions:
        raise ValueError(f"unknown directions {unknown}; choose from {', '.join(DIRECTIONS)}")
    if label not in ("direction", "digit"):
        raise ValueError(f"label must be 'direction' or 'digit', got {label!r}")
    travel = speed[1] * (frames - 1)
    if digit_size + travel > size:
        raise ValueError(
            f"a {digit_size}-pixel digit moving up to {speed[1]} px/frame for {frames} frames needs a canvas of at "
            f"least {int(np.ceil(digit_size + travel))} pixels, got size={size}"
        )
    rng = np.random.default_rng(seed)
    images, digits = _digits(digit_size)
    videos = np.zeros((n, frames, size, size), dtype=np.uint8)
    labels: list[str] = []
    t = np.arange(frames)
    for i in range(n):
        name = directions[i % len(directions)]
        dy, dx = DIRECTIONS[name]
        k = int(rng.integers(len(images)))
        v = rng.uniform(*speed)
        span = v * (frames - 1)
        lo = rng.uniform(0, size - digit_size - span)  # the path covers [lo, lo + span] along the motion axis
        across = int(rng.integers(0, size - digit_size + 1))  # fixed position on the other axis
        # Forward along the axis for right/down, backward for left/up: the same positions in reverse order.
        along = lo + v * t if (dy + dx) > 0 else lo + span - v * t
        for j, a in enumerate(np.rint(along).astype(int)):
            y, x = (a, across) if dy else (across, a)
            _paste(videos[i, j], images[k], y, x)
        labels.append(name if label == "direction" else str(digits[k]))
    return videos, labels


def bouncing_digits(
    n: int,
    frames: int = 20,
    size: int = 32,
    speed: tuple[float, float] = (1.0, 2.5),
    digit_size: int = 12,
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """``n`` clips of a digit bouncing off the canvas edges -> uint8 videos (N, T, S, S) and the digits as labels.

    >>> videos, labels = bouncing_digits(2, frames=6, size=20, digit_size=8)
    >>> videos.shape, all(label.isdigit() for label in labels)
    ((2, 6, 20, 20), True)
    """
    rng = np.random.default_rng(seed)
    images, digits = _digits(digit_size)
    room = size - digit_size  # positions 0..room keep the digit inside
    if room < 1:
        raise ValueError(f"size={size} leaves no room to move a {digit_size}-pixel digit")
    videos = np.zeros((n, frames, size, size), dtype=np.uint8)
    labels = []
    for i in range(n):
        k = int(rng.integers(len(images)))
        pos = rng.uniform(0, room, size=2)  # (y, x)
        angle = rng.uniform(0, 2 * np.pi)
        vel = rng.uniform(*speed) * np.array([np.sin(angle), np.cos(angle)])
        for j in range(frames):
            y, x = np.rint(pos).astype(int)
            _paste(videos[i, j], images[k], int(y), int(x))
            pos = pos + vel
            for a in range(2):  # reflect off the walls
                if pos[a] < 0:
                    pos[a], vel[a] = -pos[a], -vel[a]
                elif pos[a] > room:
                    pos[a], vel[a] = 2 * room - pos[a], -vel[a]
        labels.append(str(digits[k]))
    return videos, labels


def write_dataset(
    root: str | Path, videos: np.ndarray, labels: Sequence[str], suffix: str = ".mp4", fps: float = 10.0
) -> list[Path]:
    """Write each clip as ``root/<label>/<index>.<suffix>`` (the one-folder-per-class layout); returns the paths.

    >>> import tempfile
    >>> videos, labels = moving_digits(2, frames=4, size=20, digit_size=8)
    >>> [p.relative_to(p.parents[1]).as_posix() for p in write_dataset(tempfile.mkdtemp(), videos, labels)]
    ['right/00000.mp4', 'left/00001.mp4']
    """
    if len(videos) != len(labels):
        raise ValueError(f"write_dataset: {len(videos)} videos but {len(labels)} labels")
    root = Path(root)
    return [write_video(root / label / f"{i:05d}{suffix}", v, fps) for i, (v, label) in enumerate(zip(videos, labels))]
