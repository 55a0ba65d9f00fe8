"""rnnkit.nn: recurrent cells and layers. Exact drop-ins for torch.nn, plus variable lengths, streaming ``step``
and a generic :class:`Recurrent` layer that runs any cell; :class:`Dropout`, torch.nn.Dropout with a mask drawn
faster on CPU. Imports nothing from the rest of rnnkit."""

from rnnkit.nn.base import RecurrentBase
from rnnkit.nn.cells import Cell, GRUCell, LSTMCell, RNNCell
from rnnkit.nn.dropout import Dropout, dropout
from rnnkit.nn.layers import GRU, LSTM, RNN
from rnnkit.nn.minimal import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.registry import cell_names, describe_cells, make_layer, register_cell

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Cell",
    "Dropout",
    "GRUCell",
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
]
