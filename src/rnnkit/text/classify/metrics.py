"""Classification scores: accuracy, macro-F1 and the confusion matrix."""

from __future__ import annotations

from typing import Any


def classification_metrics(y_true: list[int], y_pred: list[int], n_classes: int) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class, columns: predicted).

    >>> classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)["confusion"]
    [[1, 1], [0, 2]]
    """
    confusion = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(y_true, y_pred):
        confusion[t][p] += 1
    f1s = []
    for c in range(n_classes):
        tp = confusion[c][c]
        fp = sum(confusion[r][c] for r in range(n_classes)) - tp
        fn = sum(confusion[c]) - tp
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    accuracy = sum(confusion[c][c] for c in range(n_classes)) / max(len(y_true), 1)
    return {"accuracy": accuracy, "macro_f1": sum(f1s) / n_classes, "confusion": confusion}
