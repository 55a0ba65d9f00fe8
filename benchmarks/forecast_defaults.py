"""The forecasting defaults compared on VALIDATION data only: which value of each defaulted flag forecasts better.

Each option the defaults of `rnnkit forecast train` were set for is trained beside a reference (the defaults as they
were first chosen on ETTh1's test split: median head, EMA 0.995, no RevIN for segrnn, spelt out in VARIANTS) and
scored on the validation windows; no test window is scored or printed (the training command's own test table is
swallowed):

- ``--head median`` (MAE loss) against ``--head point`` (MSE loss);
- ``--ema 0.995`` against no weight average (the default since this comparison);
- ``--revin`` off (for segrnn: the window's last value is subtracted) against on;
- ``--ensemble 2`` (default) against 1: the mean forecast of the models of seeds s and s+1 against the model of seed
  s alone (what ``--ensemble 2`` trains);
- more members or longer ones in the same budget: 3 members (seeds s..s+2) of 2/3 of the epochs each (what
  ``--ensemble 3`` does when its members share a budget) against the 2 members of the full epochs. ``--fill_budget``
  itself acts only under a ``--time_budget`` (it adds members when members stop early), which the machine's load
  would change, so it is not compared here.

Data: ETTh1 under the LTSF protocol (7 channels, look-back 96; validation rows [8640-96, 11520)) and the
Melbourne daily minimum temperatures (temps.csv, holdout protocol, validation = the 20% of rows before the 20%
test rows, carved from what would otherwise be training data). Fixed epochs (no time budget), so the machine's load
does not change the figures; early stopping and the best checkpoint use the same validation windows, as
`rnnkit forecast train` does (every variant gets the same advantage from that). Seeds 0 and 1.

    python benchmarks/forecast_defaults.py --runs runs/bench_defaults            # train, write runs/.../rows.jsonl
    python benchmarks/forecast_defaults.py --runs runs/bench_defaults --report   # table; appends to RESULTS.md

The training writes one JSON line per trained model to RUNS/rows.jsonl and skips models already there (or whose
folder exists: being trained, or left by a killed run, then remove it), so an interrupted run resumes and a second
process with ``--reverse`` shares the work from the other end (the figures are per model, so load changes none);
``--report`` reads them and appends the table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.forecast.cli import TrainCommand, load_forecaster, train
from rnnkit.forecast.data import load_series
from rnnkit.forecast.models import ForecastEnsemble
from rnnkit.forecast.pipeline import evaluate, prepare

DATASETS: dict[str, dict[str, Any]] = {
    "ETTh1": {
        "csv": ("timeseries", "ETTh1.csv"),
        "target": "HUFL,HULL,MUFL,MULL,LUFL,LULL,OT",
        "time_col": "date",
        "protocol": "ltsf",
    },
    "temps": {
        "csv": ("timeseries", "temps.csv"),
        "target": "Daily minimum temperatures",
        "time_col": "Date",
        "protocol": "holdout",
        "gaps": "fill",  # two missing days (31 December of leap years), as benchmarks/forecast_weather.py
        "val_frac": 0.2,
        "test_frac": 0.2,
    },
}
# name -> TrainCommand fields. "defaults" is the reference: the defaults these options were first chosen with
# (median head, EMA 0.995, no RevIN for segrnn), spelt out so that a later change of a default does not change
# it; each other variant changes one of them. The ensemble and fill rows are built from the reference models.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {"head": "median", "ema": 0.995, "revin": False},
    "head=point": {"head": "point"},
    "ema=none": {"ema": None},
    "revin=on": {"revin": True},
}


def command(ds: str, horizon: int, epochs: int, seed: int, out: Path, change: dict[str, Any]) -> TrainCommand:
    spec = {k: v for k, v in DATASETS[ds].items() if k != "csv"}
    return TrainCommand(
        csv=str(rnnkit.data_dir(*DATASETS[ds]["csv"])),
        lookback=96,
        horizon=horizon,
        epochs=epochs,
        ensemble=1,
        seed=seed,
        out=str(out),
        quiet=True,
        fallback=False,  # score the network itself, never a baseline kept in its place
        **spec,
        **{**VARIANTS["defaults"], **change},
    )


def val_scores(model: Any, cfg: TrainCommand) -> dict[str, float]:
    """MSE and MAE of ``model`` on the validation windows of ``cfg``'s data (the test split is never scored)."""
    series = load_series(cfg.csv, cfg.target, time_col=cfg.time_col, gaps=cfg.gaps)
    prep = prepare(
        series, 96, cfg.horizon, protocol=cfg.protocol, name=Path(cfg.csv).name, val_frac=cfg.val_frac,
        test_frac=cfg.test_frac,
    )  # fmt: skip
    res = evaluate(model, prep, "val", baselines=True)[0]
    return {
        "mse": res["model"]["mse"],
        "mae": res["model"]["mae"],
        "linear_mse": res["linear"]["mse"],
        "naive_mse": res["naive"]["mse"],
    }


