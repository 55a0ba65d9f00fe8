"""`rnnkit classify train` with EVERY DEFAULT against aeon's RocketClassifier, on every UCR/UEA data set at hand.

Without --archive: every classification data set that ships inside aeon (no download). With ``--archive DIR`` (an
unpacked UCR/UEA archive such as Univariate_ts/): every data set folder in it. Official train/test splits; both
methods run one after the other with the same threads, ROCKET in a child process (numba's threads would otherwise
slow the next data set's torch run). Prints a table with each test accuracy, rnnkit's time split (cross-validating
its choices / training the final ensemble / the rest: loading, predicting) beside ROCKET's total, the mean
accuracy, rnnkit's wins/ties/losses and the mean rank, and appends it to benchmarks/RESULTS.md with the machine.

    python benchmarks/classify.py                          # the data sets shipped with aeon
    python benchmarks/classify.py --archive ~/Univariate_ts --runs runs/bench/ucr

Each data set's two results are cached in --runs (a JSON per data set), so an interrupted table resumes where it
stopped; --fresh ignores the cache.

DEVELOPMENT sets (marked "dev" in the table): rnnkit's earlier defaults were chosen on the test splits of
JapaneseVowels, GunPoint, ItalyPowerDemand and BasicMotions, so those rows are no evidence for new data. The others
(ACSF1, ArrowHead, Covid3Month_disc, OSULeaf, PickupGestureWiimoteZ, UnitTest) were never scored on their test
splits while choosing anything; the choices rnnkit makes per data set come from cross-validation on the training
split (see rnnkit.classify.select).

RocketClassifier cannot take unequal-length series, so those (JapaneseVowels, PickupGestureWiimoteZ) are zero-padded
at the end to the longest length for it; rnnkit reads each series at its own length. ROCKET: aeon's defaults
(10,000 kernels, ridge classifier with built-in cross-validation of its regularisation), no time budget.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, in_child_process, markdown_table, zero_padded

DEVELOPMENT = {"JapaneseVowels", "GunPoint", "ItalyPowerDemand", "BasicMotions"}
BEFORE = {"JapaneseVowels": 0.9919, "GunPoint": 1.0, "ItalyPowerDemand": 0.9699, "BasicMotions": 1.0}
"""rnnkit's test accuracy on the development sets before cross-validated choices (RESULTS.md, 2026-12-06 22:05)."""


def run_rnnkit(dataset: str, seed: int, threads: int) -> dict[str, float]:
    from rnnkit.classify.cli import TrainArgs, train

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        m = train(TrainArgs(dataset=dataset, out=out, quiet=True, seed=seed, threads=threads))
    total = time.perf_counter() - start
    cv = float(m.get("chosen", {}).get("seconds", 0.0))
    chosen = m.get("chosen", {}).get("values", {})
    return {
        "accuracy": float(m["test_accuracy"]),
        "seconds": total,
        "cv_seconds": cv,
        "train_seconds": float(m["train_seconds"]),
        "chosen": " ".join(f"{k}={v}" for k, v in chosen.items()),
    }


