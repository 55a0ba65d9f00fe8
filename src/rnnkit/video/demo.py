"""The video section of ``rnnkit demo``: motion direction needs the order of frames; predicting the next frames.

1. Moving digits (scikit-learn's digit images) written as real mp4 files and decoded back, labelled by the
   direction they move in. A left-moving clip is a right-moving clip played backwards, so the set of frames
   says nothing: the CNN + LSTM, which reads the frames in order, against the same CNN with its frame features
   averaged (the single-frame baseline), trained for the same epochs.
2. A ConvLSTM frame predictor on bouncing digits: input frames, predicted frames and the true ones, as a strip.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from rnnkit.report import Section, html_table, text_table
from rnnkit.train import TrainConfig
from rnnkit.video.classifier import VideoClassifier
from rnnkit.video.generate import bouncing_digits, moving_digits, write_dataset
from rnnkit.video.metrics import save_strip
from rnnkit.video.predictor import FramePredictor

log = logging.getLogger(__name__)

SIZE, FRAMES = 24, 8


def _classify(out: Path, quick: bool) -> tuple[list[list[object]], int, int]:
    n_train, n_test = (16, 8) if quick else (240, 80)
    videos, labels = moving_digits(n_train + n_test, FRAMES, SIZE, digit_size=8, seed=0)
    write_dataset(out / "train", videos[:n_train], labels[:n_train])
    write_dataset(out / "test", videos[n_train:], labels[n_train:])
    config = TrainConfig(epochs=1 if quick else 8, batch_size=16, early_stopping=None, quiet=True, threads=1)
    rows: list[list[object]] = []
    for temporal, name in (("lstm", "CNN + LSTM"), ("mean", "CNN, frame features averaged (single-frame)")):
        log.info("video demo: training %s", name)
        model = VideoClassifier(temporal, size=SIZE, channels=1, frames=FRAMES, hidden_size=32, features=32)
        model.fit(out / "train", config, run_dir=out / temporal)
        assert model.fit_result is not None
        accuracy = model.score(out / "test")
        params = sum(p.numel() for p in model.parameters())
        rows.append([name, params, round(model.fit_result.seconds, 1), round(accuracy, 3)])
    return rows, n_train, n_test


def _forecast(out: Path, quick: bool) -> tuple[Path, dict[str, float]]:
    context, horizon = 6, 6
    videos, _ = bouncing_digits(24 if quick else 300, context + horizon, SIZE, digit_size=8, seed=0)
    held, _ = bouncing_digits(16, context + horizon, SIZE, digit_size=8, seed=1)
    model = FramePredictor(size=SIZE, channels=1, context=context, horizon=horizon, hidden_size=16)
    config = TrainConfig(epochs=1 if quick else 6, batch_size=16, early_stopping=None, quiet=True, threads=1)
    log.info("video demo: training the ConvLSTM frame predictor")
    model.fit(videos, config, run_dir=out / "predictor")
    scores = model.evaluate(held)
    last = {k: scores[k]["mse"][-1] for k in ("model", "copy_last", "blank")}
    clip = torch.from_numpy(held[:1, :context, None])  # (1, T, 1, S, S)
    predicted = (model.predict(clip, horizon)[0, :, 0].numpy() * 255 + 0.5).astype(np.uint8)  # (h, S, S)
    strip = save_strip(
        [
            ("input", held[0, :context, ..., None]),
            ("predicted", predicted[..., None]),
            ("true", held[0, context:, ..., None]),
        ],
        out / "predicted_frames.png",
    )
    return strip, last


def section(out: Path, quick: bool) -> Section:
    """Train the video classifiers and the frame predictor briefly; a table and a strip of frames."""
    out = Path(out) / "video"
    rows, n_train, n_test = _classify(out, quick)
    strip, mse = _forecast(out, quick)
    header = ["model", "parameters", "train s", "held-out accuracy"]
    intro = (
        f"<p>{n_train} training / {n_test} held-out clips of a digit (scikit-learn's 8x8 digit images) moving "
        f"left or right across a {SIZE}x{SIZE} canvas for {FRAMES} frames, written as mp4 files and decoded back. "
        "A left-moving clip is a right-moving one played backwards, so only the order of the frames tells them "
        f"apart; chance is 0.5. Same CNN in both rows, {'1 epoch (quick mode)' if quick else '8 epochs'}.</p>"
    )
    note = (
        "<p>Next frames: a ConvLSTM predictor on bouncing digits (6 frames in, 6 predicted, each from the previous "
        f"prediction). Mean squared error of the 6th predicted frame on 16 held-out clips: model {mse['model']:.4f}, "
        f"repeating the last input frame {mse['copy_last']:.4f}, a blank frame {mse['blank']:.4f}. "
        "benchmarks/video.py trains longer and scores 1 and 10 frames ahead.</p>"
    )
    return Section(
        title="Video: motion direction (CNN + LSTM vs single frame) and next-frame prediction",
        html=intro + html_table(header, rows) + note,
        images=[strip],
        summary=text_table(header, rows),
    )
