"""English -> French on eng-fra (Tatoeba): BLEU and chrF (sacrebleu) on a fixed held-out 10%, with attention
and without, each trained for the same CPU time budget by `rnnkit translate train`.

    python benchmarks/translate.py [--minutes 20] [--attention general none]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.text.seq2seq import Seq2Seq
from rnnkit.text.translate_cli import TranslateTrainConfig, train
from rnnkit.train import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per model")
    parser.add_argument("--attention", nargs="+", default=["general", "none"])
    parser.add_argument("--beam_width", type=int, default=1)
    parser.add_argument("--out", default="runs/bench/translate")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    pairs = rnnkit.data_dir("eng-fra", "fra.txt")
    start_machine = machine()
    rows, examples = [], []
    for attention in args.attention:
        out = Path(args.out) / attention
        config = TranslateTrainConfig(
            pairs=str(pairs),
            out=str(out),
            attention=attention,
            time_budget=args.minutes,
            beam_width=args.beam_width,
            quiet=True,
        )
        m = train(config)
        rows.append(
            [
                attention,
                f"{m['bleu']:.2f}",
                f"{m['chrf']:.2f}",
                f"{m['val_loss']:.3f}",
                m["steps"],
                f"{m['train_seconds']:.0f}",
            ]
        )
        model = load_model(out / "model")
        assert isinstance(model, Seq2Seq)
        sentences = ["I am cold.", "We are going to the beach tomorrow.", "She doesn't like cats."]
        examples.append(f"{attention}: " + " | ".join(model.translate(sentences, beam_width=5)))
        signature = m["bleu_signature"] + "; " + m["chrf_signature"]
    table = markdown_table(["attention", "BLEU", "chrF", "val loss", "steps", "train s"], rows)
    notes = (
        f"{rows and len(rows)} models trained one after the other, {args.minutes:g} min each; defaults of "
        "`rnnkit translate train` (1-layer bidirectional GRU encoder 256, GRU decoder, embeddings 128, batch 64). "
        f"Test: the fixed held-out 10% (split seed 0), decoded with beam width {args.beam_width}. "
        f"Target BLEU >= 25. sacrebleu signatures: {signature}.\nMachine at the start: {start_machine}; "
        "other jobs shared the 2 cores.\n\nExamples (beam 5), for 'I am cold.' / 'We are going to the "
        "beach tomorrow.' / 'She doesn't like cats.':\n\n" + "\n".join(f"- {e}" for e in examples)
    )
    print(table)
    print(notes)
    if not args.no_results:
        append_results(
            f"Translation eng->fra, {args.minutes:g} min CPU per model: attention vs none",
            table,
            f"python benchmarks/translate.py --minutes {args.minutes:g} --attention {' '.join(args.attention)}",
            notes,
        )


if __name__ == "__main__":
    main()
