"""rnnkit.nn: recurrent cells and layers. Exact drop-ins for torch.nn, plus variable lengths, streaming ``step``
and a generic :class:`Recurrent` layer that runs any cell; :class:`Dropout`, torch.nn.Dropout with a mask drawn
faster on CPU. Beyond torch.nn (issue 16): ``layer_norm``, ``peephole``, ``recurrent_dropout`` and ``zoneout``
keywords of LSTM/GRU/RNN, :class:`IndRNN`, :class:`MinGRU`/:class:`MinLSTM`, :class:`ConvLSTM`/:class:`ConvGRU`,
and one layer registry (:func:`make_layer`). Imports nothing from the rest of rnnkit."""

from rnnkit.nn.base import RecurrentBase
from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, RNNCell
from rnnkit.nn.conv import ConvGRU, ConvLSTM
from rnnkit.nn.dropout import Dropout, dropout
from rnnkit.nn.ext_cells import ExtendedGRUCell, ExtendedLSTMCell
from rnnkit.nn.indrnn import IndRNN
from rnnkit.nn.layers import GRU, LSTM, RNN
from rnnkit.nn.minimal import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.registry import (
    cell_names,
    describe_cells,
    make_layer,
    register_cell,
    sequence_cell_names,
    unregister_cell,
)

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Cell",
    "ConvGRU",
    "ConvLSTM",
    "Dropout",
    "ExtendedGRUCell",
    "ExtendedLSTMCell",
    "GRUCell",
    "IndRNN",
    "LSTMCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RNNCell",
    "Recurrent",
    "RecurrentBase",
    "cell_names",
    "describe_cells",
    "dropout",
    "make_layer",
    "register_cell",
    "sequence_cell_names",
    "unregister_cell",
]
