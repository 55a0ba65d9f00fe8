"""rnnkit.nn.dropout against torch.nn.functional.dropout on CPU: forward + backward, interleaved.

    python benchmarks/dropout.py

Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, machine, markdown_table
from rnnkit.nn import dropout

SHAPES = {
    "SegRNN decoder, h=720 (256, 7, 30, 256)": (256, 7, 30, 256),
    "SegRNN decoder, h=96 (256, 7, 4, 256)": (256, 7, 4, 256),
    "LM activations (64, 128, 512)": (64, 128, 512),
}


def seconds(fn: Callable[[Tensor, float], Tensor], x: Tensor, grad: Tensor, p: float, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        x.grad = None
        fn(x, p).backward(grad)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no_append", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fns = {"torch": lambda x, p: F.dropout(x, p, training=True), "rnnkit": lambda x, p: dropout(x, p)}
    rows = []
    for name, shape in SHAPES.items():
        x = torch.randn(shape, requires_grad=True)
        grad = torch.randn(shape)
        best = {k: float("inf") for k in fns}
        for _ in range(args.rounds):  # interleaved, so drifts of the machine hit both
            for k, fn in fns.items():
                best[k] = min(best[k], seconds(fn, x, grad, args.p, args.repeats))
        rows.append(
            [
                name,
                f"{best['torch'] * 1e3:.1f}",
                f"{best['rnnkit'] * 1e3:.1f}",
                f"{best['torch'] / best['rnnkit']:.1f}x",
            ]
        )
        print(rows[-1], flush=True)
    table = markdown_table(["input", "torch ms", "rnnkit ms", "speed-up"], rows)
    print(table)
    print(machine())
    if not args.no_append:
        cmd = "python benchmarks/dropout.py " + " ".join(sys.argv[1:])
        notes = (
            f"Dropout p={args.p} in training mode, forward and backward (float32, CPU, {args.threads} threads); best of"
            f" {args.rounds} interleaved rounds of the median of {args.repeats}."
        )
        append_results("Dropout on CPU: rnnkit.nn.dropout against torch", table, cmd.strip(), notes)


if __name__ == "__main__":
    main()
