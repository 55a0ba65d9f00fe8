"""Callbacks: hooks the trainer calls on rank 0 and every other rank alike. Subclass and override what you need.

>>> class PrintVal(Callback):
...     def on_validation_end(self, trainer, metrics):
...         self.last = metrics["val_loss"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnkit.train.config import FitResult, StepOutput
    from rnnkit.train.trainer import Trainer


class Callback:
    """Base class; every hook does nothing. Set ``trainer.should_stop = True`` to stop cleanly (reason 'callback')."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first step (after a resume restored the state)."""

    def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
        """After each optimizer step (``step`` counts from 1), with the last batch's output."""

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """After each validation, with the logged event (train and validation metrics)."""

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        """After each full pass over the training data (``epoch`` counts from 0)."""

    def on_checkpoint(self, trainer: Trainer, path: Any) -> None:
        """After last.ckpt was written (``path`` is None on ranks other than 0)."""

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        """After training, with the model holding its best weights."""
