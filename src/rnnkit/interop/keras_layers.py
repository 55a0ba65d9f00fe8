"""The torch side of a Keras model: one small module per Keras layer, chained by :class:`KerasSequence`.

Keras passes a boolean mask (B, T) along with the tensor; rnnkit runs masks as ``lengths``, which is exact for
right-padded masks (padding at the end, every row with at least one valid step). Each block below reproduces what
Keras computes, padding included:

- a masked Keras RNN keeps its state through padded steps, so its final state is the state at each row's last
  valid step: rnnkit's ``h_n`` with ``lengths``;
- with ``return_sequences`` Keras repeats the last valid output over the padding (``zero_output_for_mask=False``,
  the default) or writes zeros (inside ``Bidirectional``, or ``zero_output_for_mask=True``);
- ``go_backwards`` runs the WHOLE padded sequence reversed, so the padding comes first (state unchanged, output
  zero) and the outputs come back in processing order: rnnkit's reverse direction (which starts at each row's own
  last step) then flipped in time.

Shapes: B batch, T time steps, F features, H units.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Self

from rnnkit.nn import GRU, LSTM, RNN, Recurrent
from rnnkit.nn.base import reverse_padded
from rnnkit.train import SavableModel, register_model

Output = Tensor | tuple[Tensor, ...]

ACTIVATIONS: dict[str, Any] = {
    "linear": lambda x: x,
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "softplus": F.softplus,
    "elu": F.elu,
    "selu": F.selu,
    "silu": F.silu,
    "swish": F.silu,
    "exponential": torch.exp,
}


class ResetBeforeGRUCell(nn.Module):
    """Keras' ``GRU(reset_after=False)`` cell (the reset gate multiplies ``h`` before the recurrent matrix):

        r = sigmoid(W_ir x + b_ir + W_hr h)        W_ih = [W_ir; W_iz; W_in] (3H, I), torch's gate order
        z = sigmoid(W_iz x + b_iz + W_hz h)        W_hh = [W_hr; W_hz; W_hn] (3H, H)
        n = tanh(W_in x + b_in + W_hn (r * h))     one bias b_ih (3H); there is no b_hh
        h' = (1 - z) * n + z * h

    It follows the :class:`rnnkit.nn.Cell` protocol, so :class:`rnnkit.nn.Recurrent` runs it (stacks, both
    directions, lengths).

    >>> cell = ResetBeforeGRUCell(3, 4)
    >>> layer = Recurrent(cell, bidirectional=True, batch_first=True)
    >>> tuple(layer(torch.randn(2, 5, 3), lengths=[5, 2])[0].shape)
    (2, 5, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        k = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-k, k))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k)) if bias else None

    def clone(self, input_size: int) -> Self:
        return type(self)(input_size, self.hidden_size, self.bias_ih is not None)

    def initial_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        return self._step(F.linear(x, self.weight_ih, self.bias_ih), state[0])

    def _step(self, gi: Tensor, h: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        H = self.hidden_size
        i_r, i_z, i_n = gi.chunk(3, dim=1)  # (B, H) each
        h_r, h_z = F.linear(h, self.weight_hh[: 2 * H]).chunk(2, dim=1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + F.linear(r * h, self.weight_hh[2 * H :]))
        h = (1 - z) * n + z * h  # (B, H)
        return h, (h,)

    def scan(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """x (B, T, I) -> y (B, T, H): the input projection once for all steps, then the step loop."""
        gi = F.linear(x, self.weight_ih, self.bias_ih)  # (B, T, 3H)
        ys = []
        for t in range(x.shape[1]):
            y, state = self._step(gi[:, t], state[0])
            ys.append(y)
        return torch.stack(ys, dim=1), state


def mask_to_lengths(mask: Tensor) -> Tensor:
    """A right-padded Keras mask (B, T) -> lengths (B,); raises for masks that lengths cannot express.

    >>> mask_to_lengths(torch.tensor([[True, True, False], [True, False, False]])).tolist()
    [2, 1]
    """
    lengths = mask.sum(dim=1)
    if torch.jit.is_tracing():
        return lengths
    expected = torch.arange(mask.shape[1], device=mask.device)[None] < lengths[:, None]
    if not torch.equal(expected, mask.bool()):
        row = int((expected != mask.bool()).any(dim=1).nonzero()[0, 0])
        raise ValueError(
            f"the Keras mask of row {row} has a valid step after a masked one; rnnkit runs masks as lengths, "
            "so padding must come at the end of each sequence (right-padded)"
        )
    if int(lengths.min()) < 1:
        row = int((lengths < 1).nonzero()[0, 0])
        raise ValueError(f"row {row} is masked at every step; expected at least one valid step per sequence")
    return lengths


class RecurrentBlock(nn.Module):
    """A Keras SimpleRNN / LSTM / GRU, optionally inside ``Bidirectional``, as one rnnkit layer (``self.rnn``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        kind, n_in, units = spec["cell"], spec["input_size"], spec["units"]
        common: dict[str, Any] = {"batch_first": True, "bidirectional": spec["bidirectional"]}
        self.rnn: nn.Module
        if kind == "gru_reset_before":
            self.rnn = Recurrent(ResetBeforeGRUCell(n_in, units, spec["bias"]), **common)
        elif kind == "rnn":
            self.rnn = RNN(n_in, units, nonlinearity=spec["nonlinearity"], bias=spec["bias"], **common)
        else:
            self.rnn = {"lstm": LSTM, "gru": GRU}[kind](n_in, units, bias=spec["bias"], **common)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Output, Tensor | None]:
        s = self.spec
        lengths = None if mask is None else mask_to_lengths(mask)
        if s["bidirectional"]:
            y, state = self.rnn(x, lengths=lengths)  # y (B, T, 2H), state (2, B, H) each
            states = state if isinstance(state, tuple) else (state,)
            if s["return_sequences"]:
                fwd, bwd = y.split(s["units"], dim=-1)  # both in input time order, zero past each length
            else:
                fwd, bwd = states[0][0], states[0][1]  # (B, H)
            finals = [h[0] for h in states] + [h[1] for h in states]
            merge = s["merge_mode"]
            out: Output
            if merge is None:
                out = (fwd, bwd)
            else:
                out = {
                    "concat": lambda: torch.cat([fwd, bwd], dim=-1),
                    "sum": lambda: fwd + bwd,
                    "ave": lambda: (fwd + bwd) / 2,
                    "mul": lambda: fwd * bwd,
                }[merge]()
        else:
            back = s["go_backwards"]
            y, state = self.rnn(reverse_padded(x, lengths) if back else x, lengths=lengths)  # (B, T, H)
            states = state if isinstance(state, tuple) else (state,)
            finals = [h[0] for h in states]  # (B, H) each
            if not s["return_sequences"]:
                out = finals[0]
            elif back:
                out = reverse_padded(y, lengths).flip(1)  # Keras' processing order: padding first
            elif lengths is not None and not s["zero_output_for_mask"]:
                last = (torch.arange(x.shape[1], device=x.device)[None] < lengths[:, None] - 1).logical_not()
                index = torch.where(last, lengths[:, None] - 1, torch.arange(x.shape[1], device=x.device)[None])
                out = y.gather(1, index.unsqueeze(-1).expand(-1, -1, y.shape[-1]))  # padding repeats the last
            else:
                out = y
        if s["return_state"]:
            out = (*(out if isinstance(out, tuple) else (out,)), *finals)
        return out, (mask if s["return_sequences"] else None)


class DenseBlock(nn.Module):
    """Keras Dense (or TimeDistributed(Dense)): Linear on the last axis, then the activation; the mask passes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.linear = nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
        self.activation = ACTIVATIONS[spec["activation"]]

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Output, Tensor | None]:
        return self.activation(self.linear(x)), mask


class EmbeddingBlock(nn.Module):
    """Keras Embedding: ids (B, T) -> (B, T, E); with ``mask_zero`` id 0 is padding (mask False)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.embedding = nn.Embedding(spec["num_embeddings"], spec["embedding_dim"])

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Output, Tensor | None]:
        return self.embedding(x.long()), (x != 0 if self.spec["mask_zero"] else mask)


class MaskingBlock(nn.Module):
    """Keras Masking: a step whose features all equal ``mask_value`` is padding, and is zeroed."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Output, Tensor | None]:
        keep = (x != self.spec["mask_value"]).any(dim=-1)  # (B, T)
        return x * keep.unsqueeze(-1).to(x.dtype), keep


class DropoutBlock(nn.Module):
    """Keras Dropout: identity at inference (eval mode); ``torch.nn.Dropout`` with the same rate in training."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.dropout = nn.Dropout(spec["rate"])

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Output, Tensor | None]:
        return self.dropout(x), mask


BLOCKS: dict[str, type[nn.Module]] = {
    "recurrent": RecurrentBlock,
    "dense": DenseBlock,
    "embedding": EmbeddingBlock,
    "masking": MaskingBlock,
    "dropout": DropoutBlock,
}


@register_model("interop.keras_sequence")
class KerasSequence(SavableModel, nn.Module):
    """A chain of Keras layers as rnnkit/torch modules (what :func:`rnnkit.interop.from_keras` returns).

    Args:
        layers: one spec dict per layer (``{"type": "recurrent" | "dense" | "embedding" | "masking" | "dropout",
            ...}``), JSON-able, so the model saves as ``config.json`` + ``model.safetensors`` like every rnnkit model.

    ``forward(x)`` takes what the Keras model takes, batch first: features (B, T, F) or token ids (B, T), and
    returns what it returns (a tuple where the Keras model has several outputs, e.g. ``return_state``).

    >>> spec = {"type": "recurrent", "cell": "lstm", "input_size": 3, "units": 4, "bias": True,
    ...         "bidirectional": False, "merge_mode": None, "return_sequences": False, "return_state": False,
    ...         "go_backwards": False, "zero_output_for_mask": False}
    >>> model = KerasSequence([{"type": "masking", "mask_value": 0.0}, spec])
    >>> tuple(model(torch.randn(2, 5, 3)).shape)
    (2, 4)
    """

    def __init__(self, layers: list[dict[str, Any]]) -> None:
        super().__init__()
        unknown = [s.get("type") for s in layers if s.get("type") not in BLOCKS]
        if unknown:
            raise ValueError(f"KerasSequence: unknown layer types {unknown}; expected {sorted(BLOCKS)}")
        self.specs = [dict(s) for s in layers]
        self.blocks = nn.ModuleList(BLOCKS[s["type"]](s) for s in self.specs)

    def model_config(self) -> dict[str, Any]:
        return {"layers": self.specs}

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> KerasSequence:
        return cls(config["layers"])

    def forward(self, x: Tensor) -> Output:
        out: Output = x
        mask: Tensor | None = None
        for block in self.blocks:
            assert isinstance(out, Tensor)  # only the last block may return several tensors (checked on import)
            out, mask = block(out, mask)
        return out
