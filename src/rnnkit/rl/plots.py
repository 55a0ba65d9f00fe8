"""Learning curves: mean episodic return against environment steps, one line per run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def plot_learning_curve(runs: Mapping[str, Mapping[str, Any]], path: str | Path, title: str) -> Path:
    """``runs`` maps a label to a curve as :func:`rnnkit.rl.ppo.train` writes it into metrics.json (``curve``):
    ``env_steps``/``train_return`` (the last 20 training episodes, after each PPO iteration), drawn as a line, and
    ``eval_env_steps``/``eval_return`` (the evaluations while training, deterministic actions), drawn as dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for label, curve in runs.items():
        (line,) = ax.plot(curve["env_steps"], curve["train_return"], label=label)
        if curve.get("eval_env_steps"):
            ax.plot(curve["eval_env_steps"], curve["eval_return"], "o", markersize=3, color=line.get_color())
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episodic return")
    ax.set_title(title + "\nline: last 20 training episodes; dots: evaluations (deterministic)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
