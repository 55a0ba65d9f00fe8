"""SegRNN's parallel decoder: rnnkit's shared step against the paper's row-by-row step, one training step each.

The paper's code repeats the decoder inputs over the B windows and the encoder
state over the S_out output segments, then runs the cell on all B*C*S_out rows. rnnkit computes the input
projection once per (channel, segment) and the recurrent projection once per (window, channel)
(``rnnkit.forecast.models._shared_step``); the outputs and gradients are the same (tests/forecast/test_models.py).
This times a full training step (forward, backward, Adam) of ``SegRNN`` with each decoder, interleaved, on the
shapes of the ETTh1 benchmark (batch 256, 7 channels, look-back 96, segments of 24).

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


def rowwise_step(rnn: nn.Module, x: Tensor, state: Tensor | tuple[Tensor, Tensor], batch: int) -> Tensor:
    """The paper's decoder step: the cell run on every (window, channel, segment) row. Returns (B, C, S, D)."""
    C, S, d_in = x.shape
    rows = x.unsqueeze(0).expand(batch, -1, -1, -1).reshape(batch * C * S, 1, d_in)
    if isinstance(state, tuple):
        repeated: Tensor | tuple[Tensor, ...] = tuple(s.repeat_interleave(S, dim=1) for s in state)
    else:
        repeated = state.repeat_interleave(S, dim=1)
    out, _ = rnn(rows, repeated)  # (B*C*S, 1, D)
    return out.view(batch, C, S, -1)


def step_seconds(model: SegRNN, batch: dict[str, Tensor], opt: torch.optim.Optimizer, decoder, repeats: int) -> float:
    shared = models._shared_step
    models._shared_step = decoder  # SegRNN._forecast looks the step up in its module
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
        step_seconds(model, batch, opt, models._shared_step, 1)  # warm-up
        step_seconds(model, batch, opt, rowwise_step, 1)
        shared, rowwise = [], []
        for _ in range(args.rounds):  # interleaved, so drifts of the machine hit both
            shared.append(step_seconds(model, batch, opt, models._shared_step, args.repeats))
            rowwise.append(step_seconds(model, batch, opt, rowwise_step, args.repeats))
        s, r = min(shared), min(rowwise)
        rows.append([h, f"{r * 1000:.0f}", f"{s * 1000:.0f}", f"{r / s:.1f}x"])
        print(rows[-1], flush=True)
    header = ["horizon", "row-by-row step ms (paper)", "shared step ms (rnnkit)", "speed-up"]
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
        append_results("SegRNN decoder: shared step against the paper's row-by-row step", table, cmd.strip(), notes)


if __name__ == "__main__":
    main()