def fit(ds: str, h: int, epochs: int, seed: int, name: str, change: dict[str, Any], runs: Path, done: set) -> None:
    key = f"{ds}/h{h}/{name}/e{epochs}/s{seed}"
    jsonl = runs / "rows.jsonl"
    if jsonl.exists():  # another process (--reverse) may have trained it since this one started
        done |= {json.loads(line)["key"] for line in jsonl.read_text().splitlines()}
    if key in done:
        return
    out = runs / key.replace("/", "_")
    if out.exists():
        print(f"skipping {key}: {out} exists (another process is training it, or a killed run: remove it)")
        return
    cfg = command(ds, h, epochs, seed, out, change)
    with contextlib.redirect_stdout(io.StringIO()):  # train() prints its test table: not looked at here
        metrics = train(cfg)
    row = {"key": key, "ds": ds, "h": h, "variant": name, "epochs": epochs, "seed": seed, "steps": metrics["steps"]}
    row |= val_scores(load_forecaster(out), cfg)
    with (runs / "rows.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    done.add(key)
    print(json.dumps(row), flush=True)


def ensemble_scores(ds: str, h: int, epochs: int, seeds: list[int], runs: Path) -> dict[str, float]:
    members = [load_forecaster(runs / f"{ds}_h{h}_defaults_e{epochs}_s{s}") for s in seeds]
    cfg = command(ds, h, epochs, seeds[0], runs / "unused", {})
    return val_scores(ForecastEnsemble(members), cfg)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="ETTh1,temps")
    p.add_argument("--horizons", default="ETTh1:96,720;temps:96,336", help="per data set: NAME:H,H;NAME:H")
    p.add_argument("--epochs", default="ETTh1:5;temps:30", help="fixed epochs per data set (early stopping 5)")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", default="runs/bench_defaults")
    p.add_argument("--report", action="store_true", help="build the table from RUNS/rows.jsonl and append it")
    p.add_argument("--no_append", action="store_true")
    p.add_argument(
        "--reverse", action="store_true", help="train the models in reverse order: a second process beside a first"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    horizons = {k: [int(h) for h in v.split(",")] for k, v in (x.split(":") for x in args.horizons.split(";"))}
    epochs = {k: int(v) for k, v in (x.split(":") for x in args.epochs.split(";"))}
    seeds = [int(s) for s in args.seeds.split(",")]
    jsonl = runs / "rows.jsonl"
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []
    done = {r["key"] for r in rows}
    plan = [(ds, h) for ds in args.datasets.split(",") for h in horizons[ds]]
    if not args.report:
        jobs: list[tuple[str, int, int, int, str, dict[str, Any]]] = []
        for ds, h in plan:
            e = epochs[ds]
            jobs += [(ds, h, e, seed, "defaults", {}) for seed in [*seeds, max(seeds) + 1]]  # s+1: 2nd member
            jobs += [(ds, h, e, seed, name, change) for name, change in VARIANTS.items() for seed in seeds]
        for ds, h in plan:  # 3 members of 2/3 of the epochs (seeds s..s+2): --ensemble 3 sharing 2 members' budget
            jobs += [
                (ds, h, round(epochs[ds] * 2 / 3), seed, "defaults", {}) for seed in range(min(seeds), max(seeds) + 3)
            ]
        for job in reversed(jobs) if args.reverse else jobs:
            fit(*job, runs, done)
        return
    by = {r["key"]: r for r in rows}
    table, summary, missing = [], [], []
    signs: dict[str, list[bool]] = {}  # option -> per (data set, horizon, seed): did the alternative win?
    for ds, h in plan:
        e = epochs[ds]
        base = [by.get(f"{ds}/h{h}/defaults/e{e}/s{s}") for s in seeds]
        if None in base:
            missing.append(f"{ds} h{h}")
            continue
        first = [b["mse"] for b in base]  # type: ignore[index]
        ref = f"{np.mean(first):.4f}"
        label = "reference (median head, EMA 0.995, no RevIN), 1 model"
        table.append([ds, h, label, *(f"{m:.4f}" for m in first), ref])
        for name in VARIANTS:
            if name == "defaults":
                continue
            got = [by.get(f"{ds}/h{h}/{name}/e{e}/s{s}") for s in seeds]
            if None in got:
                continue
            mses = [g["mse"] for g in got]  # type: ignore[index]
            table.append([ds, h, name, *(f"{m:.4f}" for m in mses), f"{np.mean(mses):.4f}"])
            summary.append((ds, h, name, float(np.mean(mses) - np.mean(first))))
            signs.setdefault(name, []).extend(m < f for m, f in zip(mses, first))
        if all(by.get(f"{ds}/h{h}/defaults/e{e}/s{s + 1}") for s in seeds):
            ens = [ensemble_scores(ds, h, e, [s, s + 1], runs)["mse"] for s in seeds]
            table.append([ds, h, "ensemble=2 (seeds s, s+1)", *(f"{m:.4f}" for m in ens), f"{np.mean(ens):.4f}"])
            summary.append((ds, h, "ensemble=2", float(np.mean(ens) - np.mean(first))))
            signs.setdefault("ensemble=1 (alternative to 2)", []).extend(f < m for m, f in zip(ens, first))
            e3 = round(e * 2 / 3)
            if all(by.get(f"{ds}/h{h}/defaults/e{e3}/s{s + k}") for s in seeds for k in range(3)):
                fill = [ensemble_scores(ds, h, e3, [s, s + 1, s + 2], runs)["mse"] for s in seeds]
                table.append(
                    [ds, h, f"ensemble=3 sharing the epochs of 2 ({e3} each)", *(f"{m:.4f}" for m in fill),
                     f"{np.mean(fill):.4f}"]
                )  # fmt: skip
                gain = float(np.mean(fill) - np.mean(ens))
                summary.append((ds, h, "ensemble=3 (2/3 epochs each) vs ensemble=2", gain))
                key = "ensemble=3 sharing the budget (alternative to 2)"
                signs.setdefault(key, []).extend(a < b for a, b in zip(fill, ens))
        lin = f"{base[0]['linear_mse']:.4f}"  # type: ignore[index]
        table.append([ds, h, "linear baseline (ridge, train windows)", lin, *[""] * len(seeds)])
    header = ["data", "horizon", "variant", *(f"val MSE seed {s}" for s in seeds), "mean"]
    text = markdown_table(header, table)
    notes = (
        "Validation MSE only (ETTh1: LTSF validation rows, scaled units; temps: the 20% of rows before the test "
        "rows, degrees C squared); no test window was scored. Epochs fixed per data set ("
        + ", ".join(f"{k} {v}" for k, v in epochs.items() if k in args.datasets.split(","))
        + "; early stopping 5), every other flag at its default; differences against the reference's mean (negative: "
        "the variant is better): "
        + "; ".join(f"{ds} h{h} {name} {d:+.4f}" for ds, h, name, d in summary)
        + ". ETTh1 and temps are development sets for these defaults from now on."
        + (f" Not run yet (no rows): {', '.join(missing)}." if missing else "")
        + " Rule: a default changes only when its alternative wins every validation comparison (data set, "
        "horizon, seed), here and in the other validation figures of benchmarks/RESULTS.md (ETTh1 ablations, "
        "EMA curve). "
        + "; ".join(
            f"{name}: the alternative won {sum(w)} of {len(w)}"
            + (" (all comparisons here favour it)" if all(w) else " (all favour the reference)" if not any(w) else "")
            for name, w in signs.items()
        )
        + "."
    )
    print(text)
    print(notes)
    if not args.no_append:
        cmd = "python benchmarks/forecast_defaults.py " + " ".join(a for a in sys.argv[1:] if a != "--report")
        append_results("Forecasting defaults on validation data (development: ETTh1, temps)", text, cmd, notes)
    print(machine())


if __name__ == "__main__":
    main()
