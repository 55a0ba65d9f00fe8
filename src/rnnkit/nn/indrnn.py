"""IndRNN (Li et al. 2018, "Independently Recurrent Neural Network"): each unit sees only its own past.

    h' = act(W_ih x + b_ih + w_hh * h)           W_ih (H, I), w_hh (H,) a vector, act ReLU by default

The recurrent weight is a vector, so the recurrence is elementwise: the input projection for all steps is one
matrix product and the loop does two small elementwise operations per step. ``weight_hh`` starts uniform in
[0, 1] (the paper's choice for ReLU, section 3.3 keeps |w_hh| within reach of 1 for long memories).

Shapes: see :mod:`rnnkit.nn.cells`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.base import RecurrentBase, State


class IndRNN(RecurrentBase):
    """IndRNN layer, multi-layer and bidirectional, with ``lengths``, ``hx`` and ``step``; parameters
    ``weight_ih_l{k}`` (H, I), ``weight_hh_l{k}`` (H,), ``bias_ih_l{k}`` (H,).

    >>> import torch
    >>> layer = IndRNN(3, 4, num_layers=2, batch_first=True)
    >>> y, h = layer(torch.randn(2, 5, 3), lengths=[5, 2])
    >>> tuple(y.shape), tuple(h.shape), bool((y >= 0).all())
    ((2, 5, 4), (2, 2, 4), True)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "relu",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"IndRNN: expected {arg} to be an int >= 1, got {value!r}")
        if nonlinearity not in ("relu", "tanh"):
            raise ValueError(f"IndRNN: expected nonlinearity 'relu' or 'tanh', got {nonlinearity!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"IndRNN: expected dropout in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        for layer in range(num_layers):
            size = input_size if layer == 0 else self.num_directions * hidden_size
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                self.register_parameter("weight_ih" + sfx, nn.Parameter(torch.empty(hidden_size, size)))
                self.register_parameter("weight_hh" + sfx, nn.Parameter(torch.empty(hidden_size)))
                if bias:
                    self.register_parameter("bias_ih" + sfx, nn.Parameter(torch.empty(hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if name.startswith("weight_hh"):
                nn.init.uniform_(p, 0.0, 1.0)
            else:
                nn.init.uniform_(p, -bound, bound)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _state_names(self) -> tuple[str, ...]:
        return ("hx",)

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        gx = F.linear(x, getattr(self, "weight_ih" + sfx), getattr(self, "bias_ih" + sfx, None))  # (B, T, H)
        u = getattr(self, "weight_hh" + sfx)
        act = torch.relu if self.nonlinearity == "relu" else torch.tanh
        h, ys = state[0], []
        for t in range(x.shape[1]):
            h = act(torch.addcmul(gx[:, t], u, h))  # (B, H)
            ys.append(h)
        return torch.stack(ys, 1), (h,)
