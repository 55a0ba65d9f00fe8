"""Per-data-set choices made from the training split only: stratified k-fold cross-validation.

Every option of :class:`~rnnkit.classify.estimator.ClassifierOptions` listed in :data:`CHOICES` may be left unset
(``None``, the default); :func:`choose` then trains each combination of the unset options' candidate values on
k-1 folds of the *training* series and scores it on the k-th, and keeps the combination with the best mean
validation accuracy (ties: the lower mean validation log-loss, then the earlier, simpler combination). Options
the user set are used as given. The test split is never read: the CLI hands only the training series to the fit
(tests/classify/test_select.py poisons the test labels and checks the choice and the weights stay the same).

What was tried and the fold scores go to metrics.json under ``"chosen"`` (and OUT/chosen.json, which ``--resume``
reuses instead of choosing again).

Why these candidates: the plain recurrent classifier memorises a few dozen training series and stops there; a
convolutional branch beside it (LSTM-FCN) and jitter/scaling augmentation are the published remedies, and which of
them helps differs by data set (the development runs in benchmarks/RESULTS.md, "Classification: cross-validated
choices", show each winning somewhere and losing somewhere), so each data set chooses.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.classify.data import SeriesSet, class_order
from rnnkit.train.interrupt import stop_requested

log = logging.getLogger(__name__)

CHOICES: dict[str, tuple[Any, ...]] = {
    "family": ("reservoir", "rnn", "rnn+reservoir"),
    "window": (1, 9),
    "conv": (0, 64),
    "augment": (False, True),
}
"""Candidate values of each option chosen by cross-validation when left unset (simplest first)."""
NET_OPTIONS = ("conv", "augment")
"""Options that only the trained network (family "rnn", and the network half of "rnn+reservoir") uses."""
RESERVOIR_OPTIONS = ("window",)
"""Options that only the reservoir uses."""

CHOSEN_FILE = "chosen.json"
CV_SHARE = 0.5
"""Under ``--time_budget``: the share of it the cross-validation may take (shared equally by its fits); the
ensemble trained on all the training series gets what is left."""


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """``k`` folds of indices, each class dealt round-robin over them after a seeded shuffle (class sizes per fold
    differ by at most one).

    >>> stratified_folds(["a", "a", "b", "b", "b", "a"], 2, seed=0)
    [[1, 3, 5], [0, 2, 4]]
    """
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    j = 0
    for c in class_order(labels):
        for i in rng.permutation([i for i, v in enumerate(labels) if v == c]):
            folds[j % k].append(int(i))
            j += 1
    return [sorted(f) for f in folds]


def folds_possible(labels: Sequence[str], k: int) -> int:
    """The folds to use: ``k``, fewer when the smallest class has fewer members (every fold trains on every class),
    0 when it has a single member (no cross-validation possible)."""
    smallest = min(labels.count(c) for c in set(labels)) if labels else 0
    return 0 if smallest < 2 or k < 2 else min(k, smallest)


def unset(options: Any) -> list[str]:
    """The options of :data:`CHOICES` left to cross-validation (``None``)."""
    return [name for name in CHOICES if getattr(options, name) is None]


def candidates(options: Any) -> list[dict[str, Any]]:
    """The combinations to cross-validate: each family to try with the unset values of its own options, simplest
    first (the reservoir alone, the network alone, both averaged).

    >>> from rnnkit.classify.estimator import ClassifierOptions
    >>> candidates(ClassifierOptions(conv=0, window=1))
    [{'family': 'reservoir'}, {'family': 'rnn', 'augment': False}, {'family': 'rnn', 'augment': True}, \
{'family': 'rnn+reservoir', 'augment': False}, {'family': 'rnn+reservoir', 'augment': True}]
    """

    def grid(names: tuple[str, ...]) -> list[dict[str, Any]]:
        free = [n for n in names if getattr(options, n) is None]
        return [dict(zip(free, values)) for values in itertools.product(*(CHOICES[n] for n in free))]

    nets, reservoirs = grid(NET_OPTIONS), grid(RESERVOIR_OPTIONS)
    parts = {"reservoir": reservoirs, "rnn": nets, "rnn+reservoir": [{**n, **r} for n in nets for r in reservoirs]}
    families = CHOICES["family"] if options.family is None else (options.family,)
    out = [{"family": family, **combo} for family in families for combo in parts[family]]
    return out if options.family is None else [{k: v for k, v in c.items() if k != "family"} for c in out]


def choose(
    data: SeriesSet,
    options: Any,
    fit_proba: Any,
    run_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values of the unset options and the record for metrics.json.

    ``fit_proba(settings, train, val, seconds) -> probabilities (len(val), C)`` trains ``settings`` (``options``
    with a candidate's values; family "rnn" or "reservoir") on ``train`` within ``seconds`` (None: no cap) and
    predicts ``val``; a "rnn+reservoir" candidate is scored on the mean of the two families' probabilities, so it
    costs no training of its own. With ``run_dir``, the record is written to RUN_DIR/chosen.json and read back from
    there on ``--resume``.
    """
    combos = candidates(options)
    if combos in ([], [{}]):
        return {}, {}
    saved = run_dir / CHOSEN_FILE if run_dir is not None else None
    if saved is not None and getattr(options, "resume", False) and saved.is_file():
        record = json.loads(saved.read_text(encoding="utf-8"))
        log.info("reusing the choices of %s", saved)
        return dict(record["values"]), record
    assert data.labels is not None
    k = folds_possible(data.labels, options.cv_folds)
    if k == 0:
        record = {
            "values": combos[0],
            "why": f"no cross-validation (--cv_folds {options.cv_folds}, or a class with a single training series): "
            "the first, simplest candidate",
        }
    else:
        record = _cross_validate(data, options, fit_proba, combos, k)
    if saved is not None:
        saved.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return dict(record["values"]), record


