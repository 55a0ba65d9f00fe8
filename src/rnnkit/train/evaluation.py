"""Validation pieces of the loop: checking what ``step``/``evaluate`` return, exact means across ranks, and the
best-metric / early-stopping tracker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from rnnkit.train.config import StepOutput
from rnnkit.train.distributed import all_reduce
from rnnkit.train.tensors import to_device


def accumulate(sums: dict[str, float], loss: float, out: StepOutput) -> None:
    """Add a batch's loss and metrics, weighted by its item count, to the running ``sums`` (and the count "n")."""
    n = float(out.n)
    sums["train_loss"] = sums.get("train_loss", 0.0) + loss * n
    sums["n"] = sums.get("n", 0.0) + n
    for key, value in out.metrics.items():
        name = key if key.startswith("train_") else f"train_{key}"
        sums[name] = sums.get(name, 0.0) + float(value) * n


def check_output(out: Any) -> torch.Tensor:
    """The scalar loss of a step's output, or a TypeError/ValueError saying what was expected."""
    if not isinstance(out, StepOutput):
        raise TypeError(f"step must return a rnnkit.train.StepOutput; got {type(out).__name__}")
    loss = out.loss
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"StepOutput.loss must be a scalar tensor (the batch mean); got {shape}")
    return loss


def numbers(metrics: Any) -> dict[str, float]:
    """``evaluate``'s dict as floats, or a TypeError naming the offending key.

    >>> numbers({"val_loss": torch.tensor(0.5)})
    {'val_loss': 0.5}
    """
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate must return a dict of metric name -> number; got {type(metrics).__name__}")
    out = {}
    for key, value in metrics.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"evaluate must return a dict of metric name -> number; got {type(value).__name__} for {key!r}"
            ) from None
    return out


def step_sums(
    step: Callable[[nn.Module, Any, Any], StepOutput], model: nn.Module, loader: Iterable, device: Any
) -> dict[str, float]:
    """The default evaluate: ``step``'s loss and metrics over ``loader`` as sums of value*n (``val_`` names) and n."""
    sums: dict[str, float] = {"val_loss": 0.0, "n": 0.0}
    carry = None
    for batch in loader:
        out = step(model, to_device(batch, device), carry)
        carry = out.carry
        n = float(out.n)
        sums["val_loss"] += float(check_output(out)) * n
        sums["n"] += n
        for key, value in out.metrics.items():
            sums[f"val_{key}"] = sums.get(f"val_{key}", 0.0) + float(value) * n
    return sums


def reduce_means(sums: dict[str, float], device: torch.device, distributed: bool) -> dict[str, float]:
    """Means from sums of value*n and their ``n`` (summed over ranks first under torchrun): exact global means.

    >>> reduce_means({"loss": 3.0, "n": 4.0}, torch.device("cpu"), distributed=False)
    {'loss': 0.75}
    """
    if not sums:
        return {}
    keys = sorted(sums)
    values = torch.tensor([sums[k] for k in keys], dtype=torch.float64)
    if distributed:
        values = all_reduce(values.to(device), "sum").cpu()
    total = dict(zip(keys, values.tolist()))
    n = total.pop("n")
    return {k: v / n for k, v in total.items()} if n > 0 else {}


class BestTracker:
    """The best value of the monitored metric, the weights and event that had it, and early-stopping patience.

    >>> t = BestTracker("val_loss", "min", patience=1)
    >>> [t.update({"val_loss": v}, step, nn.Linear(1, 1)) for step, v in enumerate([0.5, 0.4, 0.45])]
    [True, True, False]
    >>> t.best, t.step, t.stopped
    (0.4, 1, True)
    """

    def __init__(self, monitor: str, mode: str, patience: int | None) -> None:
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.best: float | None = None
        self.step = 0
        self.event: dict[str, Any] | None = None
        self.weights: dict[str, torch.Tensor] | None = None
        self.bad = 0
        self.stopped = False

    def update(self, event: dict[str, Any], step: int, model: nn.Module) -> bool:
        """Feed one validation event; returns whether it is a new best (then the model's weights are copied)."""
        if self.monitor not in event:
            keys = ", ".join(sorted(k for k in event if k not in ("step", "epoch", "lr", "time", "validation_time")))
            raise ValueError(
                f"--monitor {self.monitor!r} is not among the logged metrics ({keys}); set --monitor to one of them"
            )
        value = float(event[self.monitor])
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better:
            self.best, self.step, self.event, self.bad = value, step, dict(event), 0
            self.weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad += 1
        if self.patience is not None and self.bad >= self.patience:
            self.stopped = True
        return better

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "step": self.step,
            "event": self.event,
            "weights": self.weights,
            "bad": self.bad,
            "stopped": self.stopped,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.step, self.event = state["best"], state["step"], state["event"]
        self.weights, self.bad, self.stopped = state["weights"], state["bad"], state["stopped"]
