"""The text applications learn: tiny seeded runs on synthetic data beat a naive baseline by a wide margin.

Margins were checked over seeds 0, 1 and 2 (figures in each test); each bar sits far from both the baseline and
every seed's score, so a test fails when training stops working, not by bad luck.
"""

from __future__ import annotations

import collections
import csv
import json
import math
import random
from pathlib import Path

from rnnkit.cli import main
from rnnkit.text.lm.data import split_text

QUIET = ["--seed", "0", "--quiet", "true"]


def test_language_model_beats_the_unigram_model(tmp_path: Path) -> None:
    # words drawn uniformly from 8 colours: a unigram character model needs ~3.85 bits/char on the validation
    # text, a model that learns the words ~0.6 (3 bits per word of ~5.4 characters and a space)
    rng = random.Random(0)
    words = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"]
    text = " ".join(rng.choice(words) for _ in range(3000)) + "\n"
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    argv = ["text", "train", "--data", str(tmp_path / "t.txt"), "--out", str(tmp_path / "run")]
    argv += ["--embed_size", "16", "--hidden_size", "32", "--num_layers", "1", "--bptt", "32", "--batch_size", "16"]
    argv += ["--max_steps", "100", "--val_every", "50", "--warmup_steps", "0", "--lr", "0.01"]
    assert main([*argv, *QUIET]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    train, val = split_text(text, 0.1, 10)  # the default --val_fraction and --val_blocks
    counts = collections.Counter(train)
    unigram = -sum(math.log2((counts[c] + 1) / (len(train) + len(set(text)))) for c in "".join(val))
    unigram /= len("".join(val))
    assert 3.5 < unigram < 4.0
    assert abs(metrics["val_bpc"] - metrics["val_loss"] / math.log(2)) < 1e-3  # bits/char from nats/char
    # seeds 0, 1, 2: 1.05, 1.24, 1.25 bits/char against 3.86, 3.85, 3.84
    assert metrics["val_bpc"] < unigram - 1.5


def test_translation_learns_a_word_for_word_dictionary(tmp_path: Path) -> None:
    # sentences of 2-4 number words and their "French": copying the source scores a BLEU near 0 (only "six"
    # and "." are shared); seeds 0, 1, 2 scored 48.7, 68.2, 64.7
    en = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    fr = ["un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit"]
    rng = random.Random(0)
    lines = []
    for _ in range(400):
        idx = [rng.randrange(8) for _ in range(rng.randint(2, 4))]
        lines.append(" ".join(en[i] for i in idx) + " .\t" + " ".join(fr[i] for i in idx) + " .")
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["translate", "train", "--pairs", str(tmp_path / "pairs.txt"), "--out", str(tmp_path / "run")]
    argv += ["--embed_size", "16", "--hidden_size", "32", "--epochs", "12", "--beam_width", "1", "--dropout", "0"]
    assert main([*argv, "--batch_size", "32", *QUIET]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["bleu"] > 25


def test_text_classifier_beats_chance(tmp_path: Path) -> None:
    # filler words plus one sentiment word ("good", "great", "fine" or "bad", "awful", "dull"); balanced, chance 0.5.
    # seeds 0, 1, 2 scored 0.90, 0.87, 0.91 on the 100 test texts
    filler = ["the", "movie", "was", "plot", "actor", "film", "scene", "it", "and", "really", "quite", "story"]

    def write(path: Path, n: int, seed: int) -> str:
        rng = random.Random(seed)
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            for i in range(n):
                pos = i % 2 == 0
                words = [rng.choice(filler) for _ in range(rng.randint(4, 9))]
                cue = rng.choice(["good", "great", "fine"] if pos else ["bad", "awful", "dull"])
                words.insert(rng.randrange(len(words) + 1), cue)
                w.writerow([" ".join(words), "pos" if pos else "neg"])
        return str(path)

    train, test = write(tmp_path / "train.csv", 200, 0), write(tmp_path / "test.csv", 100, 100)
    argv = ["text", "classify-train", "--train", train, "--test", test, "--out", str(tmp_path / "run")]
    argv += ["--embed_size", "16", "--hidden_size", "16", "--epochs", "15", "--batch_size", "16"]
    assert main([*argv, *QUIET]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.75
