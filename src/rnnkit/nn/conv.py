"""ConvLSTM and ConvGRU (Shi et al. 2015): the LSTM and GRU with convolutions in place of matrix products, over
video-like (B, T, C, Hs, Ws) tensors; the state is a feature map (B, F, Hs, Ws).

Gate order and equations are the LSTM's and the GRU's of :mod:`rnnkit.nn.cells`, with ``W x`` a 'same'-padded
2-D convolution (``weight_ih`` (G*F, C, k, k), ``weight_hh`` (G*F, F, k, k), G = 4 or 3). The input convolution
for all steps is one call; the recurrent one runs per step. The layers reuse the shared time loop of
:mod:`rnnkit.nn.base` (lengths, directions, stacking) by flattening each frame to a feature vector.

Shapes: B batch, T time steps, C input channels, F hidden channels, Hs x Ws the frame size, L layers,
D directions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.base import RecurrentBase, State


class _ConvRecurrent(RecurrentBase):
    gates: int

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        kernel_size: int = 3,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{self._name}: expected {arg} (channels) to be an int >= 1, got {value!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"{self._name}: expected an odd kernel_size >= 1 ('same' padding), got {kernel_size!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{self._name}: expected dropout in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.kernel_size, self.bias, self.batch_first = kernel_size, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self._hw = (1, 1)  # the frame size of the current call
        G, k = self.gates * hidden_size, kernel_size
        for layer in range(num_layers):
            size = input_size if layer == 0 else self.num_directions * hidden_size
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                self.register_parameter("weight_ih" + sfx, nn.Parameter(torch.empty(G, size, k, k)))
                self.register_parameter("weight_hh" + sfx, nn.Parameter(torch.empty(G, hidden_size, k, k)))
                if bias:
                    self.register_parameter("bias_ih" + sfx, nn.Parameter(torch.empty(G)))
                    self.register_parameter("bias_hh" + sfx, nn.Parameter(torch.empty(G)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size * self.kernel_size**2)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size * self._hw[0] * self._hw[1],) * (2 if self.gates == 4 else 1)

    def forward(  # type: ignore[override]
        self,
        input: Tensor,
        hx: Tensor | Sequence[Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Tensor, Tensor | State]:
        """input (B, T, C, Hs, Ws) (or (T, B, ...) with ``batch_first=False``) -> output (B, T, D*F, Hs, Ws) and
        the state: (L*D, B, F, Hs, Ws), a tuple ``(h_n, c_n)`` for the ConvLSTM."""
        layout = "(B, T, C, H, W)" if self.batch_first else "(T, B, C, H, W)"
        if not isinstance(input, Tensor) or input.dim() != 5 or input.shape[2] != self.input_size:
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{self._name}: expected input of shape {layout} with C={self.input_size}, got {got}")
        if not input.is_floating_point():
            raise TypeError(f"{self._name}: expected a floating-point input, got dtype {input.dtype}")
        x = input if self.batch_first else input.transpose(0, 1)  # (B, T, C, Hs, Ws)
        B, T, C, Hs, Ws = x.shape
        self._hw = (Hs, Ws)
        LD, n = self.num_layers * self.num_directions, len(self._state_sizes())
        if hx is None:
            states = tuple(x.new_zeros(LD, B, self.hidden_size * Hs * Ws) for _ in range(n))
        else:
            given = (hx,) if isinstance(hx, Tensor) else tuple(hx)
            expected = (LD, B, self.hidden_size, Hs, Ws)
            if len(given) != n or any(not isinstance(h, Tensor) or tuple(h.shape) != expected for h in given):
                shapes = [tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__ for h in given]
                raise ValueError(f"{self._name}: expected hx as {n} tensor(s) of shape {expected}, got {shapes}")
            states = tuple(h.reshape(LD, B, -1) for h in given)
        lens = None if lengths is None else self._check_lengths(lengths, B, T)
        y, states = self._run(x.reshape(B, T, C * Hs * Ws), lens, states)
        y = y.view(B, T, self.num_directions * self.hidden_size, Hs, Ws)
        out = tuple(s.view(LD, B, self.hidden_size, Hs, Ws) for s in states)
        return (y if self.batch_first else y.transpose(0, 1)), (out if n == 2 else out[0])

    def step(self, x_t: Tensor, state: Tensor | Sequence[Tensor] | None = None) -> tuple[Tensor, Tensor | State]:
        """One frame: x_t (B, C, Hs, Ws) -> (y_t (B, F, Hs, Ws), state). Stepping equals running whole."""
        if self.bidirectional:
            raise ValueError(f"{self._name}.step() streams forward in time, so it needs a unidirectional layer")
        if not isinstance(x_t, Tensor) or x_t.dim() != 4:
            got = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
            raise ValueError(f"{self._name}.step(): expected x_t of shape (B, C, H, W), got {got}")
        y, state_out = self.forward(x_t.unsqueeze(1 if self.batch_first else 0), state)
        return y.squeeze(1 if self.batch_first else 0), state_out

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        B, T = x.shape[0], x.shape[1]
        (Hs, Ws), Fh, pad = self._hw, self.hidden_size, self.kernel_size // 2
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        b_ih, b_hh = getattr(self, "bias_ih" + sfx, None), getattr(self, "bias_hh" + sfx, None)
        frames = x.reshape(B * T, -1, Hs, Ws)
        gx = F.conv2d(frames, w_ih, b_ih, padding=pad).view(B, T, -1, Hs, Ws)  # (B, T, G*F, Hs, Ws)
        h = state[0].view(B, Fh, Hs, Ws)
        c = state[1].view(B, Fh, Hs, Ws) if self.gates == 4 else None
        ys = []
        for t in range(T):
            gh = F.conv2d(h, w_hh, b_hh, padding=pad)  # (B, G*F, Hs, Ws)
            if c is not None:
                i, f, g, o = (gx[:, t] + gh).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xr, xz, xn = gx[:, t].chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = n + z * (h - n)
            ys.append(h)
        y = torch.stack(ys, 1).reshape(B, T, -1)  # (B, T, F*Hs*Ws)
        final = (h.reshape(B, -1),) if c is None else (h.reshape(B, -1), c.reshape(B, -1))
        return y, final


class ConvLSTM(_ConvRecurrent):
    """ConvLSTM over (B, T, C, Hs, Ws) (``batch_first=True`` by default, as video tensors come), multi-layer and
    bidirectional, with ``lengths``, ``hx=(h_0, c_0)`` each (L*D, B, F, Hs, Ws), and ``step`` for one frame.

    >>> import torch
    >>> layer = ConvLSTM(3, 8, num_layers=2, kernel_size=3)
    >>> y, (h, c) = layer(torch.randn(2, 4, 3, 16, 16), lengths=[4, 2])
    >>> tuple(y.shape), tuple(c.shape)
    ((2, 4, 8, 16, 16), (2, 2, 8, 16, 16))
    """

    gates = 4


class ConvGRU(_ConvRecurrent):
    """ConvGRU, the GRU counterpart of :class:`ConvLSTM` (the state is one (L*D, B, F, Hs, Ws) tensor).

    >>> import torch
    >>> y, h = ConvGRU(1, 4, bidirectional=True)(torch.randn(2, 3, 1, 8, 8))
    >>> tuple(y.shape), tuple(h.shape)
    ((2, 3, 8, 8, 8), (2, 2, 4, 8, 8))
    """

    gates = 3
