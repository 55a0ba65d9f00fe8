"""``rnnkit video train | predict | eval | forecast | generate``: a thin layer over :class:`VideoClassifier` and
:class:`FramePredictor`.

Each command is a dataclass (its fields are the flags, their docstrings the ``--help``) and a function that
parses nothing itself: it builds the Python object, calls it and prints one summary line. Everything exact
goes to OUT/metrics.json, next to OUT/config.json (the resolved command).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rnnkit.train import Fitted, Run, TrainConfig, load_model, run_training, write_json
from rnnkit.video.classifier import VideoClassifier
from rnnkit.video.data import as_clips, load_folder
from rnnkit.video.generate import DIRECTIONS, bouncing_digits, moving_digits, write_dataset
from rnnkit.video.io import write_video
from rnnkit.video.metrics import save_strip
from rnnkit.video.models import temporal_names
from rnnkit.video.predictor import FramePredictor

TASKS = ("classify", "forecast")


@dataclass(kw_only=True)
class TrainArgs(TrainConfig):
    """Train a video classifier (CNN + recurrent layer, or ConvLSTM) or a next-frame predictor on a folder."""

    data: str
    """One sub-folder of videos per class (mp4/avi/webm/gif/mkv/mov, .npy/.npz, or folders of frame images),
    or a CSV with path,label columns. Unreadable files are skipped and listed in metrics.json."""
    task: str = "classify"
    """classify (labels from the class folders) or forecast (next-frame prediction; labels unused)."""
    temporal: str = "lstm"
    """classify: how frames are combined over time: a recurrent layer (lstm, gru, rnn, ...), convlstm, or mean
    (the single-frame baseline: per-frame features averaged, frame order ignored)."""
    size: int = 32
    """Frames are resized to SIZE x SIZE while decoding."""
    channels: int = 3
    """1 (grey) or 3 (RGB)."""
    frames: int = 16
    """classify: frames per clip."""
    stride: int | None = None
    """classify: None spreads --frames frames over each whole video; N takes consecutive frames N apart
    (a random window per epoch while training, the centred one when predicting)."""
    hidden_size: int = 64
    """Recurrent units (classify) or ConvLSTM channels (forecast)."""
    features: int = 64
    """classify: CNN features per frame."""
    num_layers: int = 1
    """Stacked recurrent (or ConvLSTM) layers."""
    dropout: float = 0.0
    """classify: dropout before the output layer (and between stacked layers)."""
    context: int = 10
    """forecast: frames read before predicting."""
    horizon: int = 10
    """forecast: future frames predicted while training."""
    val_fraction: float = 0.2
    """Share of the videos (per class) held out to keep the best weights and report accuracy (0: none)."""
    out: str = "runs/video"
    threads: int | None = 1
    epochs: int = 20
    batch_size: int = 16
    early_stopping: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"--task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.temporal not in temporal_names():
            raise ValueError(f"--temporal must be one of {', '.join(temporal_names())}; got {self.temporal!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"--channels must be 1 (grey) or 3 (RGB); got {self.channels!r}")
        for name in ("size", "frames", "hidden_size", "features", "num_layers", "context", "horizon"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be a positive integer; got {getattr(self, name)!r}")
        if self.task == "forecast" and self.size % 4:
            raise ValueError(f"--size must be divisible by 4 for --task forecast; got {self.size}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--val_fraction must be in [0, 1); got {self.val_fraction!r}")
        super().__post_init__()  # the engine checks its own fields (--lr, --epochs, ...)


def train(args: TrainArgs) -> dict[str, Any]:
    """Train on the folder (the engine's driver: OUT/model, config.json, metrics.json); one summary line."""
    videos = load_folder(args.data)  # a missing or empty folder fails before the run folder is touched

    def fit(run: Run) -> Fitted:
        model: VideoClassifier | FramePredictor
        if args.task == "forecast":
            model = FramePredictor(args.size, args.channels, args.context, args.horizon, args.hidden_size,
                                   args.num_layers)  # fmt: skip
        else:
            model = VideoClassifier(
                args.temporal, args.size, args.channels, args.frames, args.stride, args.hidden_size, args.features,
                args.num_layers, args.dropout,
            )  # fmt: skip
        model.fit(videos, run.config, val_fraction=args.val_fraction, run_dir=run.out, run_config=run.resolved)
        assert model.fit_result is not None
        return Fitted(model=model, results=[model.fit_result], metrics=dict(model.train_report))

    def headline(metrics: dict[str, Any]) -> str:
        best = metrics["best_val"][0]
        parts = [f"{metrics['train_clips']} training videos"]
        if "val_acc" in best:
            parts.append(f"validation accuracy {best['val_acc']:.4f}")
        if "val_future_mse" in best:
            parts.append(f"validation future-frame MSE {best['val_future_mse']:.4f}")
        if metrics["bad_files"]:
            parts.append(f"skipped {len(metrics['bad_files'])} unreadable files (listed in metrics.json)")
        return "; ".join(parts)

    return run_training(args, fit, command="video train", headline=headline)


def _load(path: str, cls: type | tuple[type, ...]) -> Any:
    """A saved model of class ``cls`` from its folder, or from a `video train --out` folder holding model/."""
    directory = Path(path)
    if (directory / "model" / "config.json").is_file() and not (directory / "model.safetensors").is_file():
        directory = directory / "model"
    model = load_model(directory)
    if not isinstance(model, cls):
        wanted = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise ValueError(f"{directory} holds a {type(model).__name__}; this command needs a {wanted}")
    return model


@dataclass
class PredictArgs:
    """Print the most probable classes of each video, with their probabilities."""

    POSITIONAL: ClassVar[str] = "files"
    model: str
    """The model folder (or the `video train --out` folder holding model/)."""
    files: list[str] = field(default_factory=list)
    """Video files (or frame-image folders) to classify."""
    top_k: int = 3
    """How many classes to show per video."""
    out: str | None = None
    """Output folder for predictions.csv and config.json (default: MODEL/predict)."""


def predict(args: PredictArgs) -> list[list[tuple[str, float]]]:
    """Write OUT/predictions.csv (file, rank, class, probability) and print one line per video."""
    if not args.files:
        raise ValueError("expected one or more video files after --model DIR, got none")
    if args.top_k < 1:
        raise ValueError(f"--top_k must be a positive integer; got {args.top_k!r}")
    model: VideoClassifier = _load(args.model, VideoClassifier)
    top = model.top_k(args.files, args.top_k)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "rank", "class", "probability"])
    for path, ranked in zip(args.files, top):
        for rank, (label, p) in enumerate(ranked, 1):
            writer.writerow([path, rank, label, f"{p:.6f}"])
        print(f"{path}: " + ", ".join(f"{label} {p:.3f}" for label, p in ranked))
    out = Path(args.out) if args.out is not None else Path(args.model) / "predict"
    out.mkdir(parents=True, exist_ok=True)
    (out / "predictions.csv").write_text(buffer.getvalue(), encoding="utf-8")
    write_json(out / "config.json", {"command": "video predict", **asdict(args), "out": str(out)})
    return top


