"""Reading and writing videos: container files through PyAV (FFmpeg), folders of frame images, ``.npy``/``.npz``.

Every reader returns uint8 frames ``(T, H, W, C)`` (C = 1 grey or 3 RGB), resized to ``size`` when given, so a
whole data set can be decoded once and kept as compact arrays (:mod:`rnnkit.video.data`). Resizing of container
files happens inside FFmpeg's scaler while decoding (``VideoFrame.to_ndarray(width=, height=)``), which is far
cheaper than decoding at full size and resizing afterwards.

A file that cannot be read (missing, corrupt, truncated, not a video, no frames) raises :class:`VideoReadError`,
a ``ValueError`` whose message starts with the file's path.

Shapes: T frames, H height, W width, C channels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

CONTAINERS = (".mp4", ".avi", ".webm", ".gif", ".mkv", ".mov", ".m4v")
ARRAYS = (".npy", ".npz")
IMAGES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_SUFFIXES = CONTAINERS + ARRAYS
"""File suffixes read as one video each (a folder of images is one video too)."""

# Codec for each writable container; x264 at a low CRF keeps the digits within a few grey levels of the input.
_CODECS = {".mp4": ("libx264", {"crf": "10"}), ".avi": ("mpeg4", {"qscale": "2"}), ".webm": ("libvpx-vp9", {})}


class VideoReadError(ValueError):
    """A video file that cannot be read; the message names the file and the reason."""


def is_video(path: str | Path) -> bool:
    """Whether ``path`` is something :func:`read_video` reads: a container/array file or a folder of images.

    >>> is_video("clip.mp4"), is_video("notes.txt")
    (True, False)
    """
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    return path.is_dir() and any(p.suffix.lower() in IMAGES for p in path.iterdir())


def read_video(
    path: str | Path, size: int | tuple[int, int] | None = None, channels: int = 3, max_frames: int | None = None
) -> np.ndarray:
    """Decode every frame of a video -> uint8 ``(T, H, W, C)``.

    Args:
        path: a container file (mp4, avi, webm, gif, mkv, mov), a ``.npy``/``.npz`` array ((T, H, W) or
            (T, H, W, C), uint8 or floats in [0, 1]; an ``.npz`` holds it under ``frames`` or as its only array),
            or a folder of frame images (png/jpg/..., read in natural order: 2.png before 10.png).
        size: resize every frame to ``size`` x ``size`` (or ``(height, width)``); None keeps the file's size.
        channels: 1 (grey) or 3 (RGB).
        max_frames: decode at most this many frames from the start (None: all).

    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "clip.npy"
    >>> np.save(path, np.zeros((4, 8, 8), dtype=np.uint8))
    >>> read_video(path, size=16, channels=1).shape
    (4, 16, 16, 1)
    """
    path = Path(path)
    if channels not in (1, 3):
        raise ValueError(f"expected channels to be 1 (grey) or 3 (RGB), got {channels!r}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"expected max_frames >= 1 or None, got {max_frames!r}")
    hw = None if size is None else ((size, size) if isinstance(size, int) else (int(size[0]), int(size[1])))
    if not path.exists():
        raise VideoReadError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_dir():
        frames = _read_images(path, hw, channels, max_frames)
    elif suffix in ARRAYS:
        frames = _read_array(path, hw, channels, max_frames)
    else:
        frames = _read_container(path, hw, channels, max_frames)
    if len(frames) == 0:
        raise VideoReadError(f"{path}: no frames could be decoded")
    return frames


def _read_container(path: Path, hw: tuple[int, int] | None, channels: int, max_frames: int | None) -> np.ndarray:
    try:
        import av
    except ImportError as err:  # pragma: no cover - the `video` extra installs it
        raise ImportError("reading video files needs PyAV: pip install 'rnnkit[video]'") from err
    fmt = "gray" if channels == 1 else "rgb24"
    resize: dict[str, Any] = {} if hw is None else {"height": hw[0], "width": hw[1], "interpolation": "AREA"}
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream in this file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format=fmt, **resize))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except VideoReadError:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:  # corrupt, truncated, not a video at all
        raise VideoReadError(f"{path}: cannot decode it as a video ({type(err).__name__}: {err})") from err
    if not frames:
        return np.zeros((0, 0, 0, channels), dtype=np.uint8)
    out = np.stack(frames)  # (T, H, W) grey or (T, H, W, 3)
    return out[..., None] if channels == 1 else out


def _natural_key(path: Path) -> list[object]:
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", path.name)]


def _read_images(path: Path, hw: tuple[int, int] | None, channels: int, max_frames: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGES), key=_natural_key)[:max_frames]
    if not files:
        raise VideoReadError(f"{path}: a frame folder needs image files ({', '.join(IMAGES)}); found none")
    frames = []
    for file in files:
        try:
            with Image.open(file) as opened:
                image = opened.convert("L" if channels == 1 else "RGB")
                if hw is not None and image.size != (hw[1], hw[0]):
                    image = image.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
                frames.append(np.asarray(image))
        except (OSError, UnidentifiedImageError) as err:
            raise VideoReadError(f"{file}: cannot read it as an image ({err})") from err
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise VideoReadError(f"{path}: frames of different sizes {sorted(shapes)}; pass size= to resize them")
    out = np.stack(frames)
    return out[..., None] if channels == 1 else out


def _read_array(path: Path, hw: tuple[int, int] | None, channels: int, max_frames: int | None) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                keys = list(data.keys())
                if "frames" in keys:
                    data = data["frames"]
                elif len(keys) == 1:
                    data = data[keys[0]]
                else:
                    raise VideoReadError(f"{path}: expected an array named 'frames' or a single array, got {keys}")
    except VideoReadError:
        raise
    except (OSError, ValueError, EOFError) as err:
        raise VideoReadError(f"{path}: cannot read it as a NumPy array ({err})") from err
    array = np.asarray(data)
    if array.ndim == 3:
        array = array[..., None]  # (T, H, W, 1)
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise VideoReadError(f"{path}: expected frames of shape (T, H, W) or (T, H, W, 1|3), got {array.shape}")
    array = array[:max_frames]
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise VideoReadError(f"{path}: expected uint8 or floats in [0, 1], got dtype {array.dtype}")
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if array.shape[-1] != channels:
        array = array.repeat(3, axis=-1) if channels == 3 else _grey(array)
    if hw is not None and array.shape[1:3] != hw:
        array = resize_frames(array, hw)
    return array


def _grey(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 1) with the ITU-R BT.601 luma weights (what FFmpeg's "gray" uses)."""
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (luma + 0.5).astype(np.uint8)[..., None]


