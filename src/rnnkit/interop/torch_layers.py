"""Lossless conversion between ``torch.nn.RNN/LSTM/GRU`` and rnnkit's layers, both ways.

rnnkit's fused layers subclass torch's with the same constructor and parameter names, so a conversion is a new
module of the other class with the same arguments and ``load_state_dict`` of the same tensors (copied, not shared).
Whole models convert too: every recurrent submodule is swapped in a deep copy.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from torch import nn

from rnnkit.nn import GRU, LSTM, RNN

M = TypeVar("M", bound=nn.Module)
_TO_RNNKIT: dict[type, type] = {nn.RNN: RNN, nn.LSTM: LSTM, nn.GRU: GRU}
_TO_TORCH: dict[type, type] = {RNN: nn.RNN, LSTM: nn.LSTM, GRU: nn.GRU}


def _arguments(layer: nn.RNNBase) -> dict[str, Any]:
    args: dict[str, Any] = {
        "input_size": layer.input_size,
        "hidden_size": layer.hidden_size,
        "num_layers": layer.num_layers,
        "bias": layer.bias,
        "batch_first": layer.batch_first,
        "dropout": layer.dropout,
        "bidirectional": layer.bidirectional,
    }
    if isinstance(layer, nn.LSTM):
        args["proj_size"] = layer.proj_size
    if isinstance(layer, nn.RNN):
        args["nonlinearity"] = layer.nonlinearity
    weight = next(layer.parameters())
    return {**args, "device": weight.device, "dtype": weight.dtype}


def _swap(layer: nn.Module, table: dict[type, type]) -> nn.Module:
    target = table[type(layer)]
    new = target(**_arguments(layer))  # type: ignore[arg-type]
    new.load_state_dict(layer.state_dict())
    return new.train(layer.training)


def _convert(module: M, table: dict[type, type], name: str, wanted: str) -> M:
    if type(module) in table:
        return _swap(module, table)  # type: ignore[return-value]
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name}: expected an nn.Module ({wanted} or a model containing them), got {type(module)}")
    found = [n for n, m in module.named_modules() if type(m) in table]
    if not found:
        raise ValueError(f"{name}: {type(module).__name__} contains no {wanted} layer to convert")
    out = copy.deepcopy(module)
    for path in found:
        parent_path, _, child = path.rpartition(".")
        parent = out.get_submodule(parent_path) if parent_path else out
        setattr(parent, child, _swap(getattr(parent, child), table))
    return out


def from_torch(module: M) -> M:
    """``torch.nn.RNN/LSTM/GRU`` -> the rnnkit layer with the same arguments and weights (which adds ``lengths=``
    and ``step``); any other module -> a deep copy with every such layer inside swapped.

    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    >>> ours = from_torch(lstm)
    >>> type(ours).__module__, torch.equal(ours.weight_hh_l1_reverse, lstm.weight_hh_l1_reverse)
    ('rnnkit.nn.layers', True)
    """
    return _convert(module, _TO_RNNKIT, "from_torch", "torch.nn.RNN/LSTM/GRU")


def to_torch(module: M) -> M:
    """The reverse of :func:`from_torch`: rnnkit RNN/LSTM/GRU -> plain ``torch.nn`` (for code that checks the exact
    class, or to drop the dependency on rnnkit); any other module -> a copy with every such layer swapped.

    >>> import torch
    >>> gru = to_torch(GRU(3, 4, batch_first=True))
    >>> type(gru) is torch.nn.GRU, gru.batch_first
    (True, True)
    """
    return _convert(module, _TO_TORCH, "to_torch", "rnnkit RNN/LSTM/GRU")
