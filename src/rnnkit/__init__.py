"""rnnkit: recurrent neural networks on PyTorch.

``rnnkit.nn`` holds the layers; ``rnnkit.train`` the engine; one folder per application.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnkit")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
