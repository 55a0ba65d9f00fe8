"""Classification scores shared by every application: the confusion matrix, accuracy and macro-F1.

Macro-F1 is scikit-learn's ``f1_score(average="macro")``: the mean F1 over the classes present in the truth or the
predictions (a class in neither is not averaged in; a present class with no true positive scores 0).

Shapes: N items, C classes.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """Accuracy and macro-F1 of a confusion matrix.

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
