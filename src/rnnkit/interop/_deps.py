"""Optional packages (keras, onnx, onnxruntime, onnxscript): imported only when a conversion needs them."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

EXTRA_HINT = "pip install 'rnnkit[interop]'"


class MissingDependencyError(ImportError):
    """An optional package of the ``interop`` extra is not installed; the message says how to get it."""


def require(name: str, what: str) -> ModuleType:
    """Import ``name`` or raise :class:`MissingDependencyError` with a one-line fix.

    >>> try:
    ...     require("no_such_package_xyz", "reading Keras files")
    ... except MissingDependencyError as err:
    ...     print(err)
    reading Keras files needs the package 'no_such_package_xyz', which is not installed; pip install 'rnnkit[interop]'
    """
    if name == "keras" and "keras" not in sys.modules:
        # Keras 3 picks its backend when first imported; rnnkit needs no TensorFlow, so default to torch.
        os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        return importlib.import_module(name)
    except ImportError as err:
        if getattr(err, "name", None) not in (name, name.split(".")[0]):
            raise
        raise MissingDependencyError(
            f"{what} needs the package {name!r}, which is not installed; {EXTRA_HINT}"
        ) from None
