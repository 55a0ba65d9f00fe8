"""The confusion-matrix plot; the scores themselves are the engine's (:mod:`rnnkit.train.metrics`), re-exported.

Shapes: N items, C classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.train.metrics import confusion_matrix, scores

__all__ = ["confusion_matrix", "plot_confusion", "scores"]


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], path: Path, title: str = "Confusion matrix") -> Path:
    """Save the confusion matrix as a PNG heat map with the counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(3.5, 0.4 * len(labels) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 0.8, size), dpi=110)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels=list(labels), rotation=45 if max(len(v) for v in labels) > 3 else 0, ha="right")
    ax.set_yticks(ticks, labels=list(labels))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
