"""A real `rnnkit classify train` process interrupted (SIGINT, SIGKILL) and resumed reaches the same model as an
uninterrupted run, bit for bit (CPU, one thread)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from rnnkit.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
FLAGS = [
    "--family",
    "rnn",
    "--conv",
    "0",
    "--augment",
    "false",
    "--hidden_size",
    "8",
    "--epochs",
    "40",
    "--ensemble",
    "2",
    "--time_budget",
    "null",
    "--batch_size",
    "8",
]
FLAGS += ["--threads", "1", "--progress", "false"]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 10)).round(3)
    path = tmp_path_factory.mktemp("data") / "train.csv"
    rows = [",".join([*map(str, x), "up" if x[:5].mean() > 0 else "down"]) for x in X]
    path.write_text(",".join(f"t{i}" for i in range(10)) + ",label\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def uninterrupted(csv_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full") / "run"
    assert main(["classify", "train", "--train", str(csv_file), "--out", str(out), "--quiet", "true", *FLAGS]) == 0
    return out


def _start(csv_file: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-m", "rnnkit.cli", "classify", "train", "--train", str(csv_file), "--out", str(out)]
    return subprocess.Popen([*argv, *FLAGS, *extra], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_checkpoint(proc: subprocess.Popen[str], path: Path, timeout: float = 120) -> None:
    """Until member1 has trained a while (its checkpoint is written each epoch)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"training ended before it could be interrupted: {proc.communicate()}"
        if path.is_file():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {path} after {timeout} s")


def _same_model(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a / "model" / "model.safetensors")), load_file(str(b / "model" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for name in wa:
        assert (wa[name] == wb[name]).all(), name
    ma, mb = json.loads((a / "metrics.json").read_text()), json.loads((b / "metrics.json").read_text())
    assert ma["steps"] == mb["steps"] and ma["final_train_loss"] == mb["final_train_loss"]


def test_sigint_exports_the_best_model_and_resume_finishes_the_same_run(
    csv_file: Path, uninterrupted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    proc = _start(csv_file, out)
    _wait_for_checkpoint(proc, out / "member1" / "last.ckpt")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    step = int(lines[0].split()[3].rstrip(";"))
    assert lines[0] == f"interrupted at step {step}; best model saved to {out}/model; continue with --resume"
    assert (out / "model" / "model.safetensors").is_file()
    assert json.loads((out / "metrics.json").read_text())["interrupted"] is True
    assert main(["classify", "train", "--train", str(csv_file), "--out", str(out), *FLAGS]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnkit classify train: error: --out {out} holds an interrupted run (member0/last.ckpt); "
        "continue it with --resume or choose another --out"
    )
    resumed = _start(csv_file, out, "--resume", "true", "--quiet", "true")
    assert resumed.communicate(timeout=300)[1] == "" and resumed.returncode == 0
    _same_model(out, uninterrupted)


def test_sigkill_then_resume_finishes_the_same_run(csv_file: Path, uninterrupted: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start(csv_file, out, "--quiet", "true")
    _wait_for_checkpoint(proc, out / "member0" / "last.ckpt")
    proc.kill()
    proc.communicate(timeout=60)
    assert not (out / "metrics.json").exists()
    resumed = _start(csv_file, out, "--resume", "true", "--quiet", "true")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    _same_model(out, uninterrupted)
