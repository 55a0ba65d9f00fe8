"""`rnnkit video generate | train | predict | eval | forecast` end to end on tiny real mp4 files, the CLI giving
what the Python API gives, and every bad input's exact one-line message (exit 2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import rnnkit
import rnnkit.nn
from rnnkit.cli import main
from rnnkit.video.models import temporal_names

TINY = ["--size", "16", "--channels", "1", "--frames", "6", "--hidden_size", "8", "--features", "8",
        "--epochs", "2", "--batch_size", "8", "--quiet", "true"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(digits_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["video", "train", "--data", str(digits_folder), "--out", str(out), "--temporal", "gru", *TINY]) == 0
    return out


def test_train_writes_model_metrics_config(trained):
    for name in ("metrics.json", "config.json", "model/config.json", "model/model.safetensors"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["train_clips"] + metrics["val_clips"] == 16 and metrics["val_clips"] == 4
    assert metrics["bad_files"] == [] and 0 <= metrics["best_val"][0]["val_acc"] <= 1
    assert json.loads((trained / "config.json").read_text())["temporal"] == "gru"


def test_predict_prints_top_k_as_the_python_api_does(trained, digits_folder, tmp_path, capsys):
    files = [str(p) for p in sorted((digits_folder / "left").iterdir())[:2]]
    assert main(["video", "predict", "--model", str(trained), *files, "--top_k", "2", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    want = rnnkit.load(trained / "model").top_k(files, 2)
    assert lines == [f"{f}: " + ", ".join(f"{c} {p:.3f}" for c, p in top) for f, top in zip(files, want)]
    rows = list(csv.DictReader((tmp_path / "predictions.csv").open()))
    assert [r["class"] for r in rows] == [c for top in want for c, _ in top]


def test_eval_reports_accuracy(trained, digits_folder, tmp_path, capsys):
    assert main(["video", "eval", "--model", str(trained), "--data", str(digits_folder), "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    model = rnnkit.load(trained / "model")
    assert metrics["n"] == 16 and metrics["accuracy"] == model.score(digits_folder)
    printed = capsys.readouterr().out.strip()
    assert printed == f"accuracy {metrics['accuracy']:.4f} on 16 clips; details in {tmp_path / 'metrics.json'}"


@pytest.mark.skipif(not hasattr(rnnkit.nn, "ConvLSTM"), reason="rnnkit.nn.ConvLSTM is not in this tree yet")
def test_generate_train_forecast(tmp_path, capsys):
    data = tmp_path / "bounce"
    assert main(["video", "generate", "--out", str(data), "--kind", "bounce", "--n", "6", "--frames", "8",
                 "--size", "16", "--format", "gif"]) == 0  # fmt: skip
    out = tmp_path / "run"
    args = ["--task", "forecast", "--size", "16", "--channels", "1", "--context", "4", "--horizon", "3",
            "--hidden_size", "4", "--epochs", "1", "--batch_size", "4", "--val_fraction", "0",
            "--quiet", "true"]  # fmt: skip
    assert main(["video", "train", "--data", str(data), "--out", str(out), *args]) == 0
    video = next(data.glob("*/*.gif"))
    assert (
        main(["video", "forecast", "--model", str(out), str(video), "--frames", "5", "--out", str(tmp_path / "f")]) == 0
    )
    for name in ("forecast.gif", "forecast.mp4", "strip.png"):
        assert (tmp_path / "f" / name).is_file()
    frames = rnnkit.video.read_video(tmp_path / "f" / "forecast.gif", channels=1)
    np.testing.assert_array_equal(frames, rnnkit.load(out / "model").forecast(video, 5))
    capsys.readouterr()
    assert main(["video", "eval", "--model", str(out), "--data", str(data), "--out", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(f"3 frames ahead, MSE / SSIM: model {metrics['model']['mse'][-1]:.4f} / ")
    assert "copy of the last frame" in printed and "blank frame" in printed and "\n" not in printed


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs_one_line_exit_2(trained, digits_folder, tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert _error(capsys, ["video", "train", "--data", str(missing), "--out", str(tmp_path)]) == (
        f"rnnkit video train: error: {missing}: no such folder or CSV file; expected a folder with one sub-folder "
        "of videos per class, or a CSV with path,label columns"
    )
    assert _error(capsys, ["video", "train", "--data", str(digits_folder), "--temporal", "tcn"]) == (
        f"rnnkit video train: error: --temporal must be one of {', '.join(temporal_names())}; got 'tcn'"
    )
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 200)
    err = _error(capsys, ["video", "predict", "--model", str(trained), str(bad)])
    assert err.startswith(f"rnnkit video predict: error: {bad}: cannot decode it as a video (")
    assert _error(capsys, ["video", "predict", "--model", str(trained)]) == (
        "rnnkit video predict: error: expected one or more video files after --model DIR, got none"
    )
    assert _error(capsys, ["video", "forecast", "--model", str(trained), str(bad)]) == (
        f"rnnkit video forecast: error: {trained / 'model'} holds a VideoClassifier; "
        "this command needs a FramePredictor"
    )


def test_training_skips_and_reports_unreadable_files(digits_folder, tmp_path, capsys):
    data = tmp_path / "data"
    for label in ("left", "right"):
        (data / label).mkdir(parents=True)
        for p in sorted((digits_folder / label).iterdir())[:4]:
            (data / label / p.name).write_bytes(p.read_bytes())
    (data / "left" / "zz_cut.mp4").write_bytes((data / "left" / "00001.mp4").read_bytes()[:300])
    out = tmp_path / "run"
    assert main(["video", "train", "--data", str(data), "--out", str(out), "--val_fraction", "0", *TINY[:-4],
                 "--epochs", "1", "--progress", "false"]) == 0  # fmt: skip
    assert "skipped 1 unreadable files" in capsys.readouterr().out
    bad = json.loads((out / "metrics.json").read_text())["bad_files"]
    assert [b["path"] for b in bad] == [str(data / "left" / "zz_cut.mp4")] and "cannot decode" in bad[0]["reason"]
