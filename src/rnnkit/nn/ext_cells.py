"""The layer-norm and peephole LSTM/GRU as cells for :class:`rnnkit.nn.Recurrent`, with the fused ``scan``.

Same equations and parameter names (without the ``_l0`` suffix) as the ``layer_norm``/``peephole`` keywords of
:class:`~rnnkit.nn.LSTM` and :class:`~rnnkit.nn.GRU` (:mod:`rnnkit.nn.extended`), so weights copy across.
Recurrent dropout and zoneout need a mask per sequence or per step, which a layer draws; use the layers' keywords.

Shapes: see :mod:`rnnkit.nn.cells`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Self

from rnnkit.nn.base import State
from rnnkit.nn.gru_seq import GRUSequence, gru_step
from rnnkit.nn.lstm_seq import EPS, LSTMSequence, lstm_step


class _ExtendedCell(nn.Module):
    gates: int

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.layer_norm = input_size, hidden_size, layer_norm
        G = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(G)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(G)) if bias else None
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if layer_norm:
            self.weight_ln_ih = nn.Parameter(torch.ones(G))
            self.weight_ln_hh = nn.Parameter(torch.ones(G))

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def _gx(self, x: Tensor, fold_hh: bool) -> Tensor:
        """The input part of the gates: x (..., I) -> (..., G)."""
        bias: Tensor | None = self.bias_ih
        if fold_hh and bias is not None and self.bias_hh is not None:
            bias = bias + self.bias_hh
        if self.layer_norm:
            return F.layer_norm(F.linear(x, self.weight_ih), (self.weight_ih.shape[0],), self.weight_ln_ih, bias, EPS)
        return F.linear(x, self.weight_ih, bias)


class ExtendedLSTMCell(_ExtendedCell):
    """LSTM cell with ``layer_norm`` and/or ``peephole``; state (h, c).

    >>> import torch
    >>> from rnnkit.nn import Recurrent
    >>> layer = Recurrent(ExtendedLSTMCell(3, 4, layer_norm=True, peephole=True), num_layers=2, batch_first=True)
    >>> y, (h, c) = layer(torch.randn(2, 5, 3), lengths=[5, 3])
    >>> tuple(y.shape), tuple(c.shape)
    ((2, 5, 4), (2, 2, 4))
    """

    gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False, peephole: bool = False
    ) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm)
        self.peephole = peephole
        if layer_norm:
            self.weight_ln_c = nn.Parameter(torch.ones(hidden_size))
            self.bias_ln_c = nn.Parameter(torch.zeros(hidden_size))
        if peephole:
            bound = 1.0 / math.sqrt(hidden_size)
            self.weight_peephole = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-bound, bound))

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return type(self)(input_size, self.hidden_size, self.bias_ih is not None, self.layer_norm, self.peephole)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        return (zeros, zeros.clone())

    def _extras(self) -> tuple:
        ln_hh = self.weight_ln_hh if self.layer_norm else None
        ln_c = (self.weight_ln_c, self.bias_ln_c) if self.layer_norm else None
        return ln_hh, ln_c, self.weight_peephole if self.peephole else None

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        ln_hh, ln_c, peep = self._extras()
        h, c = lstm_step(self._gx(x, True), state[0], state[1], self.weight_hh, ln_hh, ln_c, peep)  # (B, H)
        return h, (h, c)

    def scan(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """x (B, T, I) -> y (B, T, H): one autograd function for the block (:mod:`rnnkit.nn.lstm_seq`)."""
        ln_hh, ln_c, peep = self._extras()
        ln_w, ln_b = ln_c if ln_c is not None else (None, None)
        gx = self._gx(x.transpose(0, 1), True)  # (T, B, 4H)
        y, h, c = LSTMSequence.apply(gx, state[0], state[1], self.weight_hh, ln_hh, ln_w, ln_b, peep, None, None)
        return y.transpose(0, 1), (h, c)


class ExtendedGRUCell(_ExtendedCell):
    """GRU cell with ``layer_norm``.

    >>> import torch
    >>> cell = ExtendedGRUCell(3, 4, layer_norm=True)
    >>> y, (h,) = cell.step(torch.randn(2, 3), cell.initial_state(2, torch.device("cpu"), torch.float32))
    >>> tuple(y.shape)
    (2, 4)
    """

    gates = 3

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return type(self)(input_size, self.hidden_size, self.bias_ih is not None, self.layer_norm)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        ln_hh = self.weight_ln_hh if self.layer_norm else None
        h = gru_step(self._gx(x, False), state[0], self.weight_hh, self.bias_hh, ln_hh)  # (B, H)
        return h, (h,)

    def scan(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """x (B, T, I) -> y (B, T, H): one autograd function for the block (:mod:`rnnkit.nn.gru_seq`)."""
        ln_hh = self.weight_ln_hh if self.layer_norm else None
        gx = self._gx(x.transpose(0, 1), False)  # (T, B, 3H)
        y, h = GRUSequence.apply(gx, state[0], self.weight_hh, self.bias_hh, ln_hh, None, None)
        return y.transpose(0, 1), (h,)
