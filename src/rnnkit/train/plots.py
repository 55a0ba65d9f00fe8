"""The run's loss/metric plot (PNG), drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot_history(history: Sequence[dict[str, Any]], path: str | Path, monitor: str = "val_loss") -> Path | None:
    """Plot losses (and ``monitor`` if it is not a loss) against the optimizer step; returns the PNG path.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
    >>> h = [{"step": 1, "train_loss": 1.0, "val_loss": 1.1}, {"step": 2, "train_loss": 0.5, "val_loss": 0.7}]
    >>> plot_history(h, out).exists()
    True
    """
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [e["step"] for e in history]
    loss_keys = [k for k in ("train_loss", "val_loss") if any(k in e for e in history)]
    show_monitor = monitor not in loss_keys and any(monitor in e for e in history)
    fig, axes = plt.subplots(1, 2 if show_monitor else 1, figsize=(10 if show_monitor else 5.5, 3.8), squeeze=False)
    ax = axes[0][0]
    for key in loss_keys:
        ax.plot(steps, [e.get(key, float("nan")) for e in history], marker=".", label=key)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if show_monitor:
        ax = axes[0][1]
        ax.plot(steps, [e.get(monitor, float("nan")) for e in history], marker=".", color="C2")
        ax.set_xlabel("optimizer step")
        ax.set_title(monitor)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
