"""`rnnkit classify train` learns: a tiny seeded run on synthetic series beats chance by a wide margin.

Three classes of 24-step series, sines of 1, 2 or 3 periods per series at a random phase plus noise (sd 0.3);
90 training and 60 test series, balanced, so chance and the majority class are both 1/3. Over seeds 0, 1, 2 this
run scored 0.98, 0.97 and 1.00 on the test series; the bar, 0.8, sits far above chance and below every seed's
score, so it fails when the model stops learning, not by bad luck.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main


def _write(path: Path, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    t = np.arange(24)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"t{i}" for i in range(24)] + ["label"])
        for i in range(n):
            k = i % 3
            x = np.sin(2 * np.pi * (k + 1) * t / 24 + rng.uniform(0, 2 * np.pi)) + 0.3 * rng.normal(size=24)
            w.writerow([f"{v:.4f}" for v in x] + [f"c{k}"])
    return str(path)


@pytest.mark.parametrize("seed", [0])
def test_classifier_beats_chance_on_synthetic_series(tmp_path: Path, seed: int) -> None:
    train, test = _write(tmp_path / "train.csv", 90, seed), _write(tmp_path / "test.csv", 60, seed + 100)
    argv = ["classify", "train", "--train", train, "--test", test, "--out", str(tmp_path / "run")]
    argv += ["--hidden_size", "16", "--epochs", "40", "--ensemble", "1", "--time_budget", "null"]
    assert main([*argv, "--seed", str(seed), "--quiet", "true"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    confusion = np.array(metrics["test_confusion_matrix"])
    assert confusion.sum() == 60 and metrics["test_accuracy"] == pytest.approx(np.trace(confusion) / 60)
    assert metrics["test_accuracy"] >= 0.8  # chance: 1/3
