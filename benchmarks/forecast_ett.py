"""ETTh1 under the long-horizon protocol (LTSF): `rnnkit forecast train` with its defaults, test MSE/MAE beside
published numbers and rnnkit's own baselines, and the 80% interval coverage of a Gaussian-head model.

Protocol (the shared data's README): all 7 channels in and out, look-back 96, train rows [0, 8640), validation
[8640-96, 11520), test [11520-96, 14400), standard scaler fitted on the training rows, metrics on scaled values,
every test window scored (stride 1). Each horizon is one `rnnkit forecast train --protocol ltsf` run with every
other flag at its default unless given with --set (for example --set ensemble=3), under --budget minutes.

    python benchmarks/forecast_ett.py --horizons 96,192,336,720 --budget 9

Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.forecast.cli import TrainCommand, load_forecaster, train
from rnnkit.forecast.data import load_series
from rnnkit.forecast.pipeline import evaluate, prepare

CHANNELS = "HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"
# Published ETTh1 test MSE / MAE at look-back 96: iTransformer and DLinear from the iTransformer paper (Table 10);
# SegRNN from its authors' look-back-96 table (SegRNN repository README, rerun with the MSE loss after they fixed
# the test loader's drop_last bug; horizon 96 matches the shared data README).
PUBLISHED = {
    "SegRNN (paper)": {96: (0.368, 0.395), 192: (0.408, 0.419), 336: (0.444, 0.440), 720: (0.446, 0.457)},
    "iTransformer (paper)": {96: (0.386, 0.405), 192: (0.441, 0.436), 336: (0.487, 0.458), 720: (0.503, 0.491)},
    "DLinear (paper)": {96: (0.386, 0.400), 192: (0.437, 0.432), 336: (0.481, 0.459), 720: (0.519, 0.516)},
}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, values read as JSON when they parse (numbers, true/false/null), else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run(horizon: int, budget: float, out: Path, sets: dict[str, Any]) -> tuple[dict, float, TrainCommand]:
    cfg = TrainCommand(
        csv=str(rnnkit.data_dir("timeseries", "ETTh1.csv")),
        target=CHANNELS,
        time_col="date",
        protocol="ltsf",
        lookback=96,
        horizon=horizon,
        time_budget=budget,
        out=str(out),
        quiet=True,
        **{"fallback": False, **sets},  # measure the network itself, never a baseline kept in its place
    )
    t0 = time.perf_counter()
    metrics = train(cfg)
    return metrics, time.perf_counter() - t0, cfg


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizons", default="96,192,336,720")
    p.add_argument("--budget", type=float, default=9.0, help="training minutes per horizon")
    p.add_argument("--set", nargs="*", default=[], help="TrainCommand fields to change, e.g. ensemble=3")
    p.add_argument("--coverage_horizon", type=int, default=96, help="0: skip the Gaussian-head coverage run")
    p.add_argument("--coverage_budget", type=float, default=4.0, help="training minutes of the coverage run")
    p.add_argument(
        "--ablate",
        nargs="*",
        default=[],
        help="single-model variants at --ablate_horizon, each a space-free list of key=value changes joined by "
        "commas (e.g. cycle=0 head=median); each is trained beside the defaults, one model, --ablate_budget min",
    )
    p.add_argument("--ablate_budget", type=float, default=3.0)
    p.add_argument("--ablate_horizon", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", default="runs/bench_ett")
    p.add_argument("--no_append", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    sets = parse_sets(args.set)
    horizons = [int(h) for h in args.horizons.split(",") if h]  # "" runs only the coverage model
    rows, notes, cfg, kept = [], [], None, []
    for h in horizons:
        metrics, seconds, cfg = run(h, args.budget, Path(args.runs) / f"h{h}", sets)
        test = metrics["test"]
        print(json.dumps({h: {"test": test, "seconds": seconds}}), flush=True)
        m = test["model"]
        n = metrics["ensemble"]  # --fill_budget may train more members than --ensemble
        label = f"rnnkit {cfg.model}" + (f" (ensemble of {n})" if n > 1 else "")
        rows.append([h, label, f"{m['mse']:.3f}", f"{m['mae']:.3f}", f"{seconds / 60:.1f}"])
        if n > 1:  # what one member alone scores: the ensemble's gain
            model = load_forecaster(Path(args.runs) / f"h{h}")
            series = load_series(cfg.csv, CHANNELS, time_col="date")
            prep = prepare(series, 96, h, protocol="ltsf", name="ETTh1.csv")
            one = evaluate(model.members[0], prep, "test", baselines=False)[0]["model"]  # type: ignore[index]
            rows.append(
                [h, f"rnnkit {cfg.model} (its first member alone)", f"{one['mse']:.3f}", f"{one['mae']:.3f}", ""]
            )
        val = metrics["choice"]["val"]  # validation MASE of the network and each baseline
        best = min(val, key=val.get)
        kept.append(
            f"h={h}: {'the network' if best == 'model' else best} ({', '.join(f'{k} {v:.3f}' for k, v in val.items())})"
        )
        for name in ("linear", "naive"):
            rows.append([h, f"rnnkit {name}", f"{test[name]['mse']:.3f}", f"{test[name]['mae']:.3f}", ""])
        for name, table in PUBLISHED.items():
            if h in table:
                rows.append([h, name, f"{table[h][0]:.3f}", f"{table[h][1]:.3f}", ""])
    ablation_rows = []
    if args.ablate:
        h = args.ablate_horizon
        for variant in ["", *args.ablate]:
            change = parse_sets([kv for kv in variant.split(",") if kv])
            out = Path(args.runs) / f"ablate_h{h}_{variant.replace('=', '-').replace(',', '_') or 'defaults'}"
            metrics, seconds, _ = run(h, args.ablate_budget, out, {**sets, "ensemble": 1, **change})
            m, best = metrics["test"]["model"], metrics["best_val"]
            ablation_rows.append(
                [
                    variant or "(defaults)",
                    f"{m['mse']:.4f}",
                    f"{m['mae']:.4f}",
                    f"{best['val_mse']:.4f}",
                    f"{seconds:.0f}",
                ]
            )
            print(json.dumps({"ablate": variant, "test": m, "val": best, "seconds": seconds}), flush=True)
        notes.append(
            f"Ablation at horizon {h}: one model each (ensemble=1), {args.ablate_budget:g}-minute budget, seed 0; "
            "val MSE is the best validation MSE (what early stopping keeps).\n\n"
            + markdown_table(["change", "test MSE", "test MAE", "val MSE", "train+eval s"], ablation_rows)
        )
    if args.coverage_horizon:
        out = Path(args.runs) / f"h{args.coverage_horizon}_gaussian"
        metrics, seconds, ccfg = run(args.coverage_horizon, args.coverage_budget, out, {**sets, "head": "gaussian"})
        m = metrics["test"]["model"]
        # The same model with the factor fitted once on validation (split conformal) instead of rolling.
        model = load_forecaster(out)
        series = load_series(ccfg.csv, CHANNELS, time_col="date")
        prep = prepare(series, 96, args.coverage_horizon, protocol="ltsf", name="ETTh1.csv")
        split = evaluate(model, prep, "test", baselines=False, rolling=None)[0]["model"]
        notes.append(
            f"80% intervals (Gaussian head, h={args.coverage_horizon}, trained {seconds / 60:.1f} min): empirical "
            f"test coverage {m['coverage_80']:.3f} with rolling conformal calibration (the default, last "
            f"{ccfg.rolling} windows known at each origin), mean width {m['width_80']:.3f}; "
            f"{split['coverage_80']:.3f} (width {split['width_80']:.3f}) with one factor fitted on validation; "
            f"{metrics['interval_calibration']['raw_coverage']:.3f} was the uncalibrated coverage on validation. "
            f"Target 0.75-0.85. Point MSE {m['mse']:.3f}, MAE {m['mae']:.3f}."
        )
    if cfg is not None and horizons:
        last = load_forecaster(Path(args.runs) / f"h{horizons[-1]}")
        first = last.members[0] if cfg.ensemble > 1 else last
        changed = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name in sets}
        notes.append(
            f"`rnnkit forecast train --protocol ltsf --lookback 96 --horizon H --time_budget {args.budget:g}` with "
            f"defaults (model {cfg.model}, d_model {cfg.d_model}, dropout 0.5, head {cfg.head}, lr {cfg.lr}, batch "
            f"{cfg.batch_size}, epochs {cfg.epochs}, early stopping {cfg.early_stopping}, "
            f"{f'weight average (EMA {cfg.ema})' if cfg.ema else 'no weight average'}, "
            f"{'RevIN' if first.revin is not None else 'last value subtracted (no RevIN)'}, learnt cycle of "
            f"{first.cycle} steps, ensemble {cfg.ensemble}"
            f"{', more members while the budget lasts' if cfg.fill_budget and cfg.ensemble > 1 else ''}, "
            f"decoder step {'compiled' if cfg.compile else 'eager'})"
            f"{'; changed: ' + str(changed) if changed else ''}; {args.threads} torch threads. "
            "rnnkit linear = DLinear-style closed-form ridge fit; naive = last value. Published rows are copied "
            "from the papers, not re-run. The rows are the network's (--fallback false); with the default --fallback "
            "true, forecast train keeps whichever has the lowest validation MASE: " + "; ".join(kept) + "."
        )
    table = markdown_table(["horizon", "model", "test MSE", "test MAE", "train min"], rows)
    print(table)
    print("\n\n".join(notes))
    if not args.no_append:
        cmd = "python benchmarks/forecast_ett.py " + " ".join(sys.argv[1:])
        kind = "development set" if rows else "development set; ablation / coverage only"
        title = f"Forecasting: ETTh1, LTSF protocol, look-back 96 ({kind})"
        append_results(title, table if rows else "", cmd.strip(), "\n\n".join(notes))
    print(machine())


if __name__ == "__main__":
    main()
