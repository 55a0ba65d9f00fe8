"""The engine's typed pieces: :class:`TrainConfig` (also embeddable in an application's CLI config),
:class:`StepOutput` (what a step function returns), :class:`FitResult` and :class:`NonFiniteLossError`."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields
from typing import Any

from torch import Tensor

SCHEDULES = ("cosine", "constant", "linear", "wsd", "plateau")


class NonFiniteLossError(ValueError):
    """The loss (or the gradient norm) became NaN/Inf; training stopped and the last good checkpoint was kept."""


@dataclass
class TrainConfig:
    """How to train: optimizer (AdamW), schedule, stopping, precision, seeding, checkpoints and the run folder.

    Every training command's config inherits it: ``@dataclass class TrainArgs(TrainConfig)`` adds the
    application's own fields and re-declares an engine field only to change its default, as a bare
    ``epochs: int = 30`` (no docstring: ``--help`` shows the one written here). Cross-field checks of a subclass go
    in its ``__post_init__``, which calls ``super().__post_init__()``.

    >>> TrainConfig(epochs=3, schedule="linear", warmup_steps=10).schedule
    'linear'
    >>> TrainConfig(schedule="step")
    Traceback (most recent call last):
    ...
    ValueError: --schedule must be one of 'cosine', 'constant', 'linear', 'wsd', 'plateau'; got 'step'
    """

    epochs: int = 100
    """Passes over the training data (upper bound; early stopping, --max_steps or --time_budget may stop sooner)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (None: no cap)."""
    time_budget: float | None = None
    """Minutes of training; stops cleanly at the end of the step that crosses it (None: no limit). The cosine,
    linear and wsd schedules then decay with the clock too (to zero when the budget is spent, or earlier by step
    count)."""
    batch_size: int = 64
    """Items per batch (per process under torchrun), used by the application's data loaders."""
    lr: float = 3e-3
    """Peak learning rate of AdamW (an application may leave it None and choose it before training starts, as the
    language model does from its width)."""
    weight_decay: float = 1e-2
    """AdamW weight decay, applied to matrices only (not to biases or norm gains)."""
    adam_eps: float = 1e-8
    """AdamW's epsilon (added to the root of the second moment); reinforcement learning uses 1e-5."""
    clip_norm: float | None = 1.0
    """Clip the global gradient norm to this value (None: no clipping)."""
    schedule: str = "cosine"
    """Learning-rate schedule after warm-up: cosine | constant | linear | wsd (constant, then linear to zero over the
    last 20% of the steps or the budget) | plateau."""
    warmup_steps: int = 0
    """Optimizer steps of linear warm-up from lr/warmup_steps to lr."""
    ema: float | None = None
    """Average the weights over training with this decay per optimizer step (e.g. 0.98: about the last 50 steps;
    None: off), as Keras' ``use_ema`` and timm's ModelEma do. Validation, the best checkpoint, early stopping and
    the final model use the averaged weights; the optimizer keeps stepping the raw ones. The average is
    bias-corrected (as Adam's moments), so the initial weights carry no weight."""
    early_stopping: int | None = 20
    """Stop after this many validations without improvement of --monitor (None: off)."""
    monitor: str = "val_loss"
    """Validation metric used for early stopping, the best checkpoint and the plateau schedule."""
    mode: str = "min"
    """Whether --monitor should be minimised (min) or maximised (max)."""
    val_every: int | None = None
    """Validate every N optimizer steps (None: at the end of every epoch; `text train` instead validates about 10
    times over the steps it expects to run)."""
    grad_accum: int = 1
    """Accumulate gradients over this many batches per optimizer step."""
    amp: bool = False
    """Mixed precision: bf16 autocast on CUDA (if the GPU supports bf16) and on CPU."""
    seed: int = 0
    """Seed for Python, NumPy and torch; the data order depends only on (seed, epoch)."""
    device: str = "auto"
    """auto (CUDA if available, else CPU), cpu, cuda or cuda:N."""
    threads: int | None = None
    """torch CPU threads while training (None: torch's default). Small models train as fast on one thread, and
    several threads slow down badly when other processes share the cores."""
    checkpoint_every: int | None = None
    """Write last.ckpt every N optimizer steps (None: at each validation, or each epoch without validation)."""
    out: str = "runs/train"
    """Run folder: model/, config.json, metrics.json, checkpoints and logs (each application sets its default)."""
    resume: bool = False
    """Continue the run in --out from its last checkpoint (the same flags give the same result as an
    uninterrupted run)."""
    progress: bool | None = None
    """Live progress bar: None shows it only when stderr is a terminal; true forces it; false turns it off."""
    quiet: bool = False
    """No progress bar and no summary line (errors and warnings only)."""

    def __post_init__(self) -> None:
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("grad_accum", self.grad_accum)
        for name in ("max_steps", "val_every", "checkpoint_every", "early_stopping", "threads"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if self.time_budget is not None and not (self.time_budget > 0 and math.isfinite(self.time_budget)):
            raise ValueError(f"--time_budget must be a positive number of minutes or None; got {self.time_budget!r}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"--lr must be a positive number; got {self.lr!r}")
        if not self.adam_eps > 0:
            raise ValueError(f"--adam_eps must be > 0; got {self.adam_eps!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"--weight_decay must be >= 0; got {self.weight_decay!r}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"--clip_norm must be > 0 or None (no clipping); got {self.clip_norm!r}")
        if self.ema is not None and not 0 < self.ema < 1:
            raise ValueError(f"--ema must be a decay in (0, 1), e.g. 0.98, or None (off); got {self.ema!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"--warmup_steps must be >= 0; got {self.warmup_steps!r}")
        if self.schedule not in SCHEDULES:
            choices = ", ".join(repr(s) for s in SCHEDULES)
            raise ValueError(f"--schedule must be one of {choices}; got {self.schedule!r}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"--mode must be 'min' or 'max'; got {self.mode!r}")
        if not isinstance(self.out, str) or not self.out:
            raise ValueError(f"--out must be a folder path; got {self.out!r}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"--device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}")

    def engine_config(self) -> TrainConfig:
        """Only the engine's fields, as a plain :class:`TrainConfig` (an application's subclass drops its own).

        >>> @dataclass
        ... class TrainArgs(TrainConfig):
        ...     hidden_size: int = 8
        >>> TrainArgs(epochs=3).engine_config()
        TrainConfig(epochs=3, ...)
        """
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)})

    def show_progress(self, stream: Any = None) -> bool:
        """Whether to draw a live progress bar: --progress if given, else only when ``stream`` (stderr) is a terminal
        and not --quiet.

        >>> TrainConfig(progress=True).show_progress(), TrainConfig(progress=True, quiet=True).show_progress()
        (True, False)
        """
        if self.quiet or self.progress is False:
            return False
        if self.progress:
            return True
        stream = sys.stderr if stream is None else stream
        return bool(getattr(stream, "isatty", lambda: False)())


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"--{name} must be a positive integer; got {value!r}")


