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
    """Load any model saved by rnnkit (``model.save(dir)``): config.json + model.safetensors, never unpickled.

    ``directory`` is the model folder or the run folder a training command wrote (holding ``model/``)."""
    from rnnkit.apps import import_models
    from rnnkit.train import load_model

    import_models()  # registers every application's model kinds
    path = Path(directory)
    if (path / "model" / "config.json").is_file() and not (path / "model.safetensors").is_file():
        path = path / "model"
    return load_model(path)


__all__ = ["__version__", "data_dir", "load"]