@dataclass
class EvalArgs:
    """Evaluate a video classifier on labelled videos (accuracy), or a frame predictor (per-frame MSE and SSIM
    beside the copy-last-frame and blank-frame baselines)."""

    model: str
    """The model folder (or the `video train --out` folder holding model/)."""
    data: str
    """Labelled videos: one sub-folder per class, or a CSV with path,label columns."""
    horizon: int | None = None
    """Frame predictor only: future frames to score (default: the model's horizon)."""
    out: str | None = None
    """Output folder for metrics.json and config.json (default: MODEL/eval)."""


def evaluate(args: EvalArgs) -> dict[str, Any]:
    """Write OUT/metrics.json and print the headline figures in one line."""
    model = _load(args.model, (VideoClassifier, FramePredictor))
    videos = load_folder(args.data)
    clips = as_clips(videos, model.size, model.channels)
    metrics: dict[str, Any]
    if isinstance(model, FramePredictor):
        metrics = model.evaluate(clips, args.horizon)
        headline = f"{len(metrics['model']['mse'])} frames ahead, MSE / SSIM: " + ", ".join(
            f"{name} {metrics[k]['mse'][-1]:.4f} / {metrics[k]['ssim'][-1]:.3f}"
            for k, name in (("model", "model"), ("copy_last", "copy of the last frame"), ("blank", "blank frame"))
        )
    else:
        pred = model.predict(clips)
        assert clips.labels is not None
        accuracy = float(np.mean([p == t for p, t in zip(pred, clips.labels)]))
        metrics = {"accuracy": accuracy, "n": len(clips)}
        headline = f"accuracy {accuracy:.4f} on {len(clips)} clips"
    metrics["bad_files"] = [{"path": p, "reason": r} for p, r in clips.bad]
    out = Path(args.out) if args.out is not None else Path(args.model) / "eval"
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", {"command": "video eval", **asdict(args), "out": str(out)})
    print(f"{headline}; details in {out / 'metrics.json'}")
    return metrics


