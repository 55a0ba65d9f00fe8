"""One layer registry: a cell NAME (or a cell object/class) -> a recurrent layer, for every application and ``--cell``.

``make_layer("ln_lstm", 64, 256, num_layers=2)`` builds the same layer as ``LSTM(64, 256, 2, layer_norm=True)``;
``make_layer(MyCell(64, 256), 64, 256)`` wraps a user's cell (the :class:`~rnnkit.nn.cells.Cell` protocol) in
:class:`~rnnkit.nn.Recurrent`. A cell added to ``rnnkit.nn`` is registered here once and is then available by
name everywhere (issue 13: one registry instead of a ``CELLS`` dict per application).

A factory takes ``(input_size, hidden_size, *, num_layers, bidirectional, batch_first, dropout, **options)`` and
returns an ``nn.Module`` that is called as ``layer(x, hx=None, lengths=None) -> (y, h_n)`` and has ``step``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from torch import nn

from rnnkit.nn.base import RecurrentBase
from rnnkit.nn.cells import Cell
from rnnkit.nn.recurrent import Recurrent

LayerFactory = Callable[..., nn.Module]

_REGISTRY: dict[str, tuple[LayerFactory, str]] = {}


def register_cell(name: str, factory: LayerFactory, description: str = "", *, overwrite: bool = False) -> None:
    """Make ``make_layer(name, ...)`` build ``factory(input_size, hidden_size, num_layers=..., ..., **options)``.

    >>> import rnnkit.nn as rnn
    >>> register_cell("wide_gru", lambda i, h, **kw: rnn.GRU(i, 2 * h, **kw), "a GRU with twice the units")
    >>> "wide_gru" in cell_names()
    True
    >>> unregister_cell("wide_gru")
    """
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"register_cell: expected a lower-case identifier as the name, got {name!r}")
    if not callable(factory):
        raise TypeError(f"register_cell: expected a callable factory for {name!r}, got {type(factory).__name__}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"register_cell: {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = (factory, description)


def unregister_cell(name: str) -> None:
    """Remove a name :func:`register_cell` added (e.g. at the end of an experiment or a test).

    >>> register_cell("tmp_gru", lambda i, h, **kw: None)
    >>> unregister_cell("tmp_gru"); "tmp_gru" in cell_names()
    False
    """
    if name not in _REGISTRY:
        raise ValueError(f"unregister_cell: {name!r} is not registered; registered: {', '.join(_REGISTRY)}")
    del _REGISTRY[name]


def cell_names() -> tuple[str, ...]:
    """The registered names, in registration order (the built-in ones first).

    >>> cell_names()[:3]
    ('rnn', 'lstm', 'gru')
    """
    return tuple(_REGISTRY)


def sequence_cell_names() -> tuple[str, ...]:
    """The registered cells that run over (B, T, I) vector sequences: every name but the convolutional ones
    (``conv_*``, over image sequences). These are the ``--cell`` choices of the sequence applications.

    >>> "ln_lstm" in sequence_cell_names() and "conv_lstm" not in sequence_cell_names()
    True
    """
    return tuple(name for name in _REGISTRY if not name.startswith("conv_"))


def describe_cells() -> dict[str, str]:
    """name -> one-line description, for ``--help`` texts and docs.

    >>> describe_cells()["lstm"]
    'torch.nn.LSTM drop-in (fused kernel)'
    """
    return {name: desc for name, (_, desc) in _REGISTRY.items()}


def make_layer(
    cell: str | Cell | type,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    **options: Any,
) -> nn.Module:
    """Build a recurrent layer from a registered name, a cell object or a cell/layer class.

    - a name from :func:`cell_names` (``"lstm"``, ``"ln_lstm"``, ``"mingru"``, ...); ``options`` go to its
      factory (e.g. ``recurrent_dropout=0.25``);
    - a cell object following the :class:`~rnnkit.nn.cells.Cell` protocol: wrapped in :class:`Recurrent`
      (its sizes must match ``input_size``/``hidden_size``); stacked layers come from ``cell.clone`` or
      ``options["make_cell"]``;
    - a layer class (a :class:`~rnnkit.nn.RecurrentBase` subclass): ``cls(input_size, hidden_size, ...)``;
    - a cell class: ``cls(input_size, hidden_size, **options)`` wrapped in :class:`Recurrent`.

    >>> import torch
    >>> layer = make_layer("lstm", 3, 8, num_layers=2, batch_first=True)
    >>> y, (h, c) = layer(torch.randn(2, 5, 3), lengths=[5, 3])
    >>> tuple(y.shape), tuple(h.shape)
    ((2, 5, 8), (2, 2, 8))
    """
    shape: dict[str, Any] = dict(
        num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dropout=dropout
    )
    if isinstance(cell, str):
        if cell not in _REGISTRY:
            raise ValueError(f"make_layer: unknown cell {cell!r}; expected one of {', '.join(_REGISTRY)}")
        factory, _ = _REGISTRY[cell]
        return factory(input_size, hidden_size, **shape, **options)
    if isinstance(cell, type):
        if issubclass(cell, RecurrentBase):
            return cell(input_size, hidden_size, **shape, **options)
        if issubclass(cell, nn.Module):
            make_cell = options.pop("make_cell", None)
            first = cast(Cell, cell(input_size, hidden_size, **options))
            if make_cell is None and not hasattr(first, "clone"):

                def make_cell(n: int) -> Cell:
                    return cast(Cell, cell(n, hidden_size, **options))

            return Recurrent(first, make_cell=make_cell, **shape)
        raise TypeError(f"make_layer: expected a cell name, a cell or a layer class, got the class {cell.__name__}")
    if isinstance(cell, nn.Module) and isinstance(cell, Cell):
        if cell.input_size != input_size or cell.output_size != hidden_size:
            raise ValueError(
                f"make_layer: the {type(cell).__name__} has input_size={cell.input_size} and "
                f"output_size={cell.output_size}, but the layer asks for {input_size} and {hidden_size}"
            )
        allowed = set(inspect.signature(Recurrent).parameters) - {"cell", *shape}
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(
                f"make_layer: a cell object takes no options besides {sorted(allowed)}, got {sorted(unknown)}"
            )
        return Recurrent(cell, **shape, **options)
    raise TypeError(
        "make_layer: expected a registered cell name, a Cell object (input_size, output_size, initial_state, step) "
        f"or a cell/layer class, got {type(cell).__name__}"
    )


def _register_builtins() -> None:
    from rnnkit.nn.conv import ConvGRU, ConvLSTM
    from rnnkit.nn.indrnn import IndRNN
    from rnnkit.nn.layers import GRU, LSTM, RNN
    from rnnkit.nn.minimal import MinGRU, MinLSTM

    register_cell("rnn", RNN, "torch.nn.RNN drop-in (fused kernel)")
    register_cell("lstm", LSTM, "torch.nn.LSTM drop-in (fused kernel)")
    register_cell("gru", GRU, "torch.nn.GRU drop-in (fused kernel)")
    register_cell("ln_lstm", partial(LSTM, layer_norm=True), "layer-norm LSTM (Ba et al. 2016)")
    register_cell("ln_gru", partial(GRU, layer_norm=True), "layer-norm GRU (Ba et al. 2016)")
    register_cell("peephole_lstm", partial(LSTM, peephole=True), "LSTM with peepholes (Gers & Schmidhuber 2000)")
    register_cell("conv_lstm", ConvLSTM, "ConvLSTM (Shi et al. 2015) over (B, T, C, H, W); sizes are channels")
    register_cell("conv_gru", ConvGRU, "ConvGRU over (B, T, C, H, W); sizes are channels")
    register_cell("indrnn", IndRNN, "IndRNN (Li et al. 2018), a vector recurrent weight per unit")
    register_cell("mingru", MinGRU, "minGRU (Feng et al. 2024), gates from x only, trained as a scan over time")
    register_cell("minlstm", MinLSTM, "minLSTM (Feng et al. 2024), gates from x only, trained as a scan over time")


_register_builtins()
