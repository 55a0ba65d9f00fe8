"""rnnkit: recurrent neural networks on PyTorch.

``rnnkit.nn`` holds the layers; ``rnnkit.train`` the engine; one folder per application.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

try:
    __version__ = version("rnnkit")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from rnnkit._paths import data_dir


def load(directory: str | Path) -> nn.Module:
    """Load any model saved by rnnkit (``model.save(dir)``): config.json + model.safetensors, never unpickled."""
    import rnnkit.models  # noqa: F401  (registers every model kind)
    from rnnkit.train import load_model

    return load_model(directory)


__all__ = ["__version__", "data_dir", "load"]
