"""How rnnkit's language-model defaults were chosen: model widths, dropout and learning rates in a fixed CPU budget,
trained on the *development* corpora of ``_corpora.py`` (never on the benchmark corpora of ``text_lm.py``) and
compared on their own validation split (the last part of the first 90%; the last 10% is not read). With ``--chars``
the run trains on the first that many characters and is also scored on the :data:`LATER` characters that follow
them (other documents of the same corpus, never trained on): the validation text continues the documents the model
trains on, so it can reward memorising them, and the later text shows whether that carries over.

Each run's result is kept in ``--runs``, so a later invocation reuses it (and can finish a table). Each run is
``TextGenerator`` with the given width, dropout, peak learning rate and schedule and everything else at its
default (2 layers, embedding 64, batch 64, window 128, AdamW): the table gives the best validation loss, the
characters trained on and the ratio of those to the parameters, the figure the width rule is written in
(``rnnkit.text.lm.auto``). Runs go one after the other; run it on a quiet machine.

    python benchmarks/lm_defaults.py --corpus docstrings --sizes 256 512 768 --minutes 5
    python benchmarks/lm_defaults.py --corpus eng-fra --sizes 512 --dropouts 0 0.15 0.3 --minutes 5
    python benchmarks/lm_defaults.py --corpus docstrings --sizes 256 --lrs 0.002 auto --schedules cosine wsd
    python benchmarks/lm_defaults.py --corpus docstrings --sizes 384 --val_blocks 1 10 --chars 200000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, machine, markdown_table
from _corpora import DEV_CORPORA
from rnnkit.text.lm.estimator import TextGenerator
from rnnkit.text.lm.fit import LMSettings
from text_lm import test_loss

BATCH, BPTT = 64, 128
LATER = 60_000
"""Characters after the first ``--chars`` that a run is also scored on."""
VAL_BLOCKS = LMSettings.val_blocks


def run(
    text: str,
    later: str,
    hidden: int,
    dropout: float,
    lr: float | None,
    schedule: str,
    minutes: float,
    threads: int,
    val_blocks: int = VAL_BLOCKS,
) -> dict:
    lm = TextGenerator(
        hidden_size=hidden,
        dropout=dropout,
        lr=lr,
        schedule=schedule,
        time_budget=minutes,
        batch_size=BATCH,
        bptt=BPTT,
        val_fraction=min(0.1, 60_000 / len(text)),
        val_blocks=val_blocks,
        val_every=max(5, round(40 * (512 / hidden) ** 2)),
        early_stopping=None,
        threads=threads,
        quiet=True,
    ).fit(text)
    m = lm.metrics
    steps = sum(m["steps"])
    assert lm.fitted.tokenizer is not None
    score = {"later": test_loss(lm.fitted, lm.fitted.tokenizer, later)} if later else {}
    return score | {
        "val": m["val_loss"],
        "train": m["final_train_loss"][0],
        "steps": steps,
        "seconds": m["train_seconds"],
        "chars": steps * BATCH * BPTT,
        "params": m["parameters"],
    }


def _lr(value: str) -> float | None:
    return None if value == "auto" else float(value)


def _label(lr: float | None) -> str:
    return "auto" if lr is None else f"{lr:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=sorted(DEV_CORPORA), default="docstrings")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 768])
    parser.add_argument("--dropouts", type=float, nargs="+", default=[0.0])
    parser.add_argument("--lrs", type=_lr, nargs="+", default=[None], help="peak learning rates (auto: the rule's)")
    parser.add_argument("--schedules", nargs="+", default=[LMSettings.schedule])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--val_blocks", type=int, nargs="+", default=[VAL_BLOCKS], help="parts the validation text is spread over"
    )
    parser.add_argument("--chars", type=int, help="train on the first this many characters only (more passes)")
    parser.add_argument("--runs", default="runs/bench/lm_defaults", help="each run's result, kept (JSON)")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    text = DEV_CORPORA[args.corpus]()
    text = text[: round(len(text) * 0.9)]  # the last 10% stays unread, as a benchmark corpus's test part
    later = text[args.chars : args.chars + LATER] if args.chars else ""
    text = text[: args.chars] if args.chars else text
    start = machine()
    rows, kept_runs = [], []
    grid = [
        (h, d, lr, s, b)
        for h in args.sizes
        for d in args.dropouts
        for lr in args.lrs
        for s in args.schedules
        for b in args.val_blocks
    ]
    for hidden, dropout, lr, schedule, blocks in grid:
        name = f"{args.corpus}_{len(text)}_{hidden}_{dropout:g}_{args.minutes:g}min"
        if (lr, schedule) != (2e-3, "cosine"):  # the settings of the first runs, kept under their first names
            name += f"_{_label(lr)}_{schedule}"
        if blocks != VAL_BLOCKS:
            name += f"_{blocks}blocks"
        kept = Path(args.runs) / f"{name}.json"
        if kept.is_file():  # an earlier invocation's run (the table can be finished after an interruption)
            r = json.loads(kept.read_text())
        else:
            r = run(text, later, hidden, dropout, lr, schedule, args.minutes, args.threads, blocks)
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(json.dumps(r))
        print(f"{args.corpus} H={hidden} dropout={dropout} lr={_label(lr)} {schedule} {blocks} blocks: {r}", flush=True)
        kept_runs.append(r)
        rows.append(
            [
                f"2x{hidden}",
                dropout,
                f"{_label(lr)}, {schedule}",
                blocks,
                f"{r['val']:.4f}",
                f"{r['later']:.4f}" if "later" in r else "",
                f"{r['train']:.4f}",
                r["steps"],
                f"{r['chars'] / 1e6:.2f}M",
                f"{r['params'] / 1e6:.2f}M",
                f"{r['chars'] / r['params']:.2f}",
                f"{r['chars'] / len(text):.2f}",
                f"{r['seconds']:.0f}",
            ]
        )
    read_back = sorted({r["note"] for r in kept_runs if "note" in r})
    header = [
        "LSTM",
        "dropout",
        "lr, schedule",
        "validation blocks",
        "best val loss",
        "later text loss",
        "last train loss",
        "steps",
        "chars trained",
        "parameters",
    ]
    header += ["chars per parameter", "passes", "seconds"]
    table = markdown_table(header, rows)
    print(table)
    if not args.no_results:
        append_results(
            f"Language-model defaults: width and dropout on the {args.corpus} development corpus, "
            f"{args.minutes:g}-minute budget",
            table,
            "python benchmarks/lm_defaults.py --corpus "
            + f"{args.corpus} --sizes {' '.join(map(str, args.sizes))} --dropouts "
            + f"{' '.join(f'{d:g}' for d in args.dropouts)} --lrs {' '.join(map(_label, args.lrs))} "
            + f"--schedules {' '.join(args.schedules)} --minutes {args.minutes:g} --threads {args.threads}"
            + (f" --val_blocks {' '.join(map(str, args.val_blocks))}" if args.val_blocks != [VAL_BLOCKS] else "")
            + (f" --chars {args.chars}" if args.chars else ""),
            f"{len(text):,} characters of the corpus's first 90%. Machine at the start: {start}."
            + "".join(f" Some rows were {note}." for note in read_back),
        )


if __name__ == "__main__":
    main()
