"""Learning curves: mean episodic return (last 20 episodes) against environment steps, one line per run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def plot_learning_curve(
    runs: Mapping[str, Sequence[dict[str, Any]]], steps_per_epoch: int, path: str | Path, title: str
) -> Path:
    """``runs`` maps a label to a trainer history (one event per PPO iteration, with ``train_ep_return``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for label, history in runs.items():
        points = [(e["epoch"] * steps_per_epoch, e["train_ep_return"]) for e in history if "train_ep_return" in e]
        if points:
            ax.plot(*zip(*points), label=label)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episodic return (last 20 episodes)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
