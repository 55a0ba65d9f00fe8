"""rnnkit recurrent layers as ONNX's native ``RNN`` / ``LSTM`` / ``GRU`` operators, for ``torch.onnx.export``.

Why not trace rnnkit's own forward: with ``lengths`` it sorts rows and cuts time at each distinct length in
Python, which a trace freezes to the example's lengths, and the dynamo exporter freezes the time dimension of
such loops (pytorch #191855). ONNX's recurrent operators take ``sequence_lens`` natively, with rnnkit's semantics:
outputs past a row's length are zero, the final state is the state at the row's own last step, and the reverse
direction starts there. So each layer is swapped for :class:`OnnxRecurrent`, whose forward runs the rnnkit layer
(an ``autograd.Function``, so eager results are rnnkit's) and whose ``symbolic`` writes one ONNX operator per
stacked layer, all directions in it, with the weights in ONNX's gate order (:mod:`rnnkit.interop.layout`).

Shapes: T time steps, B batch, I input features, H hidden, L layers, D directions, G gates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.interop.keras_layers import ResetBeforeGRUCell
from rnnkit.interop.layout import torch_to_onnx
from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, Recurrent, RNNCell

_CELL_KINDS: dict[type, str] = {RNNCell: "rnn", LSTMCell: "lstm", GRUCell: "gru", ResetBeforeGRUCell: "gru"}


class NotExportable(ValueError):
    """A model or layer that ONNX's operators cannot express; the message says why."""


