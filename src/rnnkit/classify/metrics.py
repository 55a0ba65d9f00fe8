"""Classification metrics (accuracy, macro-F1, confusion matrix) and the confusion-matrix plot.

Shapes: N items, C classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1, 0], [1, 1]]
    """
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def scores(matrix: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (mean over the classes present in the truth or the predictions) of a confusion matrix.

    >>> scores(np.array([[1, 0], [1, 1]]))
    {'accuracy': 0.6666666666666666, 'macro_f1': 0.6666666666666666}
    """
    tp = np.diag(matrix).astype(np.float64)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (support + predicted) > 0
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros_like(tp), where=present)
    return {
        "accuracy": float(tp.sum() / max(matrix.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
    }


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
