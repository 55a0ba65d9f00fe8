"""Checks that stop training with a clear error: a non-finite loss or gradient (where the last good checkpoint is),
and, under torchrun, an optimizer step whose gradients DDP did not all-reduce."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from rnnkit.train.config import NonFiniteLossError

if TYPE_CHECKING:
    from rnnkit.train.trainer import Trainer


def check_synced(trainer: Trainer) -> None:
    """Under DDP: the window's last backward all-reduced, and reached every trainable parameter."""
    if not trainer._synced:
        raise ValueError(
            f"the train loader yielded {trainer.batch_in_epoch} batches in epoch {trainer.epoch} but its len() is "
            f"{trainer._batches_per_epoch}; with --grad_accum {trainer.config.grad_accum} under torchrun the trainer "
            "needs len() to be exact to know which micro-batch all-reduces the gradients"
        )
    unused = [name for name, p in trainer.model.named_parameters() if p.requires_grad and p.grad is None]
    if unused:  # DDP (find_unused_parameters=False) left these buckets unreduced: the step would be unsynced
        raise ValueError(
            f"under torchrun every trainable parameter must get a gradient in each step; {len(unused)} got none "
            f"at optimizer step {trainer.step + 1}: {', '.join(unused[:10])}. Use them in the step's loss or "
            "freeze them (requires_grad_(False))"
        )
    if isinstance(trainer._train_module, nn.parallel.DistributedDataParallel):
        # Any other bucket DDP could not finish (say, a parameter the step used only in an earlier micro-batch):
        # raise DDP's own error now rather than step with some gradients unsynchronised.
        trainer._train_module._check_reducer_finalized()


def raise_nonfinite(trainer: Trainer, what: str) -> None:
    where = f"optimizer step {trainer.step + 1} (epoch {trainer.epoch}, batch {trainer.batch_in_epoch})"
    if trainer.last_checkpoint is not None:
        kept = f"the last good checkpoint is {trainer.last_checkpoint} (step {trainer._checkpoint_step})"
    elif trainer.run_dir is not None:
        kept = "no checkpoint was written yet"
    else:
        kept = "no checkpoints are written without run_dir"
    trainer.runlog.close()
    raise NonFiniteLossError(f"{what} at {where}; training stopped, {kept}. Lower --lr or check the data.")
