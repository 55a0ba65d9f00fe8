"""SegRNN training step: the paper's row-by-row decoder against rnnkit's, one change at a time.

The paper's code repeats the decoder inputs over the B windows and the encoder
state over the S_out output segments, then runs the cell on all B*C*S_out rows. rnnkit computes the input
projection once per (channel, segment) and the recurrent projection once per (window, channel)
(``rnnkit.forecast.models._shared_step``); the outputs and gradients are the same (tests/forecast/test_models.py).
On top of that, rnnkit draws the decoder's dropout mask with ``rnnkit.nn.Dropout`` (torch's CPU ``bernoulli_`` is
slow) and, by default (``forecast train --compile``), runs the GRU gate arithmetic through ``torch.compile``.
This times a full training step (forward, backward, Adam) of ``SegRNN`` in each configuration, interleaved, on
the shapes of the ETTh1 benchmark (batch 256, 7 channels, look-back 96, segments of 24):

- paper: row-by-row step, torch.nn.Dropout;
- shared: rnnkit's shared step, torch.nn.Dropout;
- + dropout: shared step, rnnkit.nn.Dropout;
- + compile: shared step, rnnkit.nn.Dropout, compiled gates (``forecast train``'s default).

    python benchmarks/segrnn_decoder.py --horizons 96,192,336,720 --d_model 256

Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, machine, markdown_table
from rnnkit.forecast import models
from rnnkit.forecast.models import SegRNN
from rnnkit.nn import Dropout

# name -> (decoder step, rnnkit dropout?, compiled gates?)
CONFIGS = {
    "paper": ("rowwise", False, False),
    "shared": ("shared", False, False),
    "+ dropout": ("shared", True, False),
    "+ compile": ("shared", True, True),
}


def rowwise_step(
    rnn: nn.Module, x: Tensor, state: Tensor | tuple[Tensor, Tensor], batch: int, *, compiled: bool = False
) -> Tensor:
    """The paper's decoder step: the cell run on every (window, channel, segment) row. Returns (B, C, S, D).
    ``compiled`` is ignored (the signature of ``_shared_step``, which it replaces)."""
    C, S, d_in = x.shape
    rows = x.unsqueeze(0).expand(batch, -1, -1, -1).reshape(batch * C * S, 1, d_in)
    if isinstance(state, tuple):
        repeated: Tensor | tuple[Tensor, ...] = tuple(s.repeat_interleave(S, dim=1) for s in state)
    else:
        repeated = state.repeat_interleave(S, dim=1)
    out, _ = rnn(rows, repeated)  # (B*C*S, 1, D)
    return out.view(batch, C, S, -1)


def step_seconds(
    model: SegRNN, batch: dict[str, Tensor], opt: torch.optim.Optimizer, config: str, repeats: int
) -> float:
    decoder, fast_dropout, compiled = CONFIGS[config]
    p = model.dropout.p
    model.dropout = Dropout(p) if fast_dropout else nn.Dropout(p)
    model.compile_step = compiled
    shared = models._shared_step
    if decoder == "rowwise":
        models._shared_step = rowwise_step  # SegRNN._forecast looks the step up in its module
    try:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            opt.zero_grad()
            model.loss(batch).backward()
            opt.step()
            times.append(time.perf_counter() - t0)
    finally:
        models._shared_step = shared
    return sorted(times)[len(times) // 2]  # median


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizons", default="96,192,336,720")
    p.add_argument("--d_model", type=int, default=256)
    p.add_argument("--cell", default="gru")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5, help="timed steps per decoder and round (median taken)")
    p.add_argument("--rounds", type=int, default=3, help="alternations of the two decoders")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no_append", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for h in [int(v) for v in args.horizons.split(",")]:
        torch.manual_seed(0)
        model = SegRNN(lookback=96, horizon=h, num_targets=7, seg_len=24, d_model=args.d_model, cell=args.cell)
        model.train()
        g = torch.Generator().manual_seed(0)
        batch = {
            "x": torch.randn(args.batch, 96, 7, generator=g),
            "x_mask": torch.ones(args.batch, 96, 7, dtype=torch.bool),
            "y": torch.randn(args.batch, h, 7, generator=g),
            "y_mask": torch.ones(args.batch, h, 7, dtype=torch.bool),
        }
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        t0 = time.perf_counter()
        step_seconds(model, batch, opt, "+ compile", 2)  # compiles (a cold cache: 10-25 s)
        compile_s = time.perf_counter() - t0
        for config in CONFIGS:  # warm-up
            step_seconds(model, batch, opt, config, 1)
        times: dict[str, list[float]] = {config: [] for config in CONFIGS}
        for _ in range(args.rounds):  # interleaved, so drifts of the machine hit every configuration
            for config in CONFIGS:
                times[config].append(step_seconds(model, batch, opt, config, args.repeats))
        best = {config: min(t) for config, t in times.items()}
        paper = best["paper"]
        rows.append([h, *(f"{best[c] * 1000:.0f} ({paper / best[c]:.1f}x)" for c in CONFIGS), f"{compile_s:.0f}"])
        print(rows[-1], flush=True)
    header = ["horizon", *(f"{c} step ms (speed-up)" for c in CONFIGS), "first compiled steps s"]
    table = markdown_table(header, rows)
    print(table)
    print(machine())
    if not args.no_append:
        cmd = "python benchmarks/segrnn_decoder.py " + " ".join(sys.argv[1:])
        notes = (
            f"One SegRNN training step (forward, backward, Adam), batch {args.batch}, 7 channels, look-back 96, "
            f"segments of 24, d_model {args.d_model}, cell {args.cell}, {args.threads} threads; best of "
            f"{args.rounds} interleaved rounds of the median of {args.repeats} steps."
        )
        notes += (
            " Speed-ups are against the paper's step, best of the rounds each; the last column is the first two"
            " compiled steps with their compilation (inductor's on-disk cache may already hold the kernels)."
        )
        append_results("SegRNN training step: the paper's decoder against rnnkit's", table, cmd.strip(), notes)


if __name__ == "__main__":
    main()
