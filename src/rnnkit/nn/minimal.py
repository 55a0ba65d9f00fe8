"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", the log-space-ready forms of section 3).

Their gates read ``x_t`` only, never ``h_{t-1}``, so a whole sequence is one matrix product for the gates and a
linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (:mod:`rnnkit.nn.scan`), trained as a scan over time and run
step by step for inference; both give the same numbers.

minGRU, ``weight_ih`` (2H, I) stacked as ``z, h``::

    z = sigmoid(W_iz x + b_iz)        h~ = g(W_ih x + b_ih)        h' = (1 - z) * h + z * h~

minLSTM, ``weight_ih`` (3H, I) stacked as ``f, i, h``::

    f = sigmoid(W_if x + b_if)        i = sigmoid(W_ii x + b_ii)    h~ = g(W_ih x + b_ih)
    h' = f / (f + i) * h + i / (f + i) * h~

with ``g(v) = v + 0.5`` for ``v >= 0`` and ``sigmoid(v)`` below (the paper's positive activation, which keeps
``h`` positive for its log-space scan; ours is in linear space and needs no sign).

Shapes: see :mod:`rnnkit.nn.cells`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Self

from rnnkit.nn.base import RecurrentBase, State
from rnnkit.nn.scan import linear_scan, linear_scan_reference

SCAN_METHODS = ("auto", "chunked", "sequential", "reference")


def _g(v: Tensor) -> Tensor:
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def mingru_coefficients(gates: Tensor) -> tuple[Tensor, Tensor]:
    """gates (..., 2H) = W_ih x + b_ih -> (a, b) of the recurrence ``h' = a * h + b``, each (..., H)."""
    k, v = gates.chunk(2, -1)
    z = torch.sigmoid(k)
    return 1 - z, z * _g(v)


def minlstm_coefficients(gates: Tensor) -> tuple[Tensor, Tensor]:
    """gates (..., 3H) = W_ih x + b_ih -> (a, b) of the recurrence ``h' = a * h + b``, each (..., H)."""
    kf, ki, v = gates.chunk(3, -1)
    # f / (f + i) with f = sigmoid(kf), i = sigmoid(ki), computed as softmax over the pair for stability.
    w = torch.softmax(torch.stack([F.logsigmoid(kf), F.logsigmoid(ki)]), 0)  # (2, ..., H)
    return w[0], w[1] * _g(v)


_COEFFICIENTS = {"mingru": (2, mingru_coefficients), "minlstm": (3, minlstm_coefficients)}


def _run(kind: str, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor, method: str) -> Tensor:
    """x (B, T, I), h0 (B, H) -> h (B, T, H)."""
    a, b = _COEFFICIENTS[kind][1](F.linear(x, weight, bias))  # (B, T, H) each
    if method == "reference":
        return linear_scan_reference(a, b, h0)
    return linear_scan(a, b, h0, method)


def _check_method(name: str, method: str) -> None:
    if method not in SCAN_METHODS:
        raise ValueError(f"{name}: expected scan to be one of {', '.join(SCAN_METHODS)}, got {method!r}")


class _MinRNN(RecurrentBase):
    kind: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        scan: str = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{self._name}: expected {arg} to be an int >= 1, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{self._name}: expected dropout in [0, 1), got {dropout!r}")
        _check_method(self._name, scan)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.scan = scan  # a run-time choice, not saved
        gates = _COEFFICIENTS[self.kind][0] * hidden_size
        for layer in range(num_layers):
            size = input_size if layer == 0 else self.num_directions * hidden_size
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                self.register_parameter(
                    "weight_ih" + sfx, nn.Parameter(torch.empty(gates, size, device=device, dtype=dtype))
                )
                if bias:
                    self.register_parameter(
                        "bias_ih" + sfx, nn.Parameter(torch.empty(gates, device=device, dtype=dtype))
                    )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in +-1/sqrt(H), as torch.nn's recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _state_names(self) -> tuple[str, ...]:
        return ("hx",)

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        weight, bias = getattr(self, "weight_ih" + sfx), getattr(self, "bias_ih" + sfx, None)
        h = _run(self.kind, x, weight, bias, state[0], self.scan)  # (B, T, H)
        return h, (h[:, -1],)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class MinGRU(_MinRNN):
    """minGRU layer (module docstring), multi-layer and bidirectional, with ``lengths``, ``hx`` and ``step``.

    Args as :class:`torch.nn.GRU`, plus ``scan``: ``"auto"``, ``"chunked"``, ``"sequential"`` (see
    :func:`rnnkit.nn.scan.linear_scan`) or ``"reference"`` (the plain autograd loop, for tests).

    >>> import torch
    >>> gru = MinGRU(3, 4, batch_first=True)
    >>> x = torch.randn(2, 6, 3)
    >>> y, h = gru(x)
    >>> state = None
    >>> for t in range(6):
    ...     y_t, state = gru.step(x[:, t], state)
    >>> torch.allclose(y_t, y[:, -1], atol=1e-6), tuple(h.shape)
    (True, (1, 2, 4))
    """

    kind = "mingru"


class MinLSTM(_MinRNN):
    """minLSTM layer (module docstring); the same interface as :class:`MinGRU`, weight_ih (3H, I).

    >>> import torch
    >>> y, h = MinLSTM(3, 4, num_layers=2, bidirectional=True)(torch.randn(6, 2, 3), lengths=[6, 3])
    >>> tuple(y.shape), tuple(h.shape)
    ((6, 2, 8), (4, 2, 4))
    """

    kind = "minlstm"


class _MinCell(nn.Module):
    kind: str

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, scan: str = "auto") -> None:
        super().__init__()
        _check_method(type(self).__name__, scan)
        self.input_size, self.hidden_size, self.scan_method = input_size, hidden_size, scan
        self.weight_ih = nn.Parameter(torch.empty(_COEFFICIENTS[self.kind][0] * hidden_size, input_size))
        self.bias_ih = nn.Parameter(torch.empty(self.weight_ih.shape[0])) if bias else None
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def clone(self, input_size: int) -> Self:
        """A freshly initialised cell of the same kind for another input size (used to stack layers)."""
        return type(self)(input_size, self.hidden_size, self.bias_ih is not None, self.scan_method)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> State:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        a, b = _COEFFICIENTS[self.kind][1](F.linear(x, self.weight_ih, self.bias_ih))  # (B, H) each
        h = torch.addcmul(b, a, state[0])
        return h, (h,)

    def scan(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """The whole block at once: x (B, T, I) -> h (B, T, H); equals calling ``step`` T times."""
        h = _run(self.kind, x, self.weight_ih, self.bias_ih, state[0], self.scan_method)
        return h, (h[:, -1],)


class MinGRUCell(_MinCell):
    """minGRU as a cell for :class:`rnnkit.nn.Recurrent` (with the ``scan`` fast path).

    >>> import torch
    >>> from rnnkit.nn import Recurrent
    >>> y, h = Recurrent(MinGRUCell(3, 4), num_layers=2)(torch.randn(5, 2, 3))
    >>> tuple(y.shape)
    (5, 2, 4)
    """

    kind = "mingru"


class MinLSTMCell(_MinCell):
    """minLSTM as a cell for :class:`rnnkit.nn.Recurrent` (with the ``scan`` fast path).

    >>> import torch
    >>> cell = MinLSTMCell(3, 4)
    >>> y, (h,) = cell.step(torch.randn(2, 3), cell.initial_state(2, torch.device("cpu"), torch.float32))
    >>> tuple(y.shape)
    (2, 4)
    """

    kind = "minlstm"
