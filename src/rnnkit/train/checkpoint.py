"""Atomic files: write a temporary file in the same directory, fsync it, ``os.replace`` it over the target, fsync the
directory. A reader (or a run killed mid-write) sees the old file or the new one, never half of one.

Checkpoints are our own training files (``torch.save``), read back with ``torch.load(weights_only=True)``, so they
hold only tensors and plain types. Model files for users are safetensors + JSON (:mod:`rnnkit.train.modelfile`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically, on error it is removed.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(p, "w") as f: _ = f.write("hi")
    >>> p.read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions open() would
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, not per write (umask is process-wide)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_with(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary binary file that then atomically becomes ``path``."""
    with atomic_write(path, "wb") as f:
        write(f)
    return Path(path)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """``torch.save`` ``state`` (tensors and plain types only) to ``path`` atomically.

    >>> import tempfile, pathlib
    >>> p = save_checkpoint({"step": 3, "w": torch.ones(2)}, pathlib.Path(tempfile.mkdtemp()) / "last.ckpt")
    >>> load_checkpoint(p)["step"]
    3
    """
    return atomic_write_with(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a readable rnnkit checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a checkpoint dict, found {type(state).__name__}")
    return state


# Changing these between a run and its resume is expected (train longer, quieter); the others change the result.
RESUMABLE_CHANGES = {
    *("epochs", "max_steps", "time_budget", "early_stopping", "quiet", "device", "checkpoint_every"),
    *("resume", "progress", "out", "threads"),
}


def warn_config_changes(saved: dict[str, Any], now: dict[str, Any], path: Path | None) -> None:
    """Log a warning naming the settings that differ between a checkpoint and the resuming run."""
    changed = sorted(k for k in now if k in saved and saved[k] != now[k] and k not in RESUMABLE_CHANGES)
    if changed:
        diff = ", ".join(f"--{k} {saved[k]!r} -> {now[k]!r}" for k in changed)
        log.warning("resume: %s was written with other settings (%s); the result will differ", path, diff)
