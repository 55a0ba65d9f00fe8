"""A run directory: ``config.json`` (the resolved config), ``metrics.jsonl`` (one JSON object per event),
``tensorboard/`` event files, ``curves.png``. Only rank 0 writes one (the trainer passes ``directory=None``
elsewhere, and a RunLog without a directory does nothing)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.train.checkpoint import atomic_write
from rnnkit.train.plots import plot_history


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Inf
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (paths become strings, NaN/Inf become "nan"/"inf").

    >>> import tempfile, pathlib
    >>> p = write_json(pathlib.Path(tempfile.mkdtemp()) / "metrics.json", {"acc": 0.9, "loss": float("nan")})
    >>> json.loads(p.read_text())
    {'acc': 0.9, 'loss': 'nan'}
    """
    with atomic_write(path, "w") as f:
        json.dump(_jsonable(obj), f, indent=2, default=str)
        f.write("\n")
    return Path(path)


class RunLog:
    """Writes a run directory; every method is a no-op when ``directory`` is None."""

    def __init__(self, directory: str | Path | None, monitor: str = "val_loss") -> None:
        self.directory = Path(directory) if directory is not None else None
        self.monitor = monitor
        self._writer: Any = None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        if self.directory is not None:
            write_json(self.directory / "config.json", config)

    def restart(self, history: Sequence[dict[str, Any]]) -> None:
        """Rewrite metrics.jsonl to hold exactly ``history`` (fresh run: empty; resumed run: up to the checkpoint)."""
        if self.directory is None:
            return
        with atomic_write(self.directory / "metrics.jsonl", "w") as f:
            for event in history:
                f.write(json.dumps(_jsonable(event)) + "\n")

    def _tensorboard(self) -> Any:
        if self._writer is None and self.directory is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.directory / "tensorboard"))
        return self._writer

    def scalar(self, tag: str, value: float, step: int) -> None:
        writer = self._tensorboard()
        if writer is not None:
            writer.add_scalar(tag, value, step)

    def event(self, event: dict[str, Any]) -> None:
        """Append one event to metrics.jsonl and its numbers to TensorBoard."""
        if self.directory is None:
            return
        with open(self.directory / "metrics.jsonl", "a") as f:
            f.write(json.dumps(_jsonable(event)) + "\n")
        for key, value in event.items():
            if key not in ("step", "epoch") and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.scalar(key, float(value), int(event["step"]))

    def plot(self, history: Sequence[dict[str, Any]]) -> Path | None:
        if self.directory is None:
            return None
        return plot_history(history, self.directory / "curves.png", self.monitor)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