def run_rocket(dataset: str, seed: int, threads: int) -> dict[str, float]:
    from aeon.classification.convolution_based import RocketClassifier

    from rnnkit.classify.data import load_dataset

    start = time.perf_counter()
    train, test = load_dataset(dataset, "train"), load_dataset(dataset, "test")
    longest = max(train.lengths + test.lengths)
    model = RocketClassifier(random_state=seed, n_jobs=threads)
    model.fit(zero_padded(train.series, longest), np.array(train.labels))
    accuracy = float(np.mean(model.predict(zero_padded(test.series, longest)) == np.array(test.labels)))
    return {"accuracy": accuracy, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", help="a folder of UCR/UEA data set folders (default: those shipped with aeon)")
    parser.add_argument("--datasets", help="comma-separated names (default: every data set found)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="threads for each of rnnkit and ROCKET (n_jobs)")
    parser.add_argument("--runs", default="runs/bench/classify", help="cache of finished data sets")
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument("--no-append", action="store_true", help="print the table without appending to RESULTS.md")
    args = parser.parse_args()

    from rnnkit.classify.data import archive_datasets, available_datasets

    if args.archive:
        found = {p.name: str(p) for p in archive_datasets(args.archive)}
    else:
        found = {name: name for name in available_datasets()}
    names = args.datasets.split(",") if args.datasets else list(found)
    missing = [n for n in names if n not in found]
    if missing:
        parser.error(f"not found: {', '.join(missing)}; found {', '.join(found)}")
    cache = Path(args.runs)
    cache.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        path = cache / f"{name}-seed{args.seed}-threads{args.threads}.json"
        if path.is_file() and not args.fresh:
            results[name] = json.loads(path.read_text())
        else:
            results[name] = {
                "rnnkit": run_rnnkit(found[name], args.seed, args.threads),
                "rocket": in_child_process(run_rocket, found[name], args.seed, args.threads),
            }
            path.write_text(json.dumps(results[name], indent=2))
        r, k = results[name]["rnnkit"], results[name]["rocket"]
        print(
            f"{name}: rnnkit {r['accuracy']:.4f} ({r['seconds']:.0f} s), ROCKET {k['accuracy']:.4f} "
            f"({k['seconds']:.0f} s)",
            flush=True,
        )

    rows, wins, ties, losses, ranks = [], 0, 0, 0, []
    for name in names:
        r, k = results[name]["rnnkit"], results[name]["rocket"]
        gap = r["accuracy"] - k["accuracy"]
        if abs(gap) < 1e-9:
            ties, rank = ties + 1, 1.5
        elif gap > 0:
            wins, rank = wins + 1, 1.0
        else:
            losses, rank = losses + 1, 2.0
        ranks.append(rank)
        rest = r["seconds"] - r["cv_seconds"] - r["train_seconds"]
        before = f" (before {BEFORE[name]:.4f})" if name in BEFORE else ""
        rows.append(
            [
                name + (" (dev)" if name in DEVELOPMENT else ""),
                f"{r['accuracy']:.4f}{before}",
                f"{k['accuracy']:.4f}",
                f"{100 * gap:+.1f}",
                f"{r['cv_seconds']:.0f} / {r['train_seconds']:.0f} / {rest:.0f}",
                f"{r['seconds']:.0f}",
                f"{k['seconds']:.0f}",
                r["chosen"],
            ]
        )
    mean_r = np.mean([results[n]["rnnkit"]["accuracy"] for n in names])
    mean_k = np.mean([results[n]["rocket"]["accuracy"] for n in names])
    rows.append(["**mean**", f"{mean_r:.4f}", f"{mean_k:.4f}", f"{100 * (mean_r - mean_k):+.1f}", "", "", "", ""])
    header = [
        "data set",
        "rnnkit acc",
        "ROCKET acc",
        "points",
        "rnnkit s: choose / train / rest",
        "rnnkit s",
        "ROCKET s",
        "chosen by cross-validation",
    ]
    table = markdown_table(header, rows)
    summary = (
        f"rnnkit against ROCKET: {wins} wins, {ties} ties, {losses} losses over {len(names)} data sets; mean rank "
        f"rnnkit {np.mean(ranks):.2f}, ROCKET {3 - np.mean(ranks):.2f} (1 = best of the two); worst gap "
        f"{100 * min(results[n]['rnnkit']['accuracy'] - results[n]['rocket']['accuracy'] for n in names):+.1f} "
        "points."
    )
    print("\n" + table + "\n\n" + summary)
    if not args.no_append:
        notes = (
            summary + " rnnkit: `rnnkit classify train --dataset NAME` with every default (its 5-minute budget; "
            "cross-validation on the training series chooses the options it leaves unset, then an ensemble of 3 "
            f"trains on all of them), {args.threads} torch threads; ROCKET: `RocketClassifier(random_state="
            f"{args.seed}, n_jobs={args.threads})`. Seconds include loading, training and predicting the test set. "
            "(dev): development sets, whose test splits chose earlier defaults; '(before x)' is that set's figure "
            "before this version. Unequal-length sets are zero-padded for ROCKET."
        )
        source = f"--archive {args.archive}" if args.archive else "the data sets shipped with aeon"
        append_results(
            f"Classification: rnnkit defaults vs ROCKET on {len(names)} UCR/UEA data sets ({source})",
            table,
            "python benchmarks/classify.py " + " ".join(sys.argv[1:]),
            notes,
        )


if __name__ == "__main__":
    main()
