"""Forecast-vs-truth plots with an interval band (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_forecast(
    path: str | Path,
    *,
    history_t: Sequence,
    history: np.ndarray,
    future_t: Sequence,
    forecast: np.ndarray,
    truth: np.ndarray | None = None,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
    names: Sequence[str] = (),
    title: str = "",
    level: float = 0.8,
    max_channels: int = 4,
) -> Path:
    """One panel per channel (the last ``max_channels``): history, truth, forecast and its interval band.

    Arrays are (T, C) for the history and (H, C) for the rest.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = forecast.shape[1]
    channels = list(range(max(0, c - max_channels), c))
    fig, axes = plt.subplots(len(channels), 1, figsize=(9, 2.4 * len(channels)), squeeze=False, sharex=True)
    for ax, k in zip(axes[:, 0], channels):
        ax.plot(history_t, history[:, k], color="0.35", lw=1, label="history")
        if truth is not None:
            ax.plot(future_t, truth[:, k], color="k", lw=1.2, label="truth")
        if lo is not None and hi is not None:
            ax.fill_between(
                future_t, lo[:, k], hi[:, k], color="C0", alpha=0.25, label=f"{round(level * 100)}% interval"
            )
        ax.plot(future_t, forecast[:, k], color="C0", lw=1.5, label="forecast")
        ax.set_ylabel(names[k] if k < len(names) else f"y{k}")
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=4)
    if title:
        axes[0, 0].set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
