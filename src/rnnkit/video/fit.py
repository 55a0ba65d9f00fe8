"""Training loops of the video models on the engine (:class:`rnnkit.train.Trainer`): the step and validation
functions and the loaders. The model classes call these from ``fit``; the CLI, demo and benchmark go through
the models.

Shapes: B clips, T frames, C channels, S frame size, K classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.train import FitResult, StepOutput, TrainConfig, Trainer, seeded_loader
from rnnkit.video.data import ClipDataset, Clips, WindowDataset, collate
from rnnkit.video.models import to_unit


# ---- classification ----------------------------------------------------------------------------------------
def _classify_step(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor], carry: Any) -> StepOutput:
    x, lengths, y = batch  # x uint8 (B, T, C, S, S)
    logits = model(x, lengths)  # (B, K)
    loss = F.cross_entropy(logits, y)
    return StepOutput(loss=loss, n=len(y), metrics={"acc": float((logits.argmax(-1) == y).float().mean())})


@torch.no_grad()
def _classify_eval(model: nn.Module, loader: Any) -> dict[str, float]:
    total, correct, count = 0.0, 0, 0
    device = next(model.parameters()).device
    for x, lengths, y in loader:
        x, lengths, y = x.to(device), lengths.to(device), y.to(device)
        logits = model(x, lengths)
        total += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(-1) == y).sum())
        count += len(y)
    return {"val_loss": total / count, "val_acc": correct / count}


def targets(clips: Clips, labels: list[str]) -> list[int]:
    """Class indices of ``clips.labels`` in ``labels`` order; an unknown class is an error naming it."""
    if clips.labels is None:
        raise ValueError("training and evaluation need labelled videos")
    index = {c: i for i, c in enumerate(labels)}
    unknown = sorted(set(clips.labels) - set(index))
    if unknown:
        raise ValueError(f"classes the model was not trained on: {', '.join(map(repr, unknown))}; it knows {labels}")
    return [index[c] for c in clips.labels]


def fit_classifier(
    model: nn.Module,
    train: Clips,
    val: Clips | None,
    labels: list[str],
    config: TrainConfig,
    frames: int,
    stride: int | None,
    run_dir: str | Path | None = None,
    run_config: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` (a :class:`rnnkit.video.VideoClassifier`) on decoded clips; best weights by
    ``config.monitor`` when ``val`` is given."""
    train_set = ClipDataset(train, targets(train, labels), frames, stride, random=True)
    loader = seeded_loader(train_set, config.batch_size, shuffle=True, seed=config.seed, collate_fn=collate)
    val_loader = None
    if val is not None and len(val):
        val_set = ClipDataset(val, targets(val, labels), frames, stride)
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=64, collate_fn=collate)
    trainer = Trainer(
        model,
        config,
        step=_classify_step,
        evaluate=_classify_eval if val_loader is not None else None,
        run_dir=run_dir,
        run_config=run_config,
    )
    return trainer.fit(loader, val_loader)


@torch.no_grad()
def classify_proba(model: nn.Module, clips: Clips, frames: int, stride: int | None, batch_size: int = 64) -> Tensor:
    """Class probabilities (N, K) of every clip (centred windows)."""
    model.eval()
    device = next(model.parameters()).device
    loader = torch.utils.data.DataLoader(
        ClipDataset(clips, [0] * len(clips), frames, stride), batch_size=batch_size, collate_fn=collate
    )
    out = [torch.softmax(model(x.to(device), lengths.to(device)), dim=-1).cpu() for x, lengths, _ in loader]
    return torch.cat(out)


# ---- next-frame prediction ---------------------------------------------------------------------------------
def forecast_loss(model: nn.Module, clip: Tensor, context: int) -> Tensor:
    """Mean squared error of frames 2..T: one-step predictions inside the context, then the model's own
    predictions fed back (so training matches use)."""
    target = to_unit(clip)[:, 1:]  # (B, T-1, C, S, S)
    pred = model(clip[:, :context], future=clip.shape[1] - context)  # (B, T-1, C, S, S) in [0, 1]
    return F.mse_loss(pred, target)


def _forecast_step(context: int) -> Any:
    def step(model: nn.Module, batch: Tensor, carry: Any) -> StepOutput:
        return StepOutput(loss=forecast_loss(model, batch, context), n=len(batch))

    return step


def _forecast_eval(context: int) -> Any:
    @torch.no_grad()
    def evaluate(model: nn.Module, loader: Any) -> dict[str, float]:
        device = next(model.parameters()).device
        total, mse, count = 0.0, 0.0, 0
        for clip in loader:
            clip = clip.to(device)
            total += float(forecast_loss(model, clip, context)) * len(clip)
            pred = model(clip[:, :context], future=clip.shape[1] - context)[:, context - 1 :]
            mse += float(((pred - to_unit(clip)[:, context:]) ** 2).mean()) * len(clip)
            count += len(clip)
        return {"val_loss": total / count, "val_future_mse": mse / count}

    return evaluate


def fit_predictor(
    model: nn.Module,
    train: Clips,
    val: Clips | None,
    config: TrainConfig,
    context: int,
    horizon: int,
    run_dir: str | Path | None = None,
    run_config: dict[str, Any] | None = None,
) -> FitResult:
    """Train a :class:`rnnkit.video.FramePredictor` on windows of ``context + horizon`` frames."""
    length = context + horizon
    loader = seeded_loader(WindowDataset(train, length, random=True), config.batch_size, shuffle=True, seed=config.seed)
    val_loader = None
    if val is not None and len(val):
        val_loader = torch.utils.data.DataLoader(WindowDataset(val, length), batch_size=64)
    trainer = Trainer(
        model,
        config,
        step=_forecast_step(context),
        evaluate=_forecast_eval(context) if val_loader is not None else None,
        run_dir=run_dir,
        run_config=run_config,
    )
    return trainer.fit(loader, val_loader)
