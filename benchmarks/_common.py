"""Shared by the benchmarks: the machine description and appending a table to benchmarks/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import platform
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.report import cpu_name

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    cpu = cpu_name()
    load = ", load average {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}{gpu}{load}"
    )


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def append_results(title: str, table: str, command: str, notes: str = "") -> None:
    """Append one section to RESULTS.md: title, date, machine, command, table, notes."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"\n## {title}\n\n{stamp}; {machine()}.\nCommand: `{command}`\n\n{table}\n"
    if notes:
        text += f"\n{notes}\n"
    with RESULTS.open("a", encoding="utf-8") as f:
        if f.tell() == 0:
            f.write("# Benchmark results\n\nEach section is appended by a script in benchmarks/; newest last.\n")
        f.write(text)


def in_child_process(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a fresh (spawned) process. For peers built on numba (aeon's ROCKET): numba's worker threads
    stay busy after a fit and slowed every later torch run in the same process about 4x (measured: a reservoir fit
    on GunPoint took 0.23 s before a RocketClassifier fit, 1.0 s after and still 1.0 s ten seconds later), which
    would shortchange whichever method runs next under a time budget."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def zero_padded(series: list[np.ndarray], length: int) -> np.ndarray:
    """Series (T_i, F) -> one array (N, F, length), zero-padded at the end: how aeon's ROCKET takes unequal
    lengths."""
    return np.stack([np.pad(s.T, ((0, 0), (0, length - s.shape[0]))) for s in series])
