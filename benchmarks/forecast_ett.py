"""ETTh1 under the long-horizon protocol (LTSF): test MSE/MAE of SegRNN beside published numbers and baselines.

Protocol (benchmarks read the shared data's README): all 7 channels in and out, look-back 96, train rows
[0, 8640), validation [8640-96, 11520), test [11520-96, 14400), standard scaler fitted on the training rows,
metrics on scaled values, every test window scored (stride 1). Each horizon trains under a wall-clock budget
(--budget minutes) with early stopping on the validation MSE; the model kept is the best on validation.
The 80% interval coverage comes from a second SegRNN with a Gaussian head (--coverage_horizon).

    python benchmarks/forecast_ett.py --horizons 96,192,336,720 --budget 9

Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.forecast.data import load_series
from rnnkit.forecast.models import SegRNN
from rnnkit.forecast.pipeline import calibrate, evaluate, model_meta, prepare, train
from rnnkit.train import TrainConfig, seed_everything

CHANNELS = "HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"
# Published ETTh1 test MSE / MAE at look-back 96 (iTransformer paper, Table 10; SegRNN as quoted in the shared
# data README for horizon 96 only).
PUBLISHED = {
    "SegRNN (paper)": {96: (0.368, 0.395)},
    "iTransformer (paper)": {96: (0.386, 0.405), 192: (0.441, 0.436), 336: (0.487, 0.458), 720: (0.503, 0.491)},
    "DLinear (paper)": {96: (0.386, 0.400), 192: (0.437, 0.432), 336: (0.481, 0.459), 720: (0.519, 0.516)},
}


def run(args: argparse.Namespace, horizon: int, head: str, budget: float) -> tuple[dict, dict]:
    seed_everything(args.seed)
    series = load_series(rnnkit.data_dir("timeseries", "ETTh1.csv"), CHANNELS, time_col="date")
    prep = prepare(series, args.lookback, horizon, protocol="ltsf", name="ETTh1.csv")
    model = SegRNN(
        lookback=args.lookback,
        horizon=horizon,
        num_targets=7,
        seg_len=args.seg_len,
        d_model=args.d_model,
        dropout=args.dropout,
        head=head,
        meta=model_meta(prep, season=24),
    )
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=0.0,
        early_stopping=args.patience,
        monitor="val_mse",
        time_budget=budget,
        seed=args.seed,
        quiet=True,
    )
    t0 = time.perf_counter()
    fit = train(model, prep, config, run_dir=Path(args.runs) / f"h{horizon}_{head}")
    seconds = time.perf_counter() - t0
    results, _ = evaluate(model, prep, "test", level=0.8, season=24)
    if model.head.intervals:  # split-conformal rescaling on the validation windows, then the test again
        raw = results["model"]["coverage_80"]
        calibrate(model, prep, 0.8)
        results, _ = evaluate(model, prep, "test", level=0.8, season=24)
        results["model"]["coverage_80_uncalibrated"] = raw
    info = {
        "seconds": seconds,
        "steps": fit.steps,
        "epochs": fit.best_metrics.get("epoch"),
        "stopped": fit.stopped_reason,
    }
    return results, info


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizons", default="96,192,336,720")
    p.add_argument("--lookback", type=int, default=96)
    p.add_argument("--budget", type=float, default=9.0, help="training minutes per horizon")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--d_model", type=int, default=256)
    p.add_argument("--seg_len", type=int, default=24)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--head", default="median", help="point (MSE loss) or median (MAE loss, the SegRNN paper's)")
    p.add_argument("--coverage_horizon", type=int, default=96, help="0: skip the Gaussian-head coverage run")
    p.add_argument("--coverage_budget", type=float, default=4.0, help="training minutes of the coverage run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="runs/bench_ett")
    p.add_argument("--no_append", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    horizons = [int(h) for h in args.horizons.split(",") if h]  # "" runs only the coverage model
    rows, raw = [], {}
    for h in horizons:
        results, info = run(args, h, args.head, args.budget)
        raw[h] = {"results": results, **info}
        print(json.dumps({h: raw[h]}), flush=True)
        m = results["model"]
        rows.append(
            [h, "rnnkit SegRNN", f"{m['mse']:.3f}", f"{m['mae']:.3f}", f"{info['seconds'] / 60:.1f}", info["epochs"]]
        )
        for name in ("linear", "naive"):
            b = results[name]
            rows.append([h, f"rnnkit {name}", f"{b['mse']:.3f}", f"{b['mae']:.3f}", "", ""])
        for name, table in PUBLISHED.items():
            if h in table:
                rows.append([h, name, f"{table[h][0]:.3f}", f"{table[h][1]:.3f}", "", ""])
    notes = []
    if args.coverage_horizon:
        results, info = run(args, args.coverage_horizon, "gaussian", args.coverage_budget)
        m = results["model"]
        raw["coverage"] = {"results": results, **info}
        print(json.dumps({"coverage": raw["coverage"]}), flush=True)
        notes.append(
            f"80% interval (SegRNN, Gaussian head, h={args.coverage_horizon}): empirical test coverage "
            f"{m['coverage_80']:.3f} after rescaling the intervals on the validation windows (split-conformal; "
            f"{m['coverage_80_uncalibrated']:.3f} before), over all test windows, steps and channels (target "
            f"0.75-0.85); mean width {m['width_80']:.3f} (scaled units); its point MSE "
            f"{m['mse']:.3f}, MAE {m['mae']:.3f}; trained {info['seconds'] / 60:.1f} min."
        )
    notes.append(
        f"SegRNN: d_model={args.d_model}, seg_len={args.seg_len}, dropout={args.dropout}, head={args.head}, "
        f"lr={args.lr}, batch {args.batch_size}, RevIN, early stopping on val MSE (patience {args.patience}), "
        f"budget {args.budget} min per horizon, {args.threads} torch threads. rnnkit linear = DLinear-style "
        "closed-form ridge fit; naive = last value. Published rows are copied from the papers, not re-run."
    )
    table = markdown_table(["horizon", "model", "test MSE", "test MAE", "train min", "best epoch"], rows)
    print(table)
    print("\n".join(notes))
    if not args.no_append:
        cmd = "python benchmarks/forecast_ett.py " + " ".join(sys.argv[1:])
        title = "Forecasting: ETTh1, LTSF protocol, look-back 96" + ("" if rows else " (interval coverage only)")
        append_results(title, table if rows else "", cmd.strip(), "\n\n".join(notes))
    print(machine())


if __name__ == "__main__":
    main()
