"""``FramePredictor``: the Python API for next-frame prediction with a ConvLSTM (``fit`` / ``forecast`` /
``evaluate`` / ``save`` / ``rnnkit.load``).

Trained on windows of ``context + horizon`` frames: it reads the ``context`` frames, predicting each next one,
then predicts ``horizon`` more, each from its own previous prediction (so training matches how it is used).
:meth:`evaluate` scores it per future frame (MSE, SSIM) beside two baselines that need no training: repeating
the last context frame, and a blank (all-zero) frame.

Shapes: N clips, T frames, C channels, S frame size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.train import FitResult, SavableModel, TrainConfig, register_model
from rnnkit.video.data import VideoData, as_clips
from rnnkit.video.metrics import frame_scores
from rnnkit.video.models import PredictorNet, to_unit


@register_model("video.predictor")
class FramePredictor(SavableModel, nn.Module):
    """Predict the next frames of a video (encoder -> ConvLSTM -> decoder; see :mod:`rnnkit.video.models`).

    Args:
        size: frames are resized to ``size`` x ``size`` (even).
        channels: 1 (grey) or 3 (RGB).
        context: frames read before predicting (training windows, and the last frames used by :meth:`forecast`).
        horizon: future frames predicted during training.
        hidden_size, num_layers, features: ConvLSTM channels and layers; encoder channels.

    >>> from rnnkit.video.generate import bouncing_digits
    >>> videos, _ = bouncing_digits(8, frames=6, size=16, digit_size=6)
    >>> model = FramePredictor(size=16, channels=1, context=3, horizon=3, hidden_size=4, features=4)
    >>> model = model.fit(videos, TrainConfig(epochs=1, batch_size=4, quiet=True))
    >>> model.forecast(videos[0], frames=5).shape
    (5, 16, 16, 1)
    """

    def __init__(
        self,
        size: int = 32,
        channels: int = 1,
        context: int = 10,
        horizon: int = 10,
        hidden_size: int = 32,
        num_layers: int = 1,
        features: int = 16,
    ) -> None:
        super().__init__()
        for name, value in (("size", size), ("context", context), ("horizon", horizon), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("features", features)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive integer, got {value!r}")
        if channels not in (1, 3):
            raise ValueError(f"expected channels to be 1 (grey) or 3 (RGB), got {channels!r}")
        self.size, self.channels, self.context, self.horizon = size, channels, context, horizon
        self.hidden_size, self.num_layers, self.features = hidden_size, num_layers, features
        self.net = PredictorNet(channels, size, hidden_size, num_layers, features)
        self.fit_result: FitResult | None = None
        self.train_report: dict[str, Any] = {}

    def model_config(self) -> dict[str, Any]:
        keys = ("size", "channels", "context", "horizon", "hidden_size", "num_layers", "features")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> FramePredictor:
        return cls(**config)

    def forward(self, x: Tensor, future: int = 0) -> Tensor:
        """Frames (B, T, C, S, S) -> predicted frames 2..T + future in [0, 1] (B, T - 1 + future, C, S, S)."""
        return self.net(x, future)

    def fit(
        self,
        data: VideoData | np.ndarray,
        config: TrainConfig | None = None,
        *,
        val_data: VideoData | np.ndarray | None = None,
        val_fraction: float = 0.0,
        run_dir: str | Path | None = None,
        run_config: dict[str, Any] | None = None,
    ) -> FramePredictor:
        """Train on videos of at least ``context + horizon`` frames (shorter ones are left out); labels unused.

        Returns ``self`` with the best weights by ``config.monitor`` (with validation data), in eval mode, on CPU.
        """
        from rnnkit.train.driver import cpu_threads
        from rnnkit.video.fit import fit_predictor

        config = config or TrainConfig(epochs=20, early_stopping=None)
        clips = as_clips(data, self.size, self.channels)
        val = None if val_data is None else as_clips(val_data, self.size, self.channels)
        if val is None and val_fraction > 0:
            n = len(clips)
            held = np.random.default_rng(config.seed).permutation(n)[: max(1, round(val_fraction * n))]
            keep = sorted(set(range(n)) - set(held.tolist()))
            clips, val = clips.subset(keep), clips.subset(sorted(held.tolist()))
        torch.manual_seed(config.seed)
        with cpu_threads(config.threads):
            self.fit_result = fit_predictor(self, clips, val, config, self.context, self.horizon, run_dir, run_config)
        self.train_report = {
            "train_clips": len(clips), "val_clips": 0 if val is None else len(val),
            "bad_files": [{"path": p, "reason": r} for p, r in clips.bad],
            "decode_seconds": clips.decode_seconds,
        }  # fmt: skip
        self.cpu().eval()
        return self

    @torch.no_grad()
    def predict(self, x: Tensor, frames: int) -> Tensor:
        """Context clips (B, T, C, S, S) (uint8, or floats in [0, 1]) -> the next ``frames`` frames
        (B, frames, C, S, S) in [0, 1]."""
        if frames < 1:
            raise ValueError(f"expected frames >= 1, got {frames!r}")
        self.eval()
        return self(x, future=frames)[:, -frames:]  # (B, frames, C, S, S)

    def read_context(self, video: VideoData | np.ndarray) -> np.ndarray:
        """The last ``context`` frames of one video (a file, or uint8 (T, S, S[, C])) -> uint8 (T', S, S, C)."""
        clips = as_clips(video if not isinstance(video, np.ndarray) else video[None], self.size, self.channels, False)
        if len(clips) != 1:
            raise ValueError(f"forecast takes one video, got {len(clips)}")
        return clips.videos[0][-self.context :]

    def forecast(self, video: VideoData | np.ndarray, frames: int = 10) -> np.ndarray:
        """The ``frames`` frames after a video (its last ``context`` frames are read) -> uint8 (frames, S, S, C)."""
        clip = torch.from_numpy(self.read_context(video)).permute(0, 3, 1, 2)[None]  # (1, T, C, S, S)
        pred = self.predict(clip, frames)[0]  # (frames, C, S, S)
        return (pred * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()

    @torch.no_grad()
    def evaluate(
        self, data: VideoData | np.ndarray, horizon: int | None = None, batch_size: int = 64
    ) -> dict[str, Any]:
        """Per future frame MSE and SSIM on clips of at least ``context + horizon`` frames (their first frames),
        for the model, the copy-last-frame baseline and the blank-frame baseline:
        ``{"model": {"mse": [horizon], "ssim": [horizon]}, "copy_last": ..., "blank": ..., "clips": N}``."""
        horizon = horizon or self.horizon
        length = self.context + horizon
        clips = as_clips(data, self.size, self.channels)
        windows = [torch.from_numpy(v[:length]).permute(0, 3, 1, 2) for v in clips.videos if len(v) >= length]
        if not windows:
            raise ValueError(f"evaluate needs clips of at least context + horizon = {length} frames")
        preds, trues, lasts = [], [], []
        for start in range(0, len(windows), batch_size):
            clip = torch.stack(windows[start : start + batch_size])  # (B, length, C, S, S) uint8
            preds.append(self.predict(clip[:, : self.context], horizon))
            trues.append(to_unit(clip[:, self.context :]))
            lasts.append(to_unit(clip[:, self.context - 1 : self.context]).expand(-1, horizon, -1, -1, -1))
        pred, true, last = torch.cat(preds), torch.cat(trues), torch.cat(lasts)
        return {
            "model": frame_scores(pred, true),
            "copy_last": frame_scores(last, true),
            "blank": frame_scores(torch.zeros_like(true), true),
            "clips": len(windows),
        }