@dataclass
class ForecastArgs:
    """Predict the frames that follow a video; write them as GIF and MP4 and a PNG strip beside the input."""

    POSITIONAL: ClassVar[str] = "file"
    model: str
    """The frame-predictor folder (or the `video train --task forecast --out` folder holding model/)."""
    file: str | None = None
    """The video to continue (its last CONTEXT frames are read)."""
    frames: int = 10
    """How many future frames to predict."""
    out: str | None = None
    """Output folder for forecast.gif, forecast.mp4, strip.png (default: MODEL/forecast)."""


def forecast(args: ForecastArgs) -> Path:
    """Write OUT/forecast.gif, OUT/forecast.mp4 and OUT/strip.png (input frames, then predicted ones)."""
    if args.file is None:
        raise ValueError("expected a video file after --model DIR, got none")
    if args.frames < 1:
        raise ValueError(f"--frames must be a positive integer; got {args.frames!r}")
    model: FramePredictor = _load(args.model, FramePredictor)
    predicted = model.forecast(args.file, args.frames)  # (N, S, S, C)
    context = model.read_context(args.file)  # (context, S, S, C)
    out = Path(args.out) if args.out is not None else Path(args.model) / "forecast"
    write_video(out / "forecast.gif", predicted)
    write_video(out / "forecast.mp4", predicted)
    save_strip([("input", context), ("predicted", predicted)], out / "strip.png")
    write_json(out / "config.json", {"command": "video forecast", **asdict(args), "out": str(out)})
    print(f"predicted {args.frames} frames after {args.file}: {out / 'forecast.gif'}, {out / 'strip.png'}")
    return out


@dataclass
class GenerateArgs:
    """Write a labelled data set of moving digits as video files (one folder per class)."""

    out: str
    """Output folder (one sub-folder per class)."""
    kind: str = "direction"
    """direction: a digit moving in a straight line, labelled by its direction; bounce: a digit bouncing off
    the edges, labelled by the digit (for --task forecast)."""
    n: int = 200
    """Number of videos."""
    frames: int = 10
    """Frames per video."""
    size: int = 32
    """Frame size in pixels."""
    digit_size: int | None = None
    """Digit size in pixels (None: 3/8 of --size, 12 for 32)."""
    directions: list[str] = field(default_factory=lambda: ["right", "left"])
    """direction: the classes (right, left, down, up)."""
    format: str = "mp4"
    """File format: mp4, avi, webm, gif or npy."""
    seed: int = 0
    """Random seed."""


def generate(args: GenerateArgs) -> list[Path]:
    if args.kind not in ("direction", "bounce"):
        raise ValueError(f"--kind must be direction or bounce; got {args.kind!r}")
    if args.format not in ("mp4", "avi", "webm", "gif", "npy"):
        raise ValueError(f"--format must be one of mp4, avi, webm, gif, npy; got {args.format!r}")
    unknown = [d for d in args.directions if d not in DIRECTIONS]
    if unknown:
        raise ValueError(f"--directions must be among {', '.join(DIRECTIONS)}; got {unknown}")
    digit = args.digit_size or args.size * 3 // 8
    if args.kind == "direction":
        videos, labels = moving_digits(
            args.n, args.frames, args.size, args.directions, digit_size=digit, seed=args.seed
        )
    else:
        videos, labels = bouncing_digits(args.n, args.frames, args.size, digit_size=digit, seed=args.seed)
    paths = write_dataset(args.out, videos, labels, suffix="." + args.format)
    print(f"wrote {len(paths)} {args.format} videos ({len(set(labels))} classes) to {args.out}")
    return paths


COMMANDS = {
    "train": (TrainArgs, train),
    "predict": (PredictArgs, predict),
    "eval": (EvalArgs, evaluate),
    "forecast": (ForecastArgs, forecast),
    "generate": (GenerateArgs, generate),
}