def _cross_validate(
    data: SeriesSet, options: Any, fit_proba: Any, combos: list[dict[str, Any]], k: int
) -> dict[str, Any]:
    assert data.labels is not None
    folds = stratified_folds(data.labels, k, options.seed)
    index = {c: i for i, c in enumerate(class_order(data.labels))}
    truth = [np.array([index[data.labels[i]] for i in fold]) for fold in folds]
    family = options.family
    trained: dict[str, dict[str, Any]] = {}  # what to train: each family's own candidates ("rnn+reservoir" reuses both)
    for combo in combos:
        for part in combo.get("family", family).split("+"):
            own = NET_OPTIONS if part == "rnn" else RESERVOIR_OPTIONS
            trained.setdefault(_key(part, combo), {"family": part, **{k: v for k, v in combo.items() if k in own}})
    budget = None if options.time_budget is None else options.time_budget * 60 * CV_SHARE
    fits = len(trained) * k
    start = time.perf_counter()
    probs: dict[str, list[np.ndarray]] = {}
    for key, settings in trained.items():
        probs[key] = []
        for fold in folds:
            train = data.subset(sorted(set(range(len(data))) - set(fold)))
            done = sum(len(v) for v in probs.values())
            spent = time.perf_counter() - start
            seconds = None if budget is None else max(budget - spent, 1.0) / (fits - done)  # what is left, shared
            probs[key].append(fit_proba(dataclasses.replace(options, **settings), train, data.subset(fold), seconds))
            if stop_requested():
                raise KeyboardInterrupt("interrupted while cross-validating the choices; nothing trained yet")
    trials = []
    for combo in combos:
        parts = combo.get("family", family).split("+")
        fold_probs = [np.mean([probs[_key(p, combo)][j] for p in parts], axis=0) for j in range(k)]
        accuracy = [float(np.mean(p.argmax(axis=1) == t)) for p, t in zip(fold_probs, truth)]
        loss = [
            float(-np.mean(np.log(np.clip(p[np.arange(len(t)), t], 1e-12, None)))) for p, t in zip(fold_probs, truth)
        ]
        trials.append(
            {
                **combo,
                "cv_accuracy": float(np.mean(accuracy)),
                "cv_log_loss": float(np.mean(loss)),
                "fold_accuracy": accuracy,
            }
        )
        log.debug("cross-validation %s: accuracy %.4f", combo, trials[-1]["cv_accuracy"])
    best = min(range(len(trials)), key=lambda i: (-trials[i]["cv_accuracy"], _finite(trials[i]["cv_log_loss"]), i))
    return {
        "values": combos[best],
        "why": f"best mean validation accuracy of {k}-fold stratified cross-validation on the training series "
        "(ties: lower log-loss, then the simpler candidate)",
        "folds": k,
        "trials": trials,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _key(family: str, combo: dict[str, Any]) -> str:
    """One trained candidate: a family with its own options' values."""
    own = NET_OPTIONS if family == "rnn" else RESERVOIR_OPTIONS
    return family + " " + json.dumps({k: v for k, v in combo.items() if k in own}, sort_keys=True)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else math.inf
