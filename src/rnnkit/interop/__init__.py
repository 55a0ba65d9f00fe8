"""rnnkit.interop: Keras <-> rnnkit, torch.nn <-> rnnkit, and ONNX export.

Keras, onnx and onnxruntime are optional (``pip install 'rnnkit[interop]'``); they are imported only by the
functions that need them. Gate order and weight layouts: :mod:`rnnkit.interop.layout`.
"""

from rnnkit.interop._deps import MissingDependencyError
from rnnkit.interop.keras_import import from_keras
from rnnkit.interop.keras_layers import KerasSequence, ResetBeforeGRUCell

__all__ = ["KerasSequence", "MissingDependencyError", "ResetBeforeGRUCell", "from_keras"]
