"""Moving batches and recurrent state around: to a device, and out of the autograd graph."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch


def to_device(obj: Any, device: torch.device) -> Any:
    """Move tensors inside tuples, lists, dicts and dataclasses to ``device``; anything else is returned as is.

    >>> to_device({"x": torch.ones(1), "y": [torch.zeros(1), "label"]}, torch.device("cpu"))["y"][1]
    'label'
    """
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=device.type == "cuda")
    return _map(obj, lambda t: t.to(device, non_blocking=device.type == "cuda"))


def detach(obj: Any) -> Any:
    """Detach every tensor in a (nested) carry, so the next backward stops at this batch (truncated BPTT)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach()
    return _map(obj, lambda t: t.detach())


def _map(obj: Any, fn: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_map(v, fn) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map(v, fn) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _map(v, fn)) for k, v in obj.items())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _map(getattr(obj, f.name), fn) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj
