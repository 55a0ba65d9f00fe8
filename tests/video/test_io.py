"""Reading real video files written by the generator, and every way a file can be bad."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rnnkit.video.data import decode, load_folder
from rnnkit.video.generate import moving_digits
from rnnkit.video.io import VideoReadError, read_video, sample_indices, write_video


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    videos, _ = moving_digits(1, frames=7, size=24, digit_size=8, seed=3)
    return videos[0]  # (7, 24, 24) uint8


# Lossy codecs: worst pixel and mean error (grey levels out of 255) measured on these clips, with headroom.
TOLERANCE = {".mp4": (40, 1.5), ".avi": (60, 3.0), ".webm": (60, 3.0), ".gif": (0, 0.0), ".npy": (0, 0.0)}


@pytest.mark.parametrize("suffix", list(TOLERANCE))
def test_round_trip_through_a_real_file(tmp_path, clip, suffix):
    path = write_video(tmp_path / f"clip{suffix}", clip)
    frames = read_video(path, channels=1)
    assert frames.shape == (7, 24, 24, 1) and frames.dtype == np.uint8
    error = np.abs(frames[..., 0].astype(int) - clip.astype(int))
    worst, mean = TOLERANCE[suffix]
    assert error.max() <= worst and error.mean() <= mean, (error.max(), error.mean())
    rgb = read_video(path, channels=3)
    assert rgb.shape == (7, 24, 24, 3) and np.abs(rgb[..., 0].astype(int) - frames[..., 0]).max() <= 2


def test_resize_while_decoding_keeps_the_content(tmp_path, clip):
    path = write_video(tmp_path / "clip.mp4", clip)
    small = read_video(path, size=12, channels=1)[..., 0].astype(float)  # (7, 12, 12)
    reference = clip.reshape(7, 12, 2, 12, 2).mean(axis=(2, 4))  # 2x2 area average
    assert small.shape == (7, 12, 12) and np.abs(small - reference).mean() < 4


def test_frame_image_folder_in_natural_order(tmp_path, clip):
    for i in range(len(clip)):  # 0.png .. 6.png, plus 10.png: natural order puts it last
        Image.fromarray(clip[i]).save(tmp_path / f"{i}.png")
    Image.fromarray(clip[0]).save(tmp_path / "10.png")
    frames = read_video(tmp_path, channels=1)
    assert frames.shape == (8, 24, 24, 1)
    np.testing.assert_array_equal(frames[:7, ..., 0], clip)
    np.testing.assert_array_equal(frames[7, ..., 0], clip[0])


def test_npz_and_float_arrays(tmp_path, clip):
    np.savez(tmp_path / "a.npz", frames=clip.astype(np.float32) / 255.0, other=np.zeros(1))
    frames = read_video(tmp_path / "a.npz", channels=1)
    assert np.abs(frames[..., 0].astype(int) - clip).max() <= 1
    np.save(tmp_path / "bad.npy", np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(
        VideoReadError, match=r"bad\.npy: expected frames of shape \(T, H, W\) or \(T, H, W, 1\|3\), got \(3, 4\)"
    ):
        read_video(tmp_path / "bad.npy")


def _corrupt(tmp_path, clip, kind: str):
    if kind == "random bytes":
        path = tmp_path / "noise.mp4"
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        good = write_video(tmp_path / "good.mp4", clip).read_bytes()
        path = tmp_path / "truncated.mp4"
        path.write_bytes(good[: len(good) // 2])
    elif kind == "empty":
        path = tmp_path / "empty.avi"
        path.write_bytes(b"")
    else:
        path = tmp_path / "notes.webm"
        path.write_text("not a video at all\n")
    return path


@pytest.mark.parametrize("kind", ["random bytes", "truncated", "empty", "text"])
def test_unreadable_file_names_the_file(tmp_path, clip, kind):
    path = _corrupt(tmp_path, clip, kind)
    with pytest.raises(VideoReadError) as err:
        read_video(path)
    assert str(err.value).startswith(f"{path}: ")


def test_missing_file():
    with pytest.raises(VideoReadError, match=r"^nope\.mp4: no such file or folder$"):
        read_video("nope.mp4")


def test_folder_decode_skips_and_reports_bad_files(digits_folder, tmp_path, clip):
    data = load_folder(digits_folder)
    bad = digits_folder / "left" / "truncated.mp4"
    bad.write_bytes(_corrupt(tmp_path, clip, "truncated").read_bytes())
    try:
        clips = decode(load_folder(digits_folder), size=16, channels=1)
        assert len(clips) == len(data) and [p for p, _ in clips.bad] == [str(bad)]
        assert clips.videos[0].shape == (6, 16, 16, 1) and clips.decode_seconds > 0
        with pytest.raises(VideoReadError, match=r"truncated\.mp4: cannot decode it as a video"):
            decode(load_folder(digits_folder), size=16, channels=1, skip_bad=False)
    finally:
        bad.unlink()


def test_sample_indices_cover_the_request():
    rng = np.random.default_rng(0)
    for _ in range(200):
        available, frames, stride = (int(v) for v in rng.integers(1, 30, 3))
        spread = sample_indices(available, frames)
        assert len(spread) == min(available, frames) and spread[0] == 0 and np.all(np.diff(spread) >= 0)
        window = sample_indices(available, frames, stride)
        assert np.all(np.diff(window) == stride) and window[0] >= 0 and window[-1] < available
        assert len(window) == min(frames, (available - 1) // stride + 1)
