"""What a trainer checkpoint holds and how a trainer is put back in that state (``fit(resume=True)``).

The checkpoint (``run_dir/last.ckpt``, written by rank 0 at an optimizer-step boundary) holds the model, optimizer,
schedule and --ema state, the loop's position (step, epoch, batches of the epoch consumed), the history and the best
weights, and one entry per rank: its RNG state now and at the epoch's start, its truncated-BPTT carry and its train
sums since the last event. See :mod:`rnnkit.train.trainer` for how a resumed epoch replays its data order.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import torch

from rnnkit.train.checkpoint import warn_config_changes
from rnnkit.train.seeding import rng_state, set_rng_state
from rnnkit.train.tensors import to_device

if TYPE_CHECKING:
    from rnnkit.train.trainer import Trainer

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "rnnkit-checkpoint"


def rank_state(trainer: Trainer) -> dict[str, Any]:
    """This process's part of a checkpoint (gathered from every rank under torchrun)."""
    return {
        "rng": rng_state(),
        "epoch_rng": trainer._epoch_rng,
        "carry": to_device(trainer.carry, torch.device("cpu")),
        "train_sums": dict(trainer._sums),  # this rank's sums since the last event
    }


def checkpoint_state(trainer: Trainer, ranks: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole checkpoint, with ``ranks`` = every rank's :func:`rank_state`."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "schedule": trainer.schedule.state_dict(),
        "ema": trainer._ema.sums if trainer._ema is not None else None,
        "ranks": ranks,
        "world_size": trainer.world_size,
        "step": trainer.step,
        "epoch": trainer.epoch,
        "batch_in_epoch": trainer.batch_in_epoch,
        "history": trainer.history,
        "best": trainer.tracker.state_dict(),
        "last_val_step": trainer.last_val_step,
        "config": dataclasses.asdict(trainer.config),
        "seconds": trainer.seconds,
    }


def restore(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put ``trainer`` in the state :func:`checkpoint_state` saved (this rank's entry of ``ranks``)."""
    path = trainer.checkpoint_path
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: expected format {CHECKPOINT_FORMAT!r}, found {state.get('format')!r}")
    warn_config_changes(state.get("config", {}), dataclasses.asdict(trainer.config), path)
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.schedule.load_state_dict(state["schedule"])
    trainer.lr = float(trainer.optimizer.param_groups[0]["lr"])  # the last step's, logged until the next step
    for key in ("step", "epoch", "batch_in_epoch", "history", "last_val_step"):
        setattr(trainer, key, state[key])
    trainer.tracker.load_state_dict(state["best"])
    if trainer._ema is not None:
        if state.get("ema") is None:
            raise ValueError(f"{path} was written without --ema; resume without it, or start a new run")
        trainer._ema.sums = [e.to(p.device) for e, p in zip(state["ema"], trainer._params)]
    trainer._seconds0 = float(state["seconds"])
    ranks = state["ranks"]
    mine = ranks[trainer.rank] if len(ranks) == trainer.world_size else ranks[0]
    if len(ranks) != trainer.world_size:
        log.warning(
            "resume: the checkpoint was written by %d processes, this run has %d; the data order and RNG "
            "streams will differ from an uninterrupted run",
            len(ranks),
            trainer.world_size,
        )
    set_rng_state(mine["rng"])
    trainer._epoch_rng = mine["epoch_rng"]
    trainer.carry = to_device(mine["carry"], trainer.device)
    trainer._sums = dict(mine["train_sums"])
    trainer.last_checkpoint, trainer._checkpoint_step = path, trainer.step
    log.info(
        "resumed from %s at step %d (epoch %d, batch %d)", path, trainer.step, trainer.epoch, trainer.batch_in_epoch
    )
