"""Learning-rate schedules with linear warm-up: cosine, linear, wsd (all three reaching zero at ``total_steps``),
constant, plateau.

The schedule sets ``group["lr"] = base_lr * factor`` before every optimizer step; its whole state is a few numbers
(``state_dict``), so a resumed run continues the same curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.optim import Optimizer

WSD_DECAY = 0.2
"""The share of the run (steps or budget) over which the wsd schedule decays to zero."""


class LRSchedule:
    """Warm-up then decay, stepped once per optimizer step.

    ``factor(t)`` is the multiplier of the base learning rate for optimizer step ``t`` (0-based): ``(t+1)/warmup``
    during warm-up, then cosine/linear decay from 1 to 0 over the remaining ``total_steps - warmup`` steps, or 1
    (constant), or the plateau factor (halved after ``patience`` validations without improvement, floor 1e-3), or
    wsd: warm-up, stable, decay (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training beyond Fixed
    Training Durations"): 1 until the last :data:`WSD_DECAY` of the run, then linear to 0. A run that is short in
    steps spends most of it at the peak rate, where a cosine would spend half of it below half the rate.

    Under a time budget the decay also follows the clock: ``factor(t, time_fraction)`` takes the further along of
    the step progress and the fraction of the budget spent, so a run cut by ``--time_budget`` still anneals to zero
    by its end instead of stopping at its peak rate (what nanoGPT-style time-limited runs do by hand).

    >>> s = LRSchedule(None, "cosine", warmup_steps=2, total_steps=6)
    >>> [round(s.factor(t), 3) for t in range(6)]
    [0.5, 1.0, 1.0, 0.854, 0.5, 0.146]
    >>> round(s.factor(2, time_fraction=0.5), 3), round(s.factor(5, time_fraction=0.5), 3)
    (0.5, 0.146)
    >>> w = LRSchedule(None, "wsd", warmup_steps=0, total_steps=10)
    >>> [round(w.factor(t), 2) for t in range(10)]
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer | None,
        kind: str,
        warmup_steps: int,
        total_steps: int | None,
        mode: str = "min",
        patience: int = 5,
    ) -> None:
        self.optimizer = optimizer
        self.kind = kind
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.mode = mode
        self.patience = patience
        # "initial_lr" (torch's convention) survives set_lr, so a second fit() starts from the same base.
        self.base_lrs = [g.setdefault("initial_lr", g["lr"]) for g in optimizer.param_groups] if optimizer else []
        self.plateau_factor = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad = 0

    def factor(self, t: int, time_fraction: float | None = None) -> float:
        if t < self.warmup_steps:
            return (t + 1) / self.warmup_steps
        if self.kind == "plateau":
            return self.plateau_factor
        if self.kind == "constant" or (self.total_steps is None and time_fraction is None):
            return 1.0
        progress = 0.0
        if self.total_steps is not None:
            progress = (t - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        if time_fraction is not None:
            progress = max(progress, time_fraction)
        progress = min(1.0, progress)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.kind == "wsd":
            return min(1.0, (1.0 - progress) / WSD_DECAY)
        return 1.0 - progress  # linear

    def set_lr(self, t: int, time_fraction: float | None = None) -> float:
        """Set every group's learning rate for optimizer step ``t``; returns the first group's."""
        assert self.optimizer is not None
        f = self.factor(t, time_fraction)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * f
        return self.base_lrs[0] * f

    def on_validation(self, value: float) -> None:
        """Feed the monitored metric (plateau schedule only)."""
        if self.kind != "plateau":
            return
        better = self.plateau_best is None or (
            value < self.plateau_best if self.mode == "min" else value > self.plateau_best
        )
        if better:
            self.plateau_best, self.plateau_bad = value, 0
            return
        self.plateau_bad += 1
        if self.plateau_bad >= self.patience:
            self.plateau_factor = max(1e-3, self.plateau_factor * 0.5)
            self.plateau_bad = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "base_lrs": list(self.base_lrs),
            "plateau_factor": self.plateau_factor,
            "plateau_best": self.plateau_best,
            "plateau_bad": self.plateau_bad,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.plateau_factor = state["plateau_factor"]
        self.plateau_best = state["plateau_best"]
        self.plateau_bad = state["plateau_bad"]


def param_groups(params: Sequence[torch.Tensor]) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on matrices only, not on biases or norm gains (vectors).

    >>> [len(g["params"]) for g in param_groups(list(torch.nn.Linear(2, 3).parameters()))]
    [1, 1]
    """
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups: list[dict[str, Any]] = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
