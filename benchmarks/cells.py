"""Forward+backward time of rnnkit.nn's extended cells against the fused torch.nn layer, in the same run, as ratios
(issue 16, must-show 2). CPU, the same thread count for every contender.

- layer-norm LSTM (``rnnkit.nn.LSTM(layer_norm=True)``) / ``torch.nn.LSTM`` at (B, T, I, H) = (32, 128, 64, 256),
  target <= 1.5; for scale, the same layer with the compiled loops off (``RNNKIT_NATIVE=0``: the Python loop
  with its hand-written backward) and the plain autograd loop of the cell (``reference = True``);
- LSTM with ``recurrent_dropout=0.25`` (training mode) / ``torch.nn.LSTM``, target <= 1.5, and its Python loop;
- a user-written cell through ``Recurrent`` (the peephole LSTM of tests/nn/test_recurrent.py) / ``torch.nn.LSTM``,
  and the built-in ``peephole=True`` beside it;
- minGRU / ``torch.nn.GRU`` at T = 512 and 4096, (B, I, H) = (16, 64, 256): target torch / minGRU >= 5 at 4096.

Timing: contenders alternate, each sample is one forward+backward of ``y.sum()``, the table reports medians.

    python benchmarks/cells.py [--repeats 5] [--threads N] [--quick] [--note "measured under load"]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit.nn as rnn
from _common import append_results, markdown_table
from rnnkit.nn import native

ROOT = Path(__file__).resolve().parent.parent


def peephole_cell_class() -> type[nn.Module]:
    """The user-written cell of the tests, loaded from its file (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("test_recurrent", ROOT / "tests" / "nn" / "test_recurrent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PeepholeLSTMCell  # type: ignore[no-any-return]


def fwd_bwd(layer: nn.Module, x: Tensor) -> Callable[[], None]:
    def run() -> None:
        y, _ = layer(x)
        y.sum().backward()
        layer.zero_grad(set_to_none=True)
        x.grad = None

    return run


def python_loop(fn: Callable[[], None]) -> Callable[[], None]:
    """The same call with rnnkit's compiled LSTM loops turned off (the Python loop of LSTMSequence)."""

    def run() -> None:
        with native.disabled():
            fn()

    return run


def medians(fns: list[Callable[[], None]], repeats: int) -> list[float]:
    for fn in fns:  # warm up (oneDNN primitive caches, allocator)
        fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, s in zip(fns, samples):
            start = time.perf_counter()
            fn()
            s.append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples]


Tensor = torch.Tensor


def lstm_rows(repeats: int, quick: bool) -> list[list[object]]:
    B, T, I, H = (8, 32, 16, 64) if quick else (32, 128, 64, 256)
    torch.manual_seed(0)
    x = torch.randn(B, T, I, requires_grad=True)
    ref = nn.LSTM(I, H, batch_first=True)
    ln = rnn.LSTM(I, H, batch_first=True, layer_norm=True)
    ln_loop = rnn.LSTM(I, H, batch_first=True, layer_norm=True)
    ln_loop.reference = True  # the same cell as a plain per-step autograd loop
    rd = rnn.LSTM(I, H, batch_first=True, recurrent_dropout=0.25).train()
    peep = rnn.LSTM(I, H, batch_first=True, peephole=True)
    user = rnn.Recurrent(peephole_cell_class()(I, H), batch_first=True)
    contenders = {
        "torch.nn.LSTM (fused)": fwd_bwd(ref, x),
        "LSTM(layer_norm=True)": fwd_bwd(ln, x),
        "LSTM(layer_norm=True), Python loop (RNNKIT_NATIVE=0)": python_loop(fwd_bwd(ln, x)),
        "layer-norm LSTM, plain autograd loop": fwd_bwd(ln_loop, x),
        "LSTM(recurrent_dropout=0.25), training": fwd_bwd(rd, x),
        "LSTM(recurrent_dropout=0.25), Python loop (RNNKIT_NATIVE=0)": python_loop(fwd_bwd(rd, x)),
        "LSTM(peephole=True)": fwd_bwd(peep, x),
        "user peephole cell through Recurrent": fwd_bwd(user, x),
    }
    times = medians(list(contenders.values()), repeats)
    shape = f"B={B}, T={T}, I={I}, H={H}"
    return [[name, shape, f"{t * 1e3:.1f}", f"{t / times[0]:.2f}x"] for name, t in zip(contenders, times)]


def mingru_rows(repeats: int, quick: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    B, I, H = (4, 16, 64) if quick else (16, 64, 256)
    for T in (128, 512) if quick else (512, 4096):
        torch.manual_seed(0)
        x = torch.randn(B, T, I, requires_grad=True)
        gru = nn.GRU(I, H, batch_first=True)
        mingru = rnn.MinGRU(I, H, batch_first=True)
        t_gru, t_min = medians([fwd_bwd(gru, x), fwd_bwd(mingru, x)], repeats)
        shape = f"B={B}, T={T}, I={I}, H={H}"
        rows.append(["torch.nn.GRU (fused)", shape, f"{t_gru * 1e3:.1f}", "1.00x"])
        rows.append(
            ["MinGRU (scan)", shape, f"{t_min * 1e3:.1f}", f"{t_min / t_gru:.2f}x ({t_gru / t_min:.1f}x faster)"]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed samples per contender (median reported)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads for all")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, to check the script runs")
    parser.add_argument("--note", default="", help='a line under the table, e.g. "measured under load"')
    parser.add_argument("--no-append", action="store_true", help="print the table only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if native.lstm_ops() is None:  # then the rnnkit rows time the Python loop; say so under the table
        args.note = (args.note + " " if args.note else "") + "(the compiled LSTM loops were unavailable)"
    rows = lstm_rows(args.repeats, args.quick) + mingru_rows(args.repeats, args.quick)
    table = markdown_table(["layer", "shape", "fwd+bwd ms (median)", "time / fused torch.nn"], rows)
    print(table)
    if not args.no_append:
        command = "python benchmarks/cells.py " + " ".join(sys.argv[1:])
        append_results("Extended cells vs fused torch.nn (benchmarks/cells.py)", table, command.strip(), args.note)


if __name__ == "__main__":
    main()
