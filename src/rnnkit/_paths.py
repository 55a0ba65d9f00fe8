"""Where rnnkit finds the reference data sets used by tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(*parts: str) -> Path:
    """The reference data folder (``$RNNKIT_DATA``, default ``../shared/data``), or a path inside it.

    Raises FileNotFoundError, saying where it looked, when the folder or the file is missing.

    >>> data_dir().name
    'data'
    """
    root = Path(os.environ.get("RNNKIT_DATA", "../shared/data")).expanduser()
    path = root.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"reference data not found at {path.resolve()}; set RNNKIT_DATA to the folder holding "
            "tinyshakespeare/, eng-fra/ and timeseries/"
        )
    return path
