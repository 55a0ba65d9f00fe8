"""``VideoClassifier``: the Python API for clip classification (``fit`` / ``predict`` / ``save`` / ``rnnkit.load``).

It holds its settings (frame size, channels, frames per clip, sampling stride, the temporal model) and, once
fitted, the network (:class:`rnnkit.video.models.VideoNet`), the class names and the per-channel scalers, all
saved with ``save(dir)`` as safetensors + JSON. ``rnnkit video train/predict/eval`` are thin layers over it.

Shapes: B clips, T frames, C channels, S frame size, K classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.train import FitResult, SavableModel, TrainConfig, register_model
from rnnkit.video.data import Clips, VideoData, as_clips, channel_stats, stratified_split
from rnnkit.video.models import VideoNet, check_temporal


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected {name} to be a positive integer, got {value!r}")
    return value


@register_model("video.classifier")
class VideoClassifier(SavableModel, nn.Module):
    """Classify video clips: a per-frame CNN, then ``temporal`` over time (see :mod:`rnnkit.video.models`).

    Args:
        temporal: ``"lstm"``, ``"gru"``, ``"rnn"`` (or any name ``rnnkit.nn.make_layer`` knows), ``"convlstm"``,
            or ``"mean"`` (the single-frame baseline: frame features averaged, order ignored).
        size: frames are resized to ``size`` x ``size``.
        channels: 1 (grey) or 3 (RGB).
        frames: frames per clip.
        stride: None spreads ``frames`` frames over the whole video; ``s`` takes consecutive frames ``s`` apart
            (a random window while training, the centred one when predicting).
        hidden_size, features, num_layers, dropout: the recurrent layer's units, the CNN's feature size per
            frame, stacked recurrent layers, dropout before the output layer (and between layers).
        labels, mean, std: set by :meth:`fit` (class names; per-channel frame scalers).

    >>> from rnnkit.video.generate import moving_digits
    >>> videos, labels = moving_digits(16, frames=6, size=24, digit_size=8)
    >>> clf = VideoClassifier("gru", size=24, channels=1, frames=6, hidden_size=8, features=8)
    >>> clf = clf.fit((videos, labels), TrainConfig(epochs=1, batch_size=8, quiet=True))
    >>> clf.labels, clf.predict((videos[:2], labels[:2]))[0] in clf.labels
    (['left', 'right'], True)
    """

    def __init__(
        self,
        temporal: str = "lstm",
        size: int = 32,
        channels: int = 3,
        frames: int = 16,
        stride: int | None = None,
        hidden_size: int = 64,
        features: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        labels: Sequence[str] | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        check_temporal(temporal)
        for name, value in (("size", size), ("frames", frames), ("hidden_size", hidden_size)):
            _positive(name, value)
        _positive("features", features)
        _positive("num_layers", num_layers)
        if stride is not None:
            _positive("stride", stride)
        if channels not in (1, 3):
            raise ValueError(f"expected channels to be 1 (grey) or 3 (RGB), got {channels!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"expected dropout in [0, 1), got {dropout!r}")
        self.temporal, self.size, self.channels, self.frames, self.stride = temporal, size, channels, frames, stride
        self.hidden_size, self.features, self.num_layers, self.dropout = hidden_size, features, num_layers, dropout
        self.labels: list[str] = []
        self.mean, self.std = list(mean or [0.0] * channels), list(std or [1.0] * channels)
        self.net: VideoNet | None = None
        self.fit_result: FitResult | None = None
        """The engine's result of the last :meth:`fit` (history, seconds, steps)."""
        self.train_report: dict[str, Any] = {}
        """Of the last :meth:`fit`: clips used, files skipped (path, reason), seconds spent decoding."""
        if labels is not None:
            self._build(list(labels))

    def _build(self, labels: list[str]) -> None:
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError(f"expected at least two distinct class labels, got {labels}")
        self.labels = [str(c) for c in labels]
        self.net = VideoNet(
            len(labels), self.channels, self.size, self.temporal, self.hidden_size, self.features,
            self.num_layers, self.dropout, self.mean, self.std,
        )  # fmt: skip

    # ---- model files ---------------------------------------------------------------------------------------
    def model_config(self) -> dict[str, Any]:
        if self.net is None:
            raise ValueError("VideoClassifier: fit the model before saving it")
        keys = ("temporal", "size", "channels", "frames", "stride", "hidden_size", "features", "num_layers")
        return {**{k: getattr(self, k) for k in keys}, "dropout": self.dropout, "labels": self.labels,
                "mean": self.mean, "std": self.std}  # fmt: skip

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> VideoClassifier:
        return cls(**config)

    # ---- training --------------------------------------------------------------------------------------------
    def fit(
        self,
        data: VideoData,
        config: TrainConfig | None = None,
        *,
        val_data: VideoData | None = None,
        val_fraction: float = 0.0,
        run_dir: str | Path | None = None,
        run_config: dict[str, Any] | None = None,
    ) -> VideoClassifier:
        """Train on labelled videos (a folder of class folders, a CSV, ``(arrays, labels)`` or :class:`Clips`).

        Unreadable files are skipped and listed in ``train_report["bad_files"]``. ``val_data``, or
        ``val_fraction`` of ``data`` (stratified), is held out to keep the best weights by ``config.monitor``.
        ``config.threads`` torch threads while training. Returns ``self`` with the best weights, in eval mode, on
        the CPU.
        """
        from rnnkit.train.driver import cpu_threads
        from rnnkit.video.fit import fit_classifier

        config = config or TrainConfig(epochs=20, early_stopping=None)
        clips = as_clips(data, self.size, self.channels)
        val = None if val_data is None else as_clips(val_data, self.size, self.channels)
        if val is None and val_fraction > 0:
            kept, held = stratified_split(clips, val_fraction, config.seed)
            clips, val = clips.subset(kept), clips.subset(held)
        if clips.labels is None:
            raise ValueError("fit needs labelled videos")
        if self.net is None:
            torch.manual_seed(config.seed)  # the initial weights
            self.mean, self.std = channel_stats(clips)
            self._build(sorted(set(clips.labels)))
        with cpu_threads(config.threads):
            self.fit_result = fit_classifier(
                self, clips, val, self.labels, config, self.frames, self.stride, run_dir, run_config
            )
        bad = clips.bad + ([] if val is None else [b for b in val.bad if b not in clips.bad])
        self.train_report = {
            "train_clips": len(clips), "val_clips": 0 if val is None else len(val),
            "bad_files": [{"path": p, "reason": r} for p, r in bad],
            "decode_seconds": clips.decode_seconds + (0.0 if val is None else val.decode_seconds),
        }  # fmt: skip
        self.cpu().eval()
        return self

    # ---- inference ---------------------------------------------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Clips (B, T, C, S, S), uint8 or floats in [0, 1], valid up to ``lengths`` (B,) -> logits (B, K)."""
        if self.net is None:
            raise ValueError("VideoClassifier: call fit() before using the model")
        return self.net(x, lengths)

    def read(self, videos: VideoData | np.ndarray) -> Clips:
        """Videos at the model's frame size and channels (files are decoded; an unreadable one is an error)."""
        return as_clips(videos, self.size, self.channels, skip_bad=False)

    def predict_proba(self, videos: VideoData | np.ndarray) -> np.ndarray:
        """Class probabilities (N, K), columns in ``labels`` order."""
        from rnnkit.video.fit import classify_proba

        self(torch.zeros(1, 1, self.channels, self.size, self.size))  # fails early when not fitted
        return classify_proba(self, self.read(videos), self.frames, self.stride).numpy()

    def predict(self, videos: VideoData | np.ndarray) -> list[str]:
        """The most probable class of each video."""
        return [self.labels[i] for i in self.predict_proba(videos).argmax(axis=1)]

    def top_k(self, videos: VideoData | np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` most probable classes of each video, with their probabilities, most probable first."""
        probs = self.predict_proba(videos)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[(self.labels[j], float(row[j])) for j in top] for row, top in zip(probs, order)]

    def score(self, videos: VideoData) -> float:
        """Accuracy on labelled videos."""
        clips = self.read(videos)
        if clips.labels is None:
            raise ValueError("score needs labelled videos")
        return float(np.mean([p == t for p, t in zip(self.predict(clips), clips.labels)]))
