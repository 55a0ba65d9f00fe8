"""rnnkit.interop: Keras <-> rnnkit, torch.nn <-> rnnkit, and ONNX export.

- :func:`from_keras` / :func:`to_keras`: Keras 3 models (torch backend, no TensorFlow) <-> rnnkit modules;
- :func:`from_torch` / :func:`to_torch`: ``torch.nn.RNN/LSTM/GRU`` <-> rnnkit layers, lossless;
- :func:`export_onnx`: layers and application models -> ONNX, checked in onnxruntime.

Keras, onnx and onnxruntime are optional (``pip install 'rnnkit[interop]'``), imported only by the functions that
need them. Gate order and weight layouts of all three: :mod:`rnnkit.interop.layout`.
"""

from rnnkit.interop._deps import MissingDependencyError
from rnnkit.interop.keras_export import to_keras
from rnnkit.interop.keras_import import from_keras
from rnnkit.interop.keras_layers import KerasSequence, ResetBeforeGRUCell
from rnnkit.interop.onnx_export import export_onnx
from rnnkit.interop.onnx_layers import NotExportable
from rnnkit.interop.torch_layers import from_torch, to_torch

__all__ = [
    "KerasSequence",
    "MissingDependencyError",
    "NotExportable",
    "ResetBeforeGRUCell",
    "export_onnx",
    "from_keras",
    "from_torch",
    "to_keras",
    "to_torch",
]
