"""Train a :class:`SequenceClassifier` on a :class:`SeriesSet` with the engine (:class:`rnnkit.train.Trainer`),
and predict with one. Shared by the CLI, the demo and the benchmark.

Shapes: B batch, T time steps, F channels, C classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.classify.data import SeriesSet, channel_stats, class_order, diff_stats, pad
from rnnkit.classify.model import CELLS, POOLINGS, SequenceClassifier
from rnnkit.train import FitResult, StepOutput, TrainConfig, Trainer, seeded_loader
from rnnkit.train.driver import cpu_threads


@dataclass
class ModelSettings:
    """Architecture choices of a :class:`SequenceClassifier` (the data decide input size, classes, scalers)."""

    cell: str = "gru"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "all"
    dropout: float = 0.1
    diff: bool = True
    patch: int | None = None
    """Time steps per recurrent step; None picks ceil(T_max / patch_steps)."""
    patch_steps: int = 32
    """With patch=None: aim for at most this many recurrent steps."""
    augment: bool = False
    """Jitter and scale the training series each time they are drawn (see :class:`_Series`)."""
    conv: int = 0
    """Filters of the convolutional branch (LSTM-FCN); 0 = none."""
    squeeze: bool | None = None
    """Squeeze-and-excitation in the convolutional branch (MLSTM-FCN); None = for multivariate data only."""

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"--cell must be one of {', '.join(CELLS)}; got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"--pooling must be one of {', '.join(POOLINGS)}; got {self.pooling!r}")
        if isinstance(self.conv, bool) or not isinstance(self.conv, int) or self.conv < 0:
            raise ValueError(f"--conv must be 0 (no convolutional branch) or a positive integer; got {self.conv!r}")
        for name in ("hidden_size", "num_layers", "patch_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a positive integer; got {value!r}")
        if self.patch is not None and (isinstance(self.patch, bool) or self.patch < 1):
            raise ValueError(f"--patch must be a positive integer or None; got {self.patch!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1); got {self.dropout!r}")


def resolve_patch(settings: ModelSettings, max_length: int) -> int:
    """The patch size for series of up to ``max_length`` steps.

    >>> resolve_patch(ModelSettings(), 150), resolve_patch(ModelSettings(), 24)
    (5, 1)
    >>> resolve_patch(ModelSettings(patch=3), 24)
    3
    """
    if settings.patch is not None:
        return settings.patch
    return max(1, math.ceil(max_length / settings.patch_steps))


def build_model(data: SeriesSet, settings: ModelSettings) -> SequenceClassifier:
    """A fresh classifier for ``data``: channel scalers fitted on it, its classes as labels."""
    assert data.labels is not None, "training data needs labels"  # load_file(labels_required=True) ensures it
    mean, std = channel_stats(data)
    diff_std = diff_stats(data, mean, std)
    classes = class_order(data.labels)
    return SequenceClassifier(
        data.channels,
        settings.hidden_size,
        settings.num_layers,
        len(classes),
        cell=settings.cell,
        bidirectional=settings.bidirectional,
        pooling=settings.pooling,
        dropout=settings.dropout,
        patch=resolve_patch(settings, max(data.lengths)),
        diff=settings.diff,
        conv=settings.conv,
        squeeze=data.channels > 1 if settings.squeeze is None else settings.squeeze,
        mean=mean,
        std=std,
        diff_std=diff_std,
        labels=classes,
    )


class _Series(torch.utils.data.Dataset):
    """Indexable (series (T_i, F), class index) pairs; batches are padded by :func:`collate`.

    ``augment`` (training only): each time a series is drawn it is scaled by a factor ~ N(1, 0.1) per channel and
    gets Gaussian noise of 0.03 channel standard deviations at every step ("jitter" and "scaling", Um et al. 2017;
    Iwana & Uchida 2021), drawn from torch's global generator (seeded by the engine).
    """

    def __init__(self, data: SeriesSet, labels: Sequence[str], augment: bool = False) -> None:
        index = {c: i for i, c in enumerate(labels)}
        self.series = [torch.from_numpy(s) for s in data.series]
        self.targets = [index[c] for c in data.labels] if data.labels is not None else [-1] * len(data)
        self.augment = augment
        if augment:
            self.scale = torch.tensor(channel_stats(data)[1], dtype=torch.float32)  # (F,)

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        s = self.series[i]  # (T_i, F)
        if self.augment:
            s = s * (1 + 0.1 * torch.randn(1, s.shape[1])) + 0.03 * self.scale * torch.randn(s.shape)
        return s, self.targets[i]


def collate(items: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor, Tensor]:
    """-> x (B, T_max of the batch, F), lengths (B,), y (B,)."""
    x, lengths = pad([s.numpy() for s, _ in items])
    return x, lengths, torch.tensor([t for _, t in items])


def split_validation(data: SeriesSet, fraction: float, seed: int) -> tuple[SeriesSet, SeriesSet | None]:
    """Stratified hold-out: ``fraction`` of each class (at least one item, when it has two or more) -> validation."""
    if fraction <= 0:
        return data, None
    assert data.labels is not None
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for c in class_order(data.labels):
        members = [i for i, v in enumerate(data.labels) if v == c]
        take = min(len(members) - 1, max(1, round(fraction * len(members))))
        val += rng.permutation(members)[:take].tolist()
    keep = sorted(set(range(len(data))) - set(val))
    return data.subset(keep), data.subset(sorted(val))


def _step(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor], carry: Any) -> StepOutput:
    x, lengths, y = batch
    logits = model(x, lengths)  # (B, C)
    loss = nn.functional.cross_entropy(logits, y)
    return StepOutput(loss=loss, n=len(y), metrics={"acc": float((logits.argmax(-1) == y).float().mean())})


def _evaluate(model: nn.Module, loader: Any) -> dict[str, float]:
    total, correct, count = 0.0, 0, 0
    device = next(model.parameters()).device
    for x, lengths, y in loader:
        x, lengths, y = x.to(device), lengths.to(device), y.to(device)
        logits = model(x, lengths)
        total += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(-1) == y).sum())
        count += len(y)
    return {"val_loss": total / count, "val_acc": correct / count}


def fit_classifier(
    data: SeriesSet,
    settings: ModelSettings,
    train_config: TrainConfig,
    *,
    val_fraction: float = 0.0,
    run_dir: str | Path | None = None,
    run_config: dict[str, Any] | None = None,
    threads: int | None = 1,
) -> tuple[SequenceClassifier, FitResult]:
    """Train on ``data`` (holding out ``val_fraction`` of it, stratified, to keep the best weights by
    ``train_config.monitor``); returns the model (best weights, eval mode, on CPU) and the engine's result.

    ``threads``: torch CPU threads while training (restored after; None = leave as is). One is the default
    because these models are small, and OpenMP threads spin waiting for each other when another process is busy
    on the same cores (not benchmarked in benchmarks/RESULTS.md).
    """
    with cpu_threads(threads):
        return _fit(data, settings, train_config, val_fraction, run_dir, run_config)


def _fit(
    data: SeriesSet,
    settings: ModelSettings,
    train_config: TrainConfig,
    val_fraction: float,
    run_dir: str | Path | None,
    run_config: dict[str, Any] | None,
) -> tuple[SequenceClassifier, FitResult]:
    torch.manual_seed(train_config.seed)  # the model's initial weights
    fit_data, val_data = split_validation(data, val_fraction, train_config.seed)
    model = build_model(fit_data, settings)
    labels = model.labels
    train_loader = seeded_loader(
        _Series(fit_data, labels, settings.augment),
        train_config.batch_size,
        shuffle=True,
        seed=train_config.seed,
        collate_fn=collate,
    )
    val_loader = None
    if val_data is not None:
        val_loader = torch.utils.data.DataLoader(
            _Series(val_data, labels), batch_size=256, shuffle=False, collate_fn=collate
        )
    trainer = Trainer(
        model,
        train_config,
        step=_step,
        evaluate=_evaluate if val_loader is not None else None,
        run_dir=run_dir,
        run_config=run_config,
    )
    result = trainer.fit(train_loader, val_loader)
    return model.cpu().eval(), result


@torch.no_grad()
def predict_proba(model: Any, data: SeriesSet, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, C) for every series of ``data``, in ``model.labels`` order (``model``: a
    SequenceClassifier, ReservoirClassifier or ClassifierEnsemble)."""
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        x, lengths = pad(data.series[start : start + batch_size])
        out.append(model.predict_proba(x, lengths).numpy())
    return np.concatenate(out, axis=0)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
