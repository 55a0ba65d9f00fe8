"""Fixtures shared by every test folder.

``data_path("timeseries", "AirPassengers.csv")``: a file of the reference data set (``rnnkit.data_dir``). Where
the data is absent (a fresh clone with nothing beside it) the test is skipped with a one-line reason; under
``CI=true`` the test fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import rnnkit


def reference_data(*parts: str) -> Path:
    """The reference data file ``parts`` (skip the calling test, or fail it under CI=true, when it is missing)."""
    try:
        return rnnkit.data_dir(*parts)
    except FileNotFoundError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {err}", pytrace=False)
        pytest.skip(f"reference data absent: {'/'.join(parts)} (set RNNKIT_DATA)")


@pytest.fixture(scope="session")
def data_path() -> Callable[..., Path]:
    """``data_path(*parts)`` -> the reference data file, or a skip (a failure under CI=true) when it is missing."""
    return reference_data


@pytest.fixture(scope="session")
def interrupt_cli() -> Callable[..., int]:
    """``interrupt_cli(argv, out)``: run ``rnnkit ARGV --out OUT`` as a real process, send it SIGINT once its first
    checkpoint (OUT/last.ckpt) exists, and check what Ctrl-C must leave: exit code 130, one last line naming the
    step, the best model exported to OUT/model and ``"interrupted": true`` in OUT/metrics.json. Returns the step.
    Fails when training ends before the signal arrives, so a test can never pass without it."""

    def interrupt(argv: list[str], out: Path, timeout: float = 120) -> int:
        src = str(Path(rnnkit.__file__).parents[1])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, "-m", "rnnkit.cli", *argv, "--out", str(out)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + timeout
        while not (out / "last.ckpt").is_file():
            assert proc.poll() is None, f"training ended before it could be interrupted: {proc.communicate()}"
            assert time.monotonic() < deadline, f"no {out / 'last.ckpt'} after {timeout} s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 130, stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("interrupted at step "), stderr
        assert last.endswith(f"; best model saved to {out / 'model'}; continue with --resume"), stderr
        assert (out / "model" / "model.safetensors").is_file()
        assert json.loads((out / "metrics.json").read_text())["interrupted"] is True
        return int(last.split()[3].rstrip(";"))

    return interrupt
