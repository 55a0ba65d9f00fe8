"""Recurrent cells: one time step each, and the protocol every cell follows.

Notation used throughout ``rnnkit.nn``::

    B  batch size            T  time steps
    I  input features        H  hidden features
    P  projected features (LSTM ``proj_size``; P = H when there is no projection)
    L  layers                D  directions (1, or 2 when bidirectional)

Gate order and weight layout are the ones PyTorch and cuDNN use, written here once (Keras' and ONNX's orders, and
the conversions between them, are in :mod:`rnnkit.interop.layout`):

RNN (``nonlinearity`` tanh or relu)::

    h' = act(W_ih x + b_ih + W_hh h + b_hh)            W_ih (H, I), W_hh (H, H)

LSTM, gates stacked as ``i, f, g, o`` (input, forget, cell, output)::

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)         W_ih = [W_ii; W_if; W_ig; W_io] (4H, I)
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)         W_hh = [W_hi; W_hf; W_hg; W_ho] (4H, P)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)
    c' = f * c + i * g
    h' = o * tanh(c')            (then h' = W_hr h' when proj_size > 0; W_hr (P, H))

GRU, gates stacked as ``r, z, n`` (reset, update, new)::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     (the reset gate multiplies b_hn too)
    h' = (1 - z) * n + z * h

The cell protocol (:class:`Cell`) is what :class:`rnnkit.nn.Recurrent` needs to run a cell over time, in
stacks, in both directions and on variable-length batches. The stock cells subclass ``torch.nn``'s, so their
``forward`` and ``state_dict`` are exactly torch's; they add the protocol methods on top.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import torch
from torch import Tensor
from typing_extensions import Self

State = tuple[Tensor, ...]

# The number of gates stacked in W_ih / W_hh for each cell kind, in the order above.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@runtime_checkable
class Cell(Protocol):
    """What :class:`rnnkit.nn.Recurrent` needs from a cell.

    A cell is an ``nn.Module`` with:

    - ``input_size`` (int): features of ``x_t``;
    - ``output_size`` (int): features of ``y_t``, the output it emits each step;
    - ``initial_state(batch_size, device, dtype) -> tuple[Tensor, ...]``: the zero state, each tensor (B, *);
    - ``step(x_t, state) -> (y_t, state)``: one time step, ``x_t`` (B, I), ``y_t`` (B, output_size).

    Optionally ``scan(x, state) -> (y, state)`` over a whole (B, T, I) block: a fast path (a fused kernel, a
    parallel scan) that the layer uses instead of calling ``step`` T times. It must equal the step loop.
    """

    input_size: int
    output_size: int

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State: ...

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]: ...


_C = TypeVar("_C", bound=torch.nn.RNNCellBase)


def _clone(cell: _C, input_size: int) -> _C:
    kwargs: dict[str, Any] = {"bias": cell.bias, "device": cell.weight_ih.device, "dtype": cell.weight_ih.dtype}
    if isinstance(cell, torch.nn.RNNCell):
        kwargs["nonlinearity"] = cell.nonlinearity
    return type(cell)(input_size, cell.hidden_size, **kwargs)


class RNNCell(torch.nn.RNNCell):
    """Elman cell, identical to :class:`torch.nn.RNNCell`, plus the :class:`Cell` protocol.

    >>> cell = RNNCell(3, 5)
    >>> y, (h,) = cell.step(torch.zeros(2, 3), cell.initial_state(2, torch.device("cpu"), torch.float32))
    >>> tuple(y.shape)
    (2, 5)
    """

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return _clone(self, input_size)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        h = super().forward(x, state[0])  # (B, H)
        return h, (h,)


class LSTMCell(torch.nn.LSTMCell):
    """LSTM cell, identical to :class:`torch.nn.LSTMCell`, plus the :class:`Cell` protocol; state is (h, c).

    >>> cell = LSTMCell(3, 5)
    >>> y, (h, c) = cell.step(torch.zeros(2, 3), cell.initial_state(2, torch.device("cpu"), torch.float32))
    >>> tuple(c.shape)
    (2, 5)
    """

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return _clone(self, input_size)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        return (zeros, zeros.clone())

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        h, c = super().forward(x, (state[0], state[1]))  # (B, H) each
        return h, (h, c)


class GRUCell(torch.nn.GRUCell):
    """GRU cell, identical to :class:`torch.nn.GRUCell`, plus the :class:`Cell` protocol.

    >>> cell = GRUCell(3, 5)
    >>> y, (h,) = cell.step(torch.zeros(2, 3), cell.initial_state(2, torch.device("cpu"), torch.float32))
    >>> torch.equal(y, h)
    True
    """

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return _clone(self, input_size)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        h = super().forward(x, state[0])  # (B, H)
        return h, (h,)


# The gate arithmetic of one step, from the two projections, for code that computes the projections itself
# (forecasting's SegRNN decoder shares one input projection among many states). The equations are the ones at the
# top of this module; the projections broadcast against each other and against the state.


def rnn_state(gi: Tensor, gh: Tensor, nonlinearity: str = "tanh") -> Tensor:
    """An Elman cell's new state ``act(gi + gh)`` from ``gi = W_ih x + b_ih`` and ``gh = W_hh h + b_hh`` (..., H)."""
    return torch.tanh(gi + gh) if nonlinearity == "tanh" else torch.relu(gi + gh)


def lstm_state(gi: Tensor, gh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """An LSTM's new ``(h, c)`` from ``gi = W_ih x + b_ih``, ``gh = W_hh h + b_hh`` (..., 4H, gates i, f, g, o) and
    ``c`` (..., H).

    >>> cell, x, h, c = torch.nn.LSTMCell(3, 4), torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    >>> ours = lstm_state(x @ cell.weight_ih.T + cell.bias_ih, h @ cell.weight_hh.T + cell.bias_hh, c)
    >>> all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, cell(x, (h, c))))
    True
    """
    i, f, g, o = (gi + gh).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_state(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """A GRU's new state from ``gi = W_ih x + b_ih``, ``gh = W_hh h + b_hh`` (..., 3H, gates r, z, n) and ``h``
    (..., H); the reset gate scales the recurrent part of n, its bias included.

    >>> cell, x, h = torch.nn.GRUCell(3, 4), torch.randn(2, 3), torch.randn(2, 4)
    >>> ours = gru_state(x @ cell.weight_ih.T + cell.bias_ih, h @ cell.weight_hh.T + cell.bias_hh, h)
    >>> torch.allclose(ours, cell(x, h), atol=1e-6)
    True
    """
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h
