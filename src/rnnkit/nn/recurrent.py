"""``Recurrent``: run any cell (a stock one or your own) as a multi-layer, bidirectional, variable-length layer.

It shares the whole time loop with the fused layers (:mod:`rnnkit.nn.base`); only ``_scan`` differs: a cell's
``scan`` fast path when it has one, else ``step`` once per time step.

Shapes: see :mod:`rnnkit.nn.cells`.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from rnnkit.nn.base import RecurrentBase, State
from rnnkit.nn.cells import Cell


class Recurrent(RecurrentBase):
    """A recurrent layer built from a cell following the :class:`~rnnkit.nn.cells.Cell` protocol.

    Args:
        cell: the layer-0, forward-direction cell. The other layers and the reverse direction get fresh copies:
            ``cell.clone(input_size)`` when the cell has it (stock cells do), else ``make_cell(input_size)``,
            else a deep copy with ``reset_parameters()`` when the input size matches.
        num_layers, bidirectional, batch_first, dropout: as in ``torch.nn.LSTM``.
        make_cell: builds a cell for a given input size; needed to stack a custom cell without ``clone``
            whose input size differs from ``D * output_size``.

    The state has one (L*D, B, *) tensor per tensor of the cell's state: ``h_n`` is a Tensor for a one-tensor
    state (RNN, GRU) and a tuple otherwise (``(h_n, c_n)`` for an LSTM cell), as in ``torch.nn``.

    >>> import torch
    >>> from rnnkit.nn import LSTMCell
    >>> layer = Recurrent(LSTMCell(3, 4), num_layers=2, bidirectional=True, batch_first=True)
    >>> y, (h, c) = layer(torch.randn(2, 5, 3), lengths=[5, 2])
    >>> tuple(y.shape), tuple(h.shape)
    ((2, 5, 8), (4, 2, 4))
    """

    def __init__(
        self,
        cell: Cell,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        make_cell: Callable[[int], Cell] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(cell, nn.Module) or not isinstance(cell, Cell):
            raise TypeError(
                "Recurrent: expected a cell module with input_size, output_size, initial_state() and step() "
                f"(see rnnkit.nn.cells.Cell), got {type(cell).__name__}"
            )
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
            raise ValueError(f"Recurrent: expected num_layers to be an int >= 1, got {num_layers!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Recurrent: expected dropout in [0, 1), got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("Recurrent: dropout acts between layers, so it does nothing with num_layers=1", stacklevel=2)
        self.input_size = cell.input_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.batch_first = batch_first
        self.dropout = float(dropout)
        D = self.num_directions
        cells: list[nn.Module] = []
        for layer in range(num_layers):
            size = cell.input_size if layer == 0 else D * cell.output_size
            for d in range(D):
                cells.append(cell if layer == 0 and d == 0 else _fresh(cell, size, make_cell))  # type: ignore[arg-type]
        self.cells = nn.ModuleList(cells)
        probe = cell.initial_state(1, torch.device("cpu"), torch.float32)
        self._sizes = tuple(int(s.shape[-1]) for s in probe)
        for c in cells:
            probe = cast(Cell, c).initial_state(1, torch.device("cpu"), torch.float32)
            sizes = tuple(int(s.shape[-1]) for s in probe)
            if sizes != self._sizes:
                raise ValueError(f"Recurrent: every cell must have the state sizes {self._sizes}, got {sizes}")

    def _state_sizes(self) -> tuple[int, ...]:
        return self._sizes

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        cell = cast(Cell, self.cells[layer * self.num_directions + direction])
        scan = getattr(cell, "scan", None)
        if scan is not None:
            return scan(x, state)
        ys = []
        for t in range(x.shape[1]):
            y, state = cell.step(x[:, t], state)  # (B, O)
            ys.append(y)
        return torch.stack(ys, dim=1), state  # (B, T, O)


def _fresh(cell: Cell, input_size: int, make_cell: Callable[[int], Cell] | None) -> Cell:
    clone = getattr(cell, "clone", None)
    if clone is not None:
        return clone(input_size)
    if make_cell is not None:
        return make_cell(input_size)
    if input_size != cell.input_size:
        raise ValueError(
            f"Recurrent: a stacked layer needs a {type(cell).__name__} with input_size={input_size}, but the given "
            f"cell has input_size={cell.input_size} and no clone(input_size) method; pass make_cell="
            f"lambda n: {type(cell).__name__}(n, ...)"
        )
    new = copy.deepcopy(cell)
    reset = getattr(new, "reset_parameters", None)
    if reset is not None:
        reset()
    return new
