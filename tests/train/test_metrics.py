"""The one macro-F1 (rnnkit.train.metrics) equals scikit-learn's, on random labels with absent classes too."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from rnnkit.train.metrics import confusion_matrix, scores


@pytest.mark.parametrize("seed", range(20))
def test_scores_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 7))
    n = int(rng.integers(1, 40))
    y_true = rng.integers(0, classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, classes, n))
    got = scores(confusion_matrix(y_true, y_pred, classes + 1))  # one class absent from both
    assert got["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert got["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
