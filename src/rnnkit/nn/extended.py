"""The extension keywords of :class:`~rnnkit.nn.LSTM`, :class:`~rnnkit.nn.GRU` and :class:`~rnnkit.nn.RNN`
(issue 16): ``layer_norm``, ``peephole``, ``recurrent_dropout``, ``zoneout``.

With none of them set a layer is the exact fused ``torch.nn`` drop-in. With any set, it runs the shared time loop
of :mod:`rnnkit.nn.base` (lengths, directions, stacking), one layer and direction at a time: the input projection
for all steps is one matrix product, and the recurrence is one autograd function with a hand-written backward
(:mod:`rnnkit.nn.lstm_seq`, :mod:`rnnkit.nn.gru_seq`); the LSTM's loop runs compiled on CPU
(:mod:`rnnkit.nn.native`). ``reference=True`` on the layer swaps that function for the plain autograd loop (for
tests).

- ``recurrent_dropout=p``: one keep mask (B, H) per sequence and layer/direction, scaled by 1/(1-p), on the state
  that enters the recurrent matrix product (Gal & Ghahramani 2016; Keras' ``recurrent_dropout``). In eval mode
  it does nothing, and a layer with only this option then runs the fused kernel. (``step()`` in training mode
  is one call per step, so it draws a new mask each step; train with whole sequences.)
- ``zoneout=p`` (LSTM, GRU): each unit of h (and of c) keeps its previous value with probability p, a fresh mask
  per step (Krueger et al. 2016). In eval mode the expectation is used, ``h' = p h + (1 - p) h~``, as in the paper
  and its reference code; so a zoneout layer is not the plain LSTM in eval, unlike recurrent dropout.
- ``layer_norm=True`` (LSTM, GRU): layer norm of the input part and of the recurrent part of the gate
  pre-activations separately, each with a gain (``weight_ln_ih``, ``weight_ln_hh``; the biases are torch's
  ``bias_ih``/``bias_hh``), and for the LSTM of the cell before its tanh (``weight_ln_c``, ``bias_ln_c``)
  (Ba et al. 2016, section 3.1).
- ``peephole=True`` (LSTM): ``weight_peephole`` (3H,) = p_i, p_f, p_o (Gers & Schmidhuber 2000).

Parameter names follow torch's scheme: ``weight_ln_ih_l0``, ``weight_peephole_l1_reverse``, ...
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.base import State
from rnnkit.nn.dropout import keep_mask
from rnnkit.nn.gru_seq import GRUSequence, gru_reference
from rnnkit.nn.lstm_seq import EPS, LSTMSequence, lstm_reference

ALLOWED = {
    "LSTM": ("layer_norm", "peephole", "recurrent_dropout", "zoneout"),
    "GRU": ("layer_norm", "recurrent_dropout", "zoneout"),
    "RNN_TANH": ("recurrent_dropout",),
    "RNN_RELU": ("recurrent_dropout",),
}


class Extensions:
    """Mixin for the fused layers (``rnnkit.nn.layers._Fused``); it relies on their torch.nn attributes."""

    mode: str
    hidden_size: int
    proj_size: int
    num_layers: int
    bias: bool
    training: bool
    layer_norm: bool
    peephole: bool
    recurrent_dropout: float
    zoneout: float
    reference: bool
    _masks: dict[tuple[int, int], Tensor] | None

    def _init_extensions(self, layer_norm: bool, peephole: bool, recurrent_dropout: float, zoneout: float) -> None:
        name = type(self).__name__
        given = {
            "layer_norm": layer_norm,
            "peephole": peephole,
            "recurrent_dropout": recurrent_dropout,
            "zoneout": zoneout,
        }
        for key, value in given.items():
            if value and key not in ALLOWED[self.mode]:
                kinds = " and ".join(k for k, v in (("LSTM", "LSTM"), ("GRU", "GRU")) if key in ALLOWED[v])
                raise ValueError(f"{name}: {key} is an option of {kinds}, not {name}; got {key}={value!r}")
        for key in ("recurrent_dropout", "zoneout"):
            p = given[key]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
                raise ValueError(f"{name}: expected {key} to be a probability in [0, 1), got {p!r}")
        if any(given.values()) and self.proj_size > 0:
            raise ValueError(f"{name}: proj_size cannot be combined with {', '.join(k for k, v in given.items() if v)}")
        self.layer_norm, self.peephole = bool(layer_norm), bool(peephole)
        self.recurrent_dropout, self.zoneout = float(recurrent_dropout), float(zoneout)
        self.reference = False  # run the plain autograd loop instead of the fused sequence function (tests)
        self._masks = None
        module = cast(nn.Module, self)
        gates = {"LSTM": 4, "GRU": 3}.get(self.mode, 1) * self.hidden_size
        like = next(module.parameters())
        for sfx in self._suffixes():
            if layer_norm:
                module.register_parameter("weight_ln_ih" + sfx, nn.Parameter(like.new_ones(gates)))
                module.register_parameter("weight_ln_hh" + sfx, nn.Parameter(like.new_ones(gates)))
                if self.mode == "LSTM":
                    module.register_parameter("weight_ln_c" + sfx, nn.Parameter(like.new_ones(self.hidden_size)))
                    module.register_parameter("bias_ln_c" + sfx, nn.Parameter(like.new_zeros(self.hidden_size)))
            if peephole:
                module.register_parameter("weight_peephole" + sfx, nn.Parameter(like.new_zeros(3 * self.hidden_size)))
        self._reset_extensions()

    def _suffixes(self) -> list[str]:
        D = 2 if cast(Any, self).bidirectional else 1
        return [f"_l{k}" + ("_reverse" if d else "") for k in range(self.num_layers) for d in range(D)]

    def _reset_extensions(self) -> None:
        """Layer-norm gains 1 and biases 0 (torch's reset_parameters sets every parameter uniform)."""
        module = cast(nn.Module, self)
        bound = 1.0 / self.hidden_size**0.5
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.startswith("weight_ln_"):
                    p.fill_(1.0)
                elif name.startswith("bias_ln_"):
                    p.zero_()
                elif name.startswith("weight_peephole"):
                    p.uniform_(-bound, bound)

    @property
    def extended(self) -> bool:
        """True when this call runs the extended path (recurrent dropout alone is a no-op in eval mode)."""
        return bool(self.layer_norm or self.peephole or self.zoneout or (self.recurrent_dropout and self.training))

    def _extension_repr(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in ALLOWED[self.mode] if getattr(self, k)]
        return "".join(", " + p for p in parts)

    def _draw_masks(self, batch: int, like: Tensor) -> None:
        """One recurrent-dropout mask per sequence, layer and direction, for this forward call."""
        p = self.recurrent_dropout
        if not (p and self.training):
            self._masks = None
            return
        D = 2 if cast(Any, self).bidirectional else 1
        self._masks = {
            (k, d): keep_mask((batch, self.hidden_size), p, like.device).to(like.dtype).mul_(1.0 / (1.0 - p))
            for k in range(self.num_layers)
            for d in range(D)
        }

    def _extended_scan(self, layer: int, direction: int, weights: list[Tensor], x: Tensor, state: State) -> tuple:
        """One layer and direction: x (B, T, I) -> y (B, T, H), state."""
        module = cast(nn.Module, self)
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        B, T = x.shape[0], x.shape[1]
        H, G = self.hidden_size, w_ih.shape[0]
        # The input part for all steps, time-major (T, B, G), in as few full-size operations as possible (each
        # is a fresh (T, B, G) buffer). An LSTM's recurrent bias adds after the recurrent part's layer norm, so
        # it folds in here too; a GRU's cannot (the reset gate multiplies b_hn).
        bias = b_ih if (self.mode != "LSTM" or b_ih is None or b_hh is None) else b_ih + b_hh
        if self.layer_norm:
            gx = F.layer_norm(F.linear(x.transpose(0, 1), w_ih), (G,), getattr(module, "weight_ln_ih" + sfx), bias, EPS)
        else:
            gx = F.linear(x.transpose(0, 1), w_ih, bias)
        mask = None if self._masks is None else self._masks[(layer, direction)][:B]
        zones = None
        if self.zoneout:
            n = 2 if self.mode == "LSTM" else 1
            if self.training:  # 1 = keep the previous value
                zones = (~keep_mask((n, T, B, H), self.zoneout, x.device)).to(x.dtype)
            else:
                zones = x.new_full((1, 1, 1, 1), self.zoneout).expand(n, T, B, H)
        ln_hh = getattr(module, "weight_ln_hh" + sfx) if self.layer_norm else None
        if self.mode == "LSTM":
            ln_c = (
                (getattr(module, "weight_ln_c" + sfx), getattr(module, "bias_ln_c" + sfx)) if self.layer_norm else None
            )
            peep = getattr(module, "weight_peephole" + sfx) if self.peephole else None
            if self.reference:
                y, h, c = lstm_reference(gx, state[0], state[1], w_hh, ln_hh, ln_c, peep, mask, zones=zones)
            else:
                ln_c_w, ln_c_b = ln_c if ln_c is not None else (None, None)
                y, h, c = LSTMSequence.apply(gx, state[0], state[1], w_hh, ln_hh, ln_c_w, ln_c_b, peep, mask, zones)
            return y.transpose(0, 1), (h, c)
        if self.mode == "GRU":
            z = None if zones is None else zones[0]
            if self.reference:
                y, h = gru_reference(gx, state[0], w_hh, b_hh, ln_hh, mask, zones=z)
            else:
                y, h = GRUSequence.apply(gx, state[0], w_hh, b_hh, ln_hh, mask, z)
            return y.transpose(0, 1), (h,)
        # RNN with recurrent dropout: a plain autograd loop (no fused function; RNN layers are small).
        act = torch.tanh if self.mode == "RNN_TANH" else torch.relu
        h, ys = state[0], []
        for t in range(T):
            a = F.linear(h if mask is None else h * mask, w_hh, b_hh)
            h = act(gx[t] + a)
            ys.append(h)
        return torch.stack(ys, 1), (h,)
