"""How the reservoir classifier's design is chosen: variants scored by cross-validation on TRAINING splits only.

Every variant of :func:`rnnkit.classify.reservoir.fit_reservoir` named in VARIANTS, and aeon's RocketClassifier
as a yardstick, are trained on k-1 stratified folds of each data set's *training* split and scored on the k-th,
repeated with differently shuffled folds; the test splits are never read. The table holds each variant's mean
validation accuracy per data set and over all of them, and is appended to benchmarks/RESULTS.md with the machine.

    python benchmarks/classify_cv.py                       # the data sets shipped with aeon, 5 folds, 2 repeats
    python benchmarks/classify_cv.py --archive ~/Univariate_ts --folds 3 --repeats 1
    python benchmarks/classify_cv.py --variants "window 9, both ways" "window 9, both ways, 16 groups" --no-rocket

One reservoir seed per fit (rnnkit classify train averages 3). Unequal-length sets are zero-padded for ROCKET, as in
benchmarks/classify.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, in_child_process, markdown_table, zero_padded

VARIANTS = {
    "window 1, forwards": {"window": 1, "bidirectional": False, "calibrated": False},
    "window 9, forwards": {"window": 9, "bidirectional": False, "calibrated": False},
    "window 1, both ways": {"window": 1, "bidirectional": True, "calibrated": False},
    "window 9, both ways": {"window": 9, "bidirectional": True, "calibrated": False},
    "window 9, both ways, 16 groups": {"window": 9, "bidirectional": True, "groups": 16, "calibrated": False},
    "window 9, both ways, 128 units": {"window": 9, "bidirectional": True, "units": 128, "calibrated": False},
    "window 1, both ways, calibrated": {"window": 1, "bidirectional": True, "calibrated": True},
    "window 9, both ways, calibrated": {"window": 9, "bidirectional": True, "calibrated": True},
    "window 9, both ways, 16 groups, calibrated": {
        "window": 9,
        "bidirectional": True,
        "groups": 16,
        "calibrated": True,
    },
}
"""The reservoir settings compared (keyword arguments of fit_reservoir); --variants picks some."""


def rocket_folds(dataset: str, k: int, repeats: int, threads: int) -> list[float]:
    """ROCKET's validation accuracy on the same folds of the training split (zero-padded where lengths differ)."""
    from aeon.classification.convolution_based import RocketClassifier

    from rnnkit.classify.data import load_dataset
    from rnnkit.classify.select import stratified_folds

    data = load_dataset(dataset, "train")
    assert data.labels is not None
    padded = zero_padded(data.series, max(data.lengths))  # (N, F, T)
    labels = np.array(data.labels)
    accuracy = []
    for repeat in range(repeats):
        for fold in stratified_folds(data.labels, k, seed=repeat):
            rest = sorted(set(range(len(data))) - set(fold))
            rocket = RocketClassifier(random_state=repeat, n_jobs=threads).fit(padded[rest], labels[rest])
            accuracy.append(float(np.mean(rocket.predict(padded[fold]) == labels[fold])))
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", help="a folder of UCR/UEA data set folders (default: those shipped with aeon)")
    parser.add_argument("--datasets", help="comma-separated names (default: every data set found)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="cross-validations with differently shuffled folds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="NAME")
    parser.add_argument("--no-rocket", action="store_true", help="skip the ROCKET column")
    parser.add_argument("--no-append", action="store_true", help="print the table without appending to RESULTS.md")
    args = parser.parse_args()

    import torch

    from rnnkit.classify.data import archive_datasets, available_datasets, class_order, load_dataset
    from rnnkit.classify.fit import predict_proba
    from rnnkit.classify.reservoir import fit_reservoir
    from rnnkit.classify.select import folds_possible, stratified_folds

    torch.set_num_threads(args.threads)
    if args.archive:
        found = {p.name: str(p) for p in archive_datasets(args.archive)}
    else:
        found = {name: name for name in available_datasets()}
    names = args.datasets.split(",") if args.datasets else list(found)
    variants = {name: VARIANTS[name] for name in args.variants}
    columns = list(variants) + ([] if args.no_rocket else ["ROCKET"])
    scores: dict[str, dict[str, float]] = {}
    for name in names:
        data = load_dataset(found[name], "train")  # the training split only
        assert data.labels is not None
        k = folds_possible(data.labels, args.folds)
        if k == 0:
            print(f"{name}: a class has a single training series; skipped", flush=True)
            continue
        labels = np.array(data.labels)
        accuracy: dict[str, list[float]] = {c: [] for c in columns}
        start = time.perf_counter()
        for repeat in range(args.repeats):
            for fold in stratified_folds(data.labels, k, seed=repeat):
                rest = sorted(set(range(len(data))) - set(fold))
                train, val = data.subset(rest), data.subset(fold)
                for column, settings in variants.items():
                    model = fit_reservoir(train, **settings)
                    guess = np.array(model.labels)[predict_proba(model, val).argmax(axis=1)]
                    accuracy[column].append(float(np.mean(guess == labels[fold])))
        if not args.no_rocket:  # in a child process: numba's threads would slow the next reservoir fits
            accuracy["ROCKET"] = in_child_process(rocket_folds, found[name], k, args.repeats, args.threads)
        scores[name] = {c: float(np.mean(v)) for c, v in accuracy.items()}
        seconds = time.perf_counter() - start
        figures = ", ".join(f"{c} {v:.3f}" for c, v in scores[name].items())
        size = f"{len(class_order(data.labels))} classes, {len(data)} series"
        print(f"{name} ({size}, {seconds:.0f} s): {figures}", flush=True)

    rows: list[list[object]] = [[n] + [f"{scores[n][c]:.3f}" for c in columns] for n in scores]
    rows.append(["**mean**"] + [f"{np.mean([scores[n][c] for n in scores]):.3f}" for c in columns])
    table = markdown_table(["data set (training split)", *columns], rows)
    print("\n" + table)
    if not args.no_append:
        source = f"--archive {args.archive}" if args.archive else "the data sets shipped with aeon"
        append_results(
            f"Classification: reservoir variants by cross-validation on the training splits ({source})",
            table,
            "python benchmarks/classify_cv.py " + " ".join(sys.argv[1:]),
            f"Mean validation accuracy of stratified {args.folds}-fold cross-validation on each training split, "
            f"{args.repeats} repeat(s) with differently shuffled folds; test splits never read. One reservoir seed "
            f"per fit; ROCKET: RocketClassifier(random_state=REPEAT, n_jobs={args.threads}), zero-padded where "
            "lengths differ.",
        )


if __name__ == "__main__":
    main()
