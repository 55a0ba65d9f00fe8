"""Fused multi-layer RNN, LSTM and GRU: exact drop-ins for ``torch.nn.RNN/LSTM/GRU``.

They ARE torch's modules (subclasses): same constructor, parameter names (``weight_ih_l0``, ...), shapes,
initialisation and ``state_dict``, so a ``torch.nn.LSTM`` checkpoint loads unchanged, and back. What they add:

- ``forward(input, hx=None, lengths=None)``: variable-length batches without packing, correct in both
  directions (see :mod:`rnnkit.nn.base`), each block of time on PyTorch's fused kernel (oneDNN on CPU,
  cuDNN on GPU). A full-length batch is a single call to the same kernel ``torch.nn`` uses;
- ``step(x_t, state)`` for streaming;
- validation of input, state and lengths with messages that say what was expected.

Shapes: see :mod:`rnnkit.nn.cells`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.base import RecurrentBase, State
from rnnkit.nn.extended import Extensions


class _Fused(Extensions, RecurrentBase):
    """Glue between :class:`RecurrentBase` and a ``torch.nn.RNNBase`` subclass, plus the extension keywords
    (:mod:`rnnkit.nn.extended`)."""

    def __init__(
        self,
        *args: Any,
        layer_norm: bool = False,
        peephole: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._init_extensions(layer_norm, peephole, recurrent_dropout, zoneout)

    def reset_parameters(self) -> None:
        super().reset_parameters()  # type: ignore[misc]
        if hasattr(self, "reference"):  # torch's __init__ calls this before the extensions exist
            self._reset_extensions()

    def extra_repr(self) -> str:
        return super().extra_repr() + self._extension_repr()  # type: ignore[misc]

    mode: str
    hidden_size: int
    proj_size: int
    bias: bool

    def forward(  # type: ignore[override]
        self,
        input: Tensor | PackedSequence,
        hx: Tensor | Sequence[Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Tensor | PackedSequence, Tensor | State]:
        if self.extended:
            return self._forward(input, hx, lengths)
        if lengths is None and isinstance(input, Tensor):
            # Fast path: validate, then exactly torch.nn's own forward (one fused kernel call).
            self._check_input(input)
            if hx is not None:
                batched = input.dim() == 3
                batch = (input.shape[0] if self.batch_first else input.shape[1]) if batched else None
                self._check_state(self._from_user_state(hx), batch, input)
            return self._torch_forward(input, hx)
        if lengths is not None and isinstance(input, Tensor) and self._packed_is_faster(input):
            return self._forward_packed(input, hx, lengths)
        return self._forward(input, hx, lengths)

    def _packed_is_faster(self, x: Tensor) -> bool:
        # cuDNN runs packed batches natively in one call; the block-wise path would only add kernel launches.
        # On CPU torch's packed path is a slow per-step loop, so blocks of the fused padded kernel win.
        return x.is_cuda

    def _forward_packed(
        self, input: Tensor, hx: Tensor | Sequence[Tensor] | None, lengths: Tensor | Sequence[int]
    ) -> tuple[Tensor, Tensor | State]:
        self._check_input(input)
        if input.dim() != 3:
            raise ValueError(f"{self._name}: lengths needs batched input; an unbatched sequence is whole")
        B, T = (input.shape[0], input.shape[1]) if self.batch_first else (input.shape[1], input.shape[0])
        lens = self._check_lengths(lengths, B, T)
        if hx is not None:
            self._check_state(self._from_user_state(hx), B, input)
        packed = pack_padded_sequence(input, lens, batch_first=self.batch_first, enforce_sorted=False)
        y, h = self._torch_forward(packed, hx)  # type: ignore[arg-type]
        y, _ = pad_packed_sequence(y, batch_first=self.batch_first, total_length=T)  # type: ignore[arg-type]
        return y, h

    def _torch_forward(self, input: Tensor, hx: Tensor | Sequence[Tensor] | None) -> tuple[Tensor, Tensor | State]:
        raise NotImplementedError

    @property
    def _all_weights_flat(self) -> list[Tensor]:
        return cast(list[Tensor], self._flat_weights)  # set by torch.nn.RNNBase, kept in step with the parameters

    def _weights(self, layer: int, direction: int) -> list[Tensor]:
        weights = self._all_weights_flat
        per = len(weights) // (self.num_layers * self.num_directions)
        k = layer * self.num_directions + direction
        return weights[k * per : (k + 1) * per]

    def _kernel(self, x: Tensor, hx: State, weights: list[Tensor], layers: int, bidirectional: bool) -> tuple:
        """One call of torch's fused kernel, batch-first; returns (output, *states)."""
        dropout = self.dropout if layers > 1 else 0.0
        if self.mode == "LSTM":
            return _VF.lstm(x, hx, weights, self.bias, layers, dropout, self.training, bidirectional, True)
        fn = {"GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}[self.mode]
        return fn(x, hx[0], weights, self.bias, layers, dropout, self.training, bidirectional, True)

    def _run_full(self, x: Tensor, hx: State) -> tuple[Tensor, State] | None:
        if self.extended:
            return None
        y, *states = self._kernel(x, hx, self._all_weights_flat, self.num_layers, self.bidirectional)
        return y, tuple(states)

    def _run(self, x: Tensor, lengths: list[int] | None, hx: State) -> tuple[Tensor, State]:
        self._draw_masks(x.shape[0], x)
        try:
            return super()._run(x, lengths, hx)
        finally:
            self._masks = None

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        if self.extended:
            return self._extended_scan(layer, direction, self._weights(layer, direction), x, state)  # type: ignore[no-any-return]
        y, *states = self._kernel(x, tuple(s.unsqueeze(0) for s in state), self._weights(layer, direction), 1, False)
        return y, tuple(s.squeeze(0) for s in states)


class RNN(_Fused, torch.nn.RNN):  # type: ignore[misc]
    """Elman RNN (tanh or relu), a drop-in for :class:`torch.nn.RNN` that also takes ``lengths``.

    >>> import torch
    >>> rnn = RNN(3, 4, num_layers=2, batch_first=True)
    >>> y, h = rnn(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2]))
    >>> tuple(y.shape), tuple(h.shape), float(y[1, 2:].abs().sum().detach())
    ((2, 5, 4), (2, 2, 4), 0.0)
    """

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _state_names(self) -> tuple[str, ...]:
        return ("hx",)

    def _torch_forward(self, input: Tensor, hx: Tensor | Sequence[Tensor] | None) -> tuple[Tensor, Tensor | State]:
        return torch.nn.RNN.forward(self, input, hx)  # type: ignore[arg-type]


class GRU(_Fused, torch.nn.GRU):  # type: ignore[misc]
    """GRU, a drop-in for :class:`torch.nn.GRU` that also takes ``lengths``.

    >>> import torch
    >>> gru = GRU(3, 4, bidirectional=True)
    >>> y, h = gru(torch.randn(5, 2, 3), lengths=[5, 3])
    >>> tuple(y.shape), tuple(h.shape)
    ((5, 2, 8), (2, 2, 4))
    """

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _state_names(self) -> tuple[str, ...]:
        return ("hx",)

    def _torch_forward(self, input: Tensor, hx: Tensor | Sequence[Tensor] | None) -> tuple[Tensor, Tensor | State]:
        return torch.nn.GRU.forward(self, input, hx)  # type: ignore[arg-type]


class LSTM(_Fused, torch.nn.LSTM):  # type: ignore[misc]
    """LSTM (optionally with ``proj_size``), a drop-in for :class:`torch.nn.LSTM` that also takes ``lengths``.

    >>> import torch
    >>> lstm = LSTM(3, 4, proj_size=2, batch_first=True)
    >>> y, (h, c) = lstm(torch.randn(2, 5, 3), lengths=[1, 5])
    >>> tuple(y.shape), tuple(h.shape), tuple(c.shape)
    ((2, 5, 2), (1, 2, 2), (1, 2, 4))
    """

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _state_names(self) -> tuple[str, ...]:
        return ("h_0", "c_0")

    def _to_user_state(self, states: State) -> Tensor | State:
        return states

    def _torch_forward(self, input: Tensor, hx: Tensor | Sequence[Tensor] | None) -> tuple[Tensor, Tensor | State]:
        return torch.nn.LSTM.forward(self, input, hx)  # type: ignore[arg-type]
