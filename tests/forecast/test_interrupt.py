"""Ctrl-C and a killed process lose nothing: a real ``rnnkit forecast train`` process is interrupted (SIGINT) or
killed (SIGKILL) mid-training, then ``--resume`` reaches the result of an uninterrupted run (issue 13/14)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("series") / "s.csv"
    t = np.arange(400)
    y = np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).normal(size=len(t))
    pd.DataFrame({"t": t, "y": y}).to_csv(path, index=False)
    return path


def command(csv: Path, out: Path, *extra: str) -> list[str]:
    # Two members, so that an interrupt or a kill lands in one of them and resuming covers the ensemble helper.
    # 3 epochs of ~30 steps of a tiny model each: long enough to be interrupted in the second or third epoch.
    flags = ["--lookback", "24", "--horizon", "12", "--d_model", "16", "--batch_size", "8", "--epochs", "3"]
    flags += ["--ensemble", "2", "--compile", "false", "--threads", "1", "--checkpoint_every", "5"]
    flags += ["--early_stopping", "null", "--quiet", "true", "--head", "gaussian"]
    return [sys.executable, "-m", "rnnkit.cli", "forecast", "train", "--csv", str(csv), "--target", "y", *flags,
            "--out", str(out), *extra]  # fmt: skip


def run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def start_and_signal(argv: list[str], member: Path, sig: int) -> subprocess.CompletedProcess:
    """Start ``argv``, send ``sig`` once ``member`` (a member's run folder) finished its first epoch; wait."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = member / "metrics.jsonl"  # a line per validation: wait for the end of the first epoch, so that the
    deadline = time.monotonic() + 300  # resumed run has to rebuild a later epoch's shuffled order
    while not (log.exists() and log.read_text().strip()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training ended before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def final(out: Path) -> dict:
    m = json.loads((out / "metrics.json").read_text())
    return {k: m[k] for k in ("steps", "stopped_reason", "best_val", "val", "test", "choice")}


@pytest.fixture(scope="module")
def uninterrupted(csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "whole"
    done = run(command(csv, out))
    assert done.returncode == 0, done.stderr
    return out


def test_ctrl_c_then_a_kill_then_resume_finish_the_same_run(csv, uninterrupted, tmp_path):
    out = tmp_path / "run"
    # Ctrl-C in member 0: one line, exit 130, the best weights so far exported.
    stopped = start_and_signal(command(csv, out), out / "member0", signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr
    line = stopped.stderr.strip().splitlines()[-1]
    assert line.startswith("interrupted at step ") and line.endswith(
        f"; best model saved to {out / 'model'}; continue with --resume"
    )
    assert (out / "model" / "model.safetensors").is_file()
    assert json.loads((out / "metrics.json").read_text())["interrupted"] is True
    # Running again without --resume is refused: nothing is overwritten.
    assert main(command(csv, out)[3:]) == 2
    # --resume, killed (SIGKILL: no chance to save anything) once member 1 checkpointed, then --resume again.
    killed = start_and_signal(command(csv, out, "--resume", "true"), out / "member1", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    resumed = run(command(csv, out, "--resume", "true"))
    assert resumed.returncode == 0, resumed.stderr
    assert final(out) == final(uninterrupted)


def test_a_finished_run_is_not_overwritten(csv, uninterrupted, capsys):
    before = (uninterrupted / "metrics.json").read_text()
    assert main(command(csv, uninterrupted)[3:]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnkit forecast train: error: --out {uninterrupted} holds a finished run (metrics.json); continue it with "
        "--resume or choose another --out"
    )
    assert (uninterrupted / "metrics.json").read_text() == before
