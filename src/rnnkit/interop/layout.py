"""Gate order and weight layout of Keras, PyTorch and ONNX recurrent layers: every conversion, in one place.

PyTorch (and so rnnkit, see :mod:`rnnkit.nn.cells` for the equations) stacks the gates of ``W_ih`` (G*H, I),
``W_hh`` (G*H, H) and the two biases ``b_ih``, ``b_hh`` (G*H) in this order; Keras and ONNX differ as follows
(H hidden size, I input size, G gates; ``g`` below is torch's name for LSTM's cell gate, Keras' ``c``,
ONNX's ``c``; ``n`` is torch's GRU candidate, Keras' and ONNX's ``h``)::

             torch gates   Keras gates   ONNX gates   Keras weights                       ONNX weights
    RNN      n             n             n            kernel (I, H), recurrent (H, H),    W (D, H, I), R (D, H, H),
                                                      bias (H,)                           B (D, 2H) = [Wb, Rb]
    LSTM     i f g o       i f g o       i o f g      kernel (I, 4H), recurrent (H, 4H),  W (D, 4H, I), R (D, 4H, H),
                                                      bias (4H,) = b_ih + b_hh            B (D, 8H)
    GRU      r z n         z r n         z r n        kernel (I, 3H), recurrent (H, 3H),  W (D, 3H, I), R (D, 3H, H),
                                                      bias (2, 3H) = [b_ih; b_hh]         B (D, 6H), linear_b_r=1

(``linear_b_r``: ONNX GRU's ``linear_before_reset``.) Keras kernels are the transposes of torch's. Keras LSTM and
SimpleRNN have ONE bias, so Keras -> torch puts it in ``b_ih`` with ``b_hh = 0`` and torch -> Keras adds the two
(same function; the split is not recoverable).
Keras ``unit_forget_bias`` only initialises that bias (forget slice = 1), so nothing to convert.

Keras ``GRU(reset_after=False)`` applies the reset gate BEFORE the recurrent matrix and has a single bias (3H,):
``n = tanh(W_in x + b_in + W_hn (r * h))``. torch's GRU cannot express it (it computes ``r * (W_hn h + b_hn)``),
so rnnkit runs it with :class:`rnnkit.interop.keras_layers.ResetBeforeGRUCell` (same weight names, ``b_hh``
absent); ONNX has it as ``GRU(linear_before_reset=0)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

TORCH_GATES = {"rnn": "n", "lstm": "ifgo", "gru": "rzn"}
KERAS_GATES = {"rnn": "n", "lstm": "ifgo", "gru": "zrn"}
ONNX_GATES = {"rnn": "n", "lstm": "iofg", "gru": "zrn"}


def reorder(w: Tensor, src: str, dst: str) -> Tensor:
    """Restack the gate blocks of ``w`` (G*H, ...) from gate order ``src`` to ``dst`` (strings of gate letters).

    >>> reorder(torch.arange(6.0), "rzn", "zrn").tolist()
    [2.0, 3.0, 0.0, 1.0, 4.0, 5.0]
    """
    chunks = w.chunk(len(src), dim=0)
    return torch.cat([chunks[src.index(g)] for g in dst], dim=0)


def keras_to_torch(
    kind: str, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray | None
) -> dict[str, Tensor | None]:
    """Keras cell weights -> torch's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (one layer, one direction).

    ``kind`` is ``"rnn"`` (SimpleRNN), ``"lstm"`` or ``"gru"``; a GRU bias of shape (2, 3H) is ``reset_after=True``
    (input and recurrent rows), (3H,) is ``reset_after=False`` (``bias_hh`` is then None).

    >>> k, r, b = np.ones((3, 8)), np.zeros((2, 8)), np.arange(8.0)
    >>> w = keras_to_torch("lstm", k, r, b)
    >>> tuple(w["weight_ih"].shape), w["bias_hh"].abs().sum().item()
    ((8, 3), 0.0)
    """
    src, dst = KERAS_GATES[kind], TORCH_GATES[kind]

    def t(a: np.ndarray) -> Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float32))

    out: dict[str, Tensor | None] = {
        "weight_ih": reorder(t(kernel).T, src, dst).contiguous(),  # (G*H, I)
        "weight_hh": reorder(t(recurrent).T, src, dst).contiguous(),  # (G*H, H)
        "bias_ih": None,
        "bias_hh": None,
    }
    if bias is not None:
        b = t(bias)
        if b.dim() == 2:  # GRU reset_after: [input bias; recurrent bias]
            out["bias_ih"], out["bias_hh"] = reorder(b[0], src, dst), reorder(b[1], src, dst)
        else:
            out["bias_ih"] = reorder(b, src, dst)
            out["bias_hh"] = None if kind == "gru" else torch.zeros_like(b)
    return out


def torch_to_keras(
    kind: str, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None, bias_hh: Tensor | None
) -> list[np.ndarray]:
    """torch weights (one layer, one direction) -> Keras ``[kernel, recurrent_kernel(, bias)]`` for ``set_weights``.

    GRU gives the (2, 3H) bias of ``reset_after=True``; LSTM and RNN add the two biases into Keras' one.

    >>> w = torch_to_keras("gru", torch.zeros(6, 4), torch.zeros(6, 2), torch.arange(6.0), torch.ones(6))
    >>> [a.shape for a in w], w[2][0].tolist()
    ([(4, 6), (2, 6), (2, 6)], [2.0, 3.0, 0.0, 1.0, 4.0, 5.0])
    """
    src, dst = TORCH_GATES[kind], KERAS_GATES[kind]

    def n(x: Tensor) -> np.ndarray:
        return reorder(x.detach().float().cpu(), src, dst).numpy()

    out = [n(weight_ih).T.copy(), n(weight_hh).T.copy()]
    if bias_ih is not None:
        if kind == "gru":
            if bias_hh is None:  # reset_before cell: one bias row
                out.append(n(bias_ih))
            else:
                out.append(np.stack([n(bias_ih), n(bias_hh)]))
        else:
            out.append(n(bias_ih) + (n(bias_hh) if bias_hh is not None else 0.0))
    return out


def torch_to_onnx(
    kind: str, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None, bias_hh: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """torch weights (one layer, one direction) -> ONNX ``W`` (G*H, I), ``R`` (G*H, H), ``B`` (2*G*H) of the
    ``RNN``/``LSTM``/``GRU`` operators (stack directions on a new first axis). Missing biases become zeros.

    >>> W, R, B = torch_to_onnx("lstm", torch.zeros(8, 3), torch.zeros(8, 2), None, None)
    >>> tuple(W.shape), tuple(R.shape), tuple(B.shape)
    ((8, 3), (8, 2), (16,))
    """
    src, dst = TORCH_GATES[kind], ONNX_GATES[kind]
    w = weight_ih.detach()
    zeros = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
    wb = zeros if bias_ih is None else bias_ih.detach()
    rb = zeros if bias_hh is None else bias_hh.detach()
    return (
        reorder(w, src, dst),
        reorder(weight_hh.detach(), src, dst),
        torch.cat([reorder(wb, src, dst), reorder(rb, src, dst)]),
    )