@dataclass
class StepOutput:
    """What a step function returns for one batch.

    >>> import torch
    >>> StepOutput(loss=torch.tensor(0.5), n=8, metrics={"acc": 0.75}).n
    8
    """

    loss: Tensor
    """Scalar to backpropagate: the mean over the batch."""
    n: int = 1
    """How many items ``loss`` averages over (epoch means are weighted by it)."""
    carry: Any = None
    """Recurrent state for the next batch (truncated BPTT); the trainer detaches it after each backward."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Extra per-batch means (e.g. accuracy) averaged over the epoch, weighted by ``n``."""


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns."""

    best_metrics: dict[str, Any]
    """The logged event (train and validation metrics) at the best validation; the last event without validation."""
    best_step: int
    """Optimizer step of ``best_metrics``."""
    history: list[dict[str, Any]]
    """Every logged event (one per validation, or per epoch without validation), as in metrics.jsonl."""
    stopped_reason: str
    """'epochs', 'max_steps', 'time_budget', 'early_stopping', 'callback' or 'interrupted' (Ctrl-C/SIGTERM: the
    last checkpoint was written at the step boundary, the model holds the best weights so far); 'closed_form' for
    a model an application fitted without steps (a ridge readout)."""
    seconds: float
    """Training time in seconds, summed over resumed segments."""
    steps: int = 0
    """Optimizer steps done."""