def resize_frames(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """uint8 (T, H, W, C) -> (T, h, w, C), area-averaged when shrinking, bilinear when growing.

    >>> resize_frames(np.zeros((2, 8, 8, 3), dtype=np.uint8), (4, 4)).shape
    (2, 4, 4, 3)
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()  # (T, C, H, W)
    shrink = hw[0] <= x.shape[2] and hw[1] <= x.shape[3]
    y = torch.nn.functional.interpolate(x, size=hw, mode="area" if shrink else "bilinear", align_corners=None)
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def write_video(path: str | Path, frames: np.ndarray, fps: float = 10.0) -> Path:
    """Write uint8 frames ``(T, H, W)`` or ``(T, H, W, C)`` as mp4 (H.264), avi (MPEG-4), webm (VP9), gif,
    or ``.npy``. H.264/VP9 need an even width and height: an odd one is padded with its last row/column.

    >>> import tempfile
    >>> path = write_video(Path(tempfile.mkdtemp()) / "clip.mp4", np.zeros((3, 16, 16), dtype=np.uint8))
    >>> read_video(path, channels=1).shape
    (3, 16, 16, 1)
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"write_video: expected uint8 frames of shape (T, H, W) or (T, H, W, 1|3) with T >= 1, "
            f"got {frames.dtype} {frames.shape}"
        )
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, frames)
        return path
    rgb = frames.repeat(3, axis=-1) if frames.shape[-1] == 1 else frames  # (T, H, W, 3)
    if suffix == ".gif":
        return _write_gif(path, rgb, fps)
    if suffix not in _CODECS:
        raise ValueError(f"write_video: cannot write {suffix!r}; use one of .mp4, .avi, .webm, .gif, .npy")
    import av

    pad = ((0, 0), (0, rgb.shape[1] % 2), (0, rgb.shape[2] % 2), (0, 0))
    rgb = np.pad(rgb, pad, mode="edge")
    codec, options = _CODECS[suffix]
    with av.open(str(path), mode="w") as container:
        stream: Any = container.add_stream(codec, rate=round(fps), options=options)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[2], rgb.shape[1], "yuv420p"
        for image in rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():  # flush the encoder's delayed frames
            container.mux(packet)
    return path


def _write_gif(path: Path, rgb: np.ndarray, fps: float) -> Path:
    from PIL import Image

    images = [Image.fromarray(f) for f in rgb]
    duration = max(20, round(1000 / fps))
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
    return path


def sample_indices(available: int, frames: int, stride: int | None = None, start: int | None = None) -> np.ndarray:
    """Which of ``available`` frames make a clip of (up to) ``frames`` frames.

    ``stride=None``: ``frames`` indices spread evenly over the whole video (a fixed count whatever its length).
    ``stride=s``: a window of consecutive frames ``s`` apart, starting at ``start`` (None: centred). A video
    too short for the window gives a shorter clip (the model masks the missing steps).

    >>> sample_indices(10, 4).tolist(), sample_indices(10, 3, stride=2).tolist(), sample_indices(3, 5, 1).tolist()
    ([0, 3, 6, 9], [2, 4, 6], [0, 1, 2])
    >>> sample_indices(10, 3, stride=2, start=0).tolist()
    [0, 2, 4]
    """
    if available < 1 or frames < 1:
        raise ValueError(f"sample_indices: expected available >= 1 and frames >= 1, got {available}, {frames}")
    if stride is None:
        if available <= frames:
            return np.arange(available)
        return np.linspace(0, available - 1, frames).round().astype(np.int64)
    span = (frames - 1) * stride + 1
    if span > available:
        return np.arange(0, available, stride)[:frames]
    if start is None:
        start = (available - span) // 2
    if not 0 <= start <= available - span:
        raise ValueError(f"sample_indices: start {start} out of range [0, {available - span}]")
    return start + stride * np.arange(frames)


def max_start(available: int, frames: int, stride: int) -> int:
    """The last valid ``start`` of a window (0 when the video is shorter than it), for random clips.

    >>> max_start(10, 3, 2), max_start(3, 5, 1)
    (5, 0)
    """
    return max(0, available - ((frames - 1) * stride + 1))


def list_videos(folder: str | Path, exclude: Sequence[str] = ()) -> list[Path]:
    """The videos directly inside ``folder`` (files with a video suffix, and frame-image folders), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.name not in exclude and not p.name.startswith(".") and is_video(p))
