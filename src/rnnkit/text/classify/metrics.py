"""Classification scores: accuracy, macro-F1 (the engine's, scikit-learn's definition) and the confusion matrix."""

from __future__ import annotations

from typing import Any

from rnnkit.train.metrics import confusion_matrix, scores


def classification_metrics(y_true: list[int], y_pred: list[int], n_classes: int) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class, columns: predicted).

    >>> classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)["confusion"]
    [[1, 1], [0, 2]]
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes)  # the engine's macro-F1: scikit-learn's definition
    return {**scores(matrix), "confusion": matrix.tolist()}
