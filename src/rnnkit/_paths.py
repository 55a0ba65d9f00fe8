"""Where rnnkit finds the reference data sets used by tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

# src/rnnkit/_paths.py -> the repository root is two folders above the package; the data lies beside the repository.
_BESIDE_REPO = Path(__file__).resolve().parents[3] / "shared" / "data"


def data_root() -> Path:
    """Where the reference data should be: ``$RNNKIT_DATA``, else ``shared/data`` beside the repository (found from
    this package's location, never from the current directory). The folder may be missing.

    >>> import os
    >>> os.environ.get("RNNKIT_DATA") is not None or data_root().parts[-2:] == ("shared", "data")
    True
    """
    env = os.environ.get("RNNKIT_DATA")
    return Path(env).expanduser().resolve() if env else _BESIDE_REPO


def data_dir(*parts: str) -> Path:
    """The reference data folder (see :func:`data_root`), or a path inside it.

    Raises FileNotFoundError, saying where it looked, when the folder or the file is missing.

    >>> import os, tempfile
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, RNNKIT_DATA=tempfile.mkdtemp()):
    ...     print(data_dir().is_dir())
    ...     data_dir("eng-fra", "fra.txt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: reference data not found at .../eng-fra/fra.txt; set RNNKIT_DATA to the folder holding ...
    """
    path = data_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"reference data not found at {path}; set RNNKIT_DATA to the folder holding "
            "tinyshakespeare/, eng-fra/ and timeseries/"
        )
    return path
