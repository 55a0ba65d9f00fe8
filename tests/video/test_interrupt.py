"""Ctrl-C loses nothing in `rnnkit video train`: a real process gets SIGINT mid-run, prints one line, exits 130 with
the best model exported; `--resume` then ends with the weights and metrics of an uninterrupted run."""

from __future__ import annotations

import json

import torch

from rnnkit.cli import main
from rnnkit.train import load_model

FLAGS = ["--size", "16", "--channels", "1", "--frames", "6", "--hidden_size", "8", "--features", "8",
         "--epochs", "30", "--batch_size", "4", "--early_stopping", "null", "--temporal", "gru",
         "--threads", "1", "--quiet", "true", "--seed", "3"]  # fmt: skip


def test_video_train_interrupted_then_resumed_equals_uninterrupted(digits_folder, tmp_path, interrupt_cli):
    out = tmp_path / "run"
    args = ["video", "train", "--data", str(digits_folder), *FLAGS]
    assert interrupt_cli(args, out) > 0  # exit 130, one line, the best model exported (checked by the fixture)

    assert main([*args, "--out", str(out), "--resume", "true"]) == 0
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    resumed, straight = load_model(out / "model").state_dict(), load_model(tmp_path / "straight" / "model").state_dict()
    assert resumed.keys() == straight.keys()
    for name in resumed:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=0, msg=name)
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    assert a["best_val"] == b["best_val"] and "interrupted" not in a
