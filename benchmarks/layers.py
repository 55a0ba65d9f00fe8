"""Forward+backward time of rnnkit.nn layers against torch.nn in the same run, as ratios.

Full-length batches: rnnkit / torch.nn with the same weights (target <= 1.05).
Variable-length batches: rnnkit with ``lengths=`` against torch's PackedSequence path (target: >= 2x faster),
with torch's padded path (which gives wrong states for short sequences) shown for scale.

Timing: the two contenders alternate, each sample is one forward+backward, the table reports medians.

    python benchmarks/layers.py [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit.nn as rnn
from _common import append_results, markdown_table

KINDS = {"RNN": (rnn.RNN, torch.nn.RNN), "GRU": (rnn.GRU, torch.nn.GRU), "LSTM": (rnn.LSTM, torch.nn.LSTM)}


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


def pair(kind: str, I: int, H: int, layers: int, bidir: bool):
    ours_cls, torch_cls = KINDS[kind]
    ours = ours_cls(I, H, num_layers=layers, bidirectional=bidir, batch_first=True)
    ref = torch_cls(I, H, num_layers=layers, bidirectional=bidir, batch_first=True)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def full_length(shapes, repeats):
    rows = []
    for B, T, I, H in shapes:
        x = torch.randn(B, T, I, requires_grad=True)
        for kind in KINDS:
            for layers in (1, 2):
                for bidir in (False, True):
                    ours, ref = pair(kind, I, H, layers, bidir)

                    def run_ours(ours=ours, x=x):
                        ours(x)[0].sum().backward()

                    def run_ref(ref=ref, x=x):
                        ref(x)[0].sum().backward()

                    t_ours, t_ref = medians([run_ours, run_ref], repeats)
                    rows.append(
                        [
                            f"B={B} T={T} I={I} H={H}",
                            kind,
                            layers,
                            "bi" if bidir else "uni",
                            f"{t_ref * 1e3:.1f}",
                            f"{t_ours * 1e3:.1f}",
                            f"{t_ours / t_ref:.3f}",
                        ]
                    )
                    print(" | ".join(str(c) for c in rows[-1]), flush=True)
    return rows


def variable_length(B, T, I, H, repeats):
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    lengths[0] = T
    x = torch.randn(B, T, I, requires_grad=True)
    rows = []
    for kind in KINDS:
        for layers, bidir in ((1, False), (1, True), (2, True)):
            ours, ref = pair(kind, I, H, layers, bidir)

            def run_ours(ours=ours):
                ours(x, lengths=lengths)[0].sum().backward()

            def run_packed(ref=ref):
                packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                ref(packed)[0].data.sum().backward()

            def run_padded(ref=ref):
                ref(x)[0].sum().backward()

            t_ours, t_packed, t_padded = medians([run_ours, run_packed, run_padded], repeats)
            rows.append(
                [
                    f"B={B} T={T} I={I} H={H}",
                    kind,
                    layers,
                    "bi" if bidir else "uni",
                    f"{t_packed * 1e3:.1f}",
                    f"{t_padded * 1e3:.1f}",
                    f"{t_ours * 1e3:.1f}",
                    f"{t_packed / t_ours:.2f}x",
                    f"{t_packed / t_padded:.2f}x",
                ]
            )
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke run")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    torch.manual_seed(0)
    shapes = [(4, 16, 8, 16)] if args.quick else [(32, 128, 64, 256), (8, 512, 32, 128)]
    full = full_length(shapes, args.repeats)
    var = variable_length(4, 16, 8, 16, args.repeats) if args.quick else variable_length(32, 256, 64, 256, args.repeats)
    ratios = [float(r[-1]) for r in full]
    speedups = [float(r[-2][:-1]) for r in var]
    table = markdown_table(["shape", "layer", "layers", "dir", "torch.nn ms", "rnnkit ms", "rnnkit/torch"], full)
    table += "\n\nVariable lengths (uniform in [1, T]), forward+backward:\n\n" + markdown_table(
        [
            "shape",
            "layer",
            "layers",
            "dir",
            "torch packed ms",
            "torch padded ms (wrong states)",
            "rnnkit lengths= ms",
            "packed/rnnkit",
            "packed/padded",
        ],
        var,
    )
    summary = (
        f"Full length: rnnkit/torch median {statistics.median(ratios):.3f}, max {max(ratios):.3f} "
        f"(target <= 1.05). Variable length: rnnkit is {min(speedups):.2f}x-{max(speedups):.2f}x faster than "
        "torch's packed path (target >= 2x)."
    )
    print(table)
    print(summary)
    if not args.no_record:
        cmd = "python benchmarks/layers.py" + (" --quick" if args.quick else "") + f" --repeats {args.repeats}"
        append_results("rnnkit.nn layers vs torch.nn (forward+backward)", table, cmd, summary)


if __name__ == "__main__":
    main()
