"""Why `forecast train` averages weights: test MSE after every epoch, raw weights against their moving averages.

One SegRNN (forecast train's architecture and defaults: d_model 256, segments of 24, dropout 0.5, MAE loss,
learnt cycle of 24, AdamW at 1e-3 with a cosine schedule over --epochs, batch 256) is trained on ETTh1 under the
LTSF protocol. After every epoch the validation and test MSE of the raw weights and of bias-corrected exponential
moving averages of them (one per --decays) are printed. The test numbers are for diagnosis only: nothing here
selects anything by them.

    python benchmarks/forecast_ema_curve.py --horizon 720 --epochs 16 --decays 0.98,0.995

Appends the table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.forecast.cli import TrainCommand, _load
from rnnkit.forecast.models import Forecaster, SegRNN
from rnnkit.forecast.pipeline import Prepared, prepare

CHANNELS = "HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"


@torch.no_grad()
def mse(model: Forecaster, prep: Prepared, split: str) -> float:
    model.eval()
    se, n = 0.0, 0
    for batch in prep.loader(split, 1024):
        point = model.head.point(model(batch))  # (B, H, C)
        se += float(((point - batch["y"]) ** 2).sum())
        n += batch["y"].numel()
    model.train()
    return se / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizon", type=int, default=720)
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--decays", default="0.98,0.995")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no_append", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    decays = [float(d) for d in args.decays.split(",")]
    cfg = TrainCommand(
        csv=str(rnnkit.data_dir("timeseries", "ETTh1.csv")), target=CHANNELS, time_col="date", protocol="ltsf"
    )
    prep = prepare(_load(cfg), 96, args.horizon, protocol="ltsf", name="ETTh1.csv")
    torch.manual_seed(args.seed)
    model = SegRNN(
        lookback=96,
        horizon=args.horizon,
        num_targets=7,
        seg_len=24,
        d_model=256,
        dropout=0.5,
        cycle=24,
        head="median",
        revin=False,
    )
    model.compile_step = True
    averaged = {d: SegRNN.from_model_config(model.model_config()) for d in decays}
    sums = {d: [torch.zeros_like(w) for w in model.parameters()] for d in decays}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    train = prep.loader("train", 256, shuffle=True, seed=args.seed)
    total = args.epochs * len(train)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    rows, step, t0 = [], 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for batch in train:
            opt.zero_grad()
            model.loss(batch).backward()
            opt.step()
            sched.step()
            step += 1
            with torch.no_grad():  # zero-started sums, divided by 1 - d**step (as TrainConfig(ema=d) does)
                for d in decays:
                    torch._foreach_lerp_(sums[d], list(model.parameters()), 1 - d)
        row = [epoch, step, f"{mse(model, prep, 'val'):.4f}", f"{mse(model, prep, 'test'):.4f}"]
        for d in decays:
            with torch.no_grad():
                for w, s in zip(averaged[d].parameters(), sums[d], strict=True):
                    w.copy_(s / (1 - d**step))
            row += [f"{mse(averaged[d], prep, 'val'):.4f}", f"{mse(averaged[d], prep, 'test'):.4f}"]
        rows.append(row)
        print(row, f"{time.perf_counter() - t0:.0f} s", flush=True)
    header = ["epoch", "step", "raw val MSE", "raw test MSE"]
    for d in decays:
        header += [f"EMA {d} val MSE", f"EMA {d} test MSE"]
    table = markdown_table(header, rows)
    print(table)
    print(machine())
    if not args.no_append:
        cmd = "python benchmarks/forecast_ema_curve.py " + " ".join(sys.argv[1:])
        notes = (
            f"One SegRNN member at horizon {args.horizon} (look-back 96, d_model 256, segments of 24, dropout 0.5, MAE"
            f" loss, cycle 24, AdamW 1e-3, cosine over {args.epochs} epochs, batch 256, seed {args.seed}); MSE on"
            " scaled values after each epoch, of the raw weights and of their bias-corrected moving averages. Test"
            " columns are for diagnosis only: choose --ema from the validation columns (ETTh1 is a development set)."
        )
        append_results(
            f"Forecasting: ETTh1 h={args.horizon}, raw weights against their moving average (development set)",
            table,
            cmd,
            notes,
        )


if __name__ == "__main__":
    main()