def _describe(layer: nn.Module) -> dict[str, Any]:
    """kind, sizes and per-(layer, direction) torch weights of an exportable recurrent layer."""
    name = type(layer).__name__
    if isinstance(layer, (RNN, LSTM, GRU)):
        if isinstance(layer, LSTM) and layer.proj_size > 0:
            raise NotExportable(
                f"LSTM with proj_size={layer.proj_size} cannot be exported: ONNX's LSTM operator has no "
                "projection (its recurrent state is the full hidden size)"
            )
        kind = {RNN: "rnn", LSTM: "lstm", GRU: "gru"}[type(layer)]
        D = 2 if layer.bidirectional else 1
        weights = []
        for k in range(layer.num_layers):
            for d in range(D):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                get = lambda n, sfx=sfx: getattr(layer, n + sfx) if layer.bias or "weight" in n else None  # noqa: E731
                weights.append((get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")))
        act = layer.nonlinearity if isinstance(layer, RNN) else "tanh"
        return {
            "kind": kind,
            "layers": layer.num_layers,
            "D": D,
            "H": layer.hidden_size,
            "weights": weights,
            "activation": act,
            "reset_after": True,
        }
    if isinstance(layer, Recurrent):
        cells = list(layer.cells)
        kinds = {type(c) for c in cells}
        if len(kinds) != 1 or next(iter(kinds)) not in _CELL_KINDS:
            found = ", ".join(sorted(k.__name__ for k in kinds))
            raise NotExportable(
                f"Recurrent of {found} cannot be exported: ONNX has operators for RNNCell, LSTMCell, GRUCell and "
                "ResetBeforeGRUCell (Keras reset_after=False) only; a custom cell has no ONNX equivalent"
            )
        cell = cells[0]
        weights = [(c.weight_ih, c.weight_hh, c.bias_ih, getattr(c, "bias_hh", None)) for c in cells]
        return {
            "kind": _CELL_KINDS[type(cell)],
            "layers": layer.num_layers,
            "D": layer.num_directions,
            "H": cell.hidden_size,
            "weights": weights,
            "activation": getattr(cell, "nonlinearity", "tanh"),
            "reset_after": not isinstance(cell, ResetBeforeGRUCell),
        }
    raise NotExportable(f"{name} is not an rnnkit recurrent layer (RNN, LSTM, GRU or Recurrent)")


def _unused(g: Any) -> Any:
    """A missing optional input of an ONNX node (as torch's own symbolics write it)."""
    n = g.op("prim::Constant")
    n.setType(torch._C.OptionalType.ofTensor())
    return n


class _RecurrentOp(torch.autograd.Function):
    """x (T, B, I), lengths (B,) | None, h0/c0 (L*D, B, H) | None -> y (T, B, D*H), h_n, c_n (LSTM)."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        lengths: Tensor | None,
        h0: Tensor | None,
        c0: Tensor | None,
        module: OnnxRecurrent,
        *weights: Tensor,
    ) -> Any:
        layer = module.layer
        hx: Any = None if h0 is None else ((h0, c0) if module.kind == "lstm" else h0)
        first = layer.batch_first
        jit: Any = torch._C  # private tracer hooks, not in torch's type stubs
        tracing = jit._get_tracing_state()  # run the layer itself untraced: the symbolic stands for it
        jit._set_tracing_state(None)
        try:
            y, state = layer(x.transpose(0, 1) if first else x, hx, lengths=lengths)
        finally:
            jit._set_tracing_state(tracing)
        y = y.transpose(0, 1) if first else y
        return (y, *state) if isinstance(state, tuple) else (y, state)

    @staticmethod
    def symbolic(g: Any, x: Any, lengths: Any, h0: Any, c0: Any, module: OnnxRecurrent, *weights: Any) -> Any:
        kind, L, D, H = module.kind, module.num_layers, module.D, module.H
        op = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
        seq = _unused(g) if lengths is None else g.op("Cast", lengths, to_i=6)  # int32, as ONNX requires
        attrs: dict[str, Any] = {"hidden_size_i": H, "direction_s": "bidirectional" if D == 2 else "forward"}
        if kind == "rnn":
            attrs["activations_s"] = [module.activation.capitalize()] * D
        if kind == "gru":
            attrs["linear_before_reset_i"] = int(module.reset_after)
        finals: list[list[Any]] = [[], []]
        for k in range(L):
            W, R, B = weights[3 * k : 3 * k + 3]
            states = []
            for s in (h0, c0) if kind == "lstm" else (h0,):
                if s is None:
                    states.append(_unused(g))
                else:
                    starts = g.op("Constant", value_t=torch.tensor([k * D]))
                    ends = g.op("Constant", value_t=torch.tensor([(k + 1) * D]))
                    states.append(g.op("Slice", s, starts, ends, g.op("Constant", value_t=torch.tensor([0]))))
            outs = g.op(op, x, W, R, B, seq, *states, outputs=3 if kind == "lstm" else 2, **attrs)
            y = outs[0]  # (T, D, B, H)
            for i, final in enumerate(outs[1:]):
                finals[i].append(final)  # (D, B, H)
            y = g.op("Transpose", y, perm_i=[0, 2, 1, 3])  # (T, B, D, H)
            x = g.op("Reshape", y, g.op("Constant", value_t=torch.tensor([0, 0, -1])))  # (T, B, D*H)
        result = [x] + [g.op("Concat", *f, axis_i=0) if len(f) > 1 else f[0] for f in finals if f]
        return tuple(result)


class OnnxRecurrent(nn.Module):
    """Stands in for an rnnkit recurrent layer during ``torch.onnx.export`` (same call and results, module docstring).

    >>> layer = LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> x = torch.randn(2, 5, 3)
    >>> ours, theirs = OnnxRecurrent(layer)(x, lengths=torch.tensor([5, 2])), layer(x, lengths=[5, 2])
    >>> torch.allclose(ours[0], theirs[0], atol=1e-6) and torch.allclose(ours[1][1], theirs[1][1], atol=1e-6)
    True
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        info = _describe(layer)
        self.layer = layer
        self.kind, self.num_layers, self.D, self.H = info["kind"], info["layers"], info["D"], info["H"]
        self.activation, self.reset_after = info["activation"], info["reset_after"]
        if self.kind == "rnn" and self.activation not in ("tanh", "relu"):
            raise NotExportable(f"RNN nonlinearity {self.activation!r} has no ONNX activation here (tanh, relu)")
        self.batch_first = bool(layer.batch_first)
        for k in range(self.num_layers):
            per_dir = [torch_to_onnx(self.kind, *info["weights"][k * self.D + d]) for d in range(self.D)]
            for name, i in (("W", 0), ("R", 1), ("B", 2)):
                self.register_buffer(f"{name}{k}", torch.stack([p[i] for p in per_dir]), persistent=False)

    def __getattr__(self, name: str) -> Any:
        # Code that reads the layer's attributes (weight_ih_l0, mode, hidden_size) still finds them.
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("layer"), name)

    def forward(
        self, input: Tensor, hx: Tensor | tuple[Tensor, ...] | None = None, lengths: Tensor | list[int] | None = None
    ) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
        if input.dim() != 3:
            raise NotExportable(f"ONNX export needs batched 3-D input, got shape {tuple(input.shape)}")
        x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        if lengths is not None and not isinstance(lengths, Tensor):
            lengths = torch.as_tensor(lengths, device=x.device)
        h0, c0 = (hx if isinstance(hx, tuple) else (hx, None)) if hx is not None else (None, None)
        weights = [getattr(self, f"{n}{k}") for k in range(self.num_layers) for n in "WRB"]
        out = _RecurrentOp.apply(x, lengths, h0, c0, self, *weights)
        y = out[0].transpose(0, 1) if self.batch_first else out[0]
        return y, (tuple(out[1:]) if self.kind == "lstm" else out[1])


def swap_for_export(model: nn.Module) -> nn.Module:
    """``model`` with every rnnkit recurrent layer inside replaced by :class:`OnnxRecurrent` (in place)."""
    if isinstance(model, (RNN, LSTM, GRU, Recurrent)):
        return OnnxRecurrent(model)
    for name, child in list(model.named_children()):
        setattr(model, name, swap_for_export(child))
    return model


def _diff_symbolic(g: Any, x: Any, n: Any, dim: Any, prepend: Any, append: Any) -> Any:
    """``torch.diff`` (n=1, as the sequence classifier's ``diff`` feature uses it) as Slice - Slice; opset 9 has
    no ``aten::diff``."""
    from torch.onnx import symbolic_helper as sh

    order, axis = sh._maybe_get_const(n, "i"), sh._maybe_get_const(dim, "i")
    if order != 1 or not isinstance(axis, int) or not sh._is_none(append):
        raise NotExportable("torch.diff exports with n=1 and no append only")
    if not sh._is_none(prepend):
        x = g.op("Concat", prepend, x, axis_i=axis)

    def part(start: int, end: int) -> Any:
        const = [g.op("Constant", value_t=torch.tensor([v])) for v in (start, end, axis)]
        return g.op("Slice", x, *const)

    big = 2**62
    return g.op("Sub", part(1, big), part(0, -1))


def register_symbolics(opset: int) -> None:
    """Teach the TorchScript exporter the ops rnnkit's models use beyond its built-ins (``torch.diff``)."""
    torch.onnx.register_custom_op_symbolic("aten::diff", _diff_symbolic, opset)
