"""English -> French on eng-fra (Tatoeba): BLEU and chrF (sacrebleu) on a fixed held-out 10% of the English
sentences (all their French translations are the references), with attention and without, each trained for the
same CPU time budget by `rnnkit translate train` with its defaults.

    python benchmarks/translate.py [--minutes 20] [--attention general none] [--jobs 2]

With --jobs 2 the models train side by side, one process and one torch thread each (one core each on a 2-core
machine), instead of one after the other with every thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.text.translate.cli import TranslateTrainConfig, train
from rnnkit.text.translate.model import Seq2Seq
from rnnkit.train import load_model

SENTENCES = ["I am cold.", "We are going to the beach tomorrow.", "She doesn't like cats."]


def run_one(config: TranslateTrainConfig, threads: int | None) -> tuple[dict[str, Any], list[str]]:
    if threads is not None:
        torch.set_num_threads(threads)
    metrics = train(config)
    model = load_model(Path(config.out) / "model")
    assert isinstance(model, Seq2Seq)
    return metrics, model.translate(SENTENCES, beam_width=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per model")
    parser.add_argument("--attention", nargs="+", default=["general", "none"])
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once (each with 1 torch thread)")
    parser.add_argument("--out", default="runs/bench/translate")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    pairs = rnnkit.data_dir("eng-fra", "fra.txt")
    start_machine = machine()
    configs = [
        TranslateTrainConfig(
            pairs=str(pairs), out=str(Path(args.out) / a), attention=a, time_budget=args.minutes, quiet=True
        )
        for a in args.attention
    ]
    threads = 1 if args.jobs > 1 else None
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run_one, configs, [threads] * len(configs)))
    rows, examples = [], []
    for config, (m, translations) in zip(configs, outcomes):
        rows.append(
            [
                config.attention,
                f"{m['bleu']:.2f}",
                f"{m['chrf']:.2f}",
                f"{m['val_loss']:.3f}",
                m["steps"],
                f"{m['train_seconds']:.0f}",
                m["stopped_reason"],
            ]
        )
        examples.append(f"{config.attention}: " + " | ".join(translations))
    m = outcomes[0][0]
    defaults = {k: v for k, v in dataclasses.asdict(configs[0]).items() if k not in ("pairs", "out", "attention")}
    table = markdown_table(["attention", "BLEU", "chrF", "val loss", "steps", "train s", "stopped by"], rows)
    how = "side by side, 1 torch thread each" if args.jobs > 1 else "one after the other"
    notes = (
        f"{len(rows)} models trained {how}, {args.minutes:g} min budget each, `rnnkit translate train` defaults: "
        f"{defaults}.\nTest: {m['test_sentences']} held-out English sentences ({m['test_pairs']} pairs; all their "
        f"translations are references), never seen in training; {m['train_pairs']} training pairs; decoded with "
        f"beam width {m['beam_width']}. Target BLEU >= 25. sacrebleu signatures: {m['bleu_signature']}; "
        f"{m['chrf_signature']}.\nMachine at the start: {start_machine}.\n\nExamples (beam 5), for "
        + " / ".join(f"'{s}'" for s in SENTENCES)
        + ":\n\n"
        + "\n".join(f"- {e}" for e in examples)
    )
    print(table)
    print(notes)
    if not args.no_results:
        append_results(
            f"Translation eng->fra, {args.minutes:g} min CPU per model: attention vs none",
            table,
            "python benchmarks/translate.py " + " ".join(sys.argv[1:]),
            notes,
        )


if __name__ == "__main__":
    main()
