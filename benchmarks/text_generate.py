"""Generation speed of a 2x512 LSTM character model at batch 1 on CPU: rnnkit's carried-state generation
(one ``model.step`` per new character) against the naive way (re-run the whole prefix for every new character).

Weights are random (speed does not depend on them); vocabulary 65 (tiny-shakespeare's characters).

    python benchmarks/text_generate.py [--new 1000] [--naive_new 200] [--prompt 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import rnnkit

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, markdown_table
from rnnkit.text.generate import generate
from rnnkit.text.lm import LanguageModel
from rnnkit.text.tokenize import build_tokenizer


@torch.no_grad()
def naive(model: LanguageModel, prompt: list[int], new: int, seed: int) -> list[int]:
    """Sample like generate(), but recompute the whole prefix from scratch for every new token."""
    gen = torch.Generator().manual_seed(seed)
    ids = list(prompt)
    for _ in range(new):
        logits, _ = model(torch.tensor([ids]))
        probs = logits[0, -1].softmax(-1)
        ids.append(int(torch.multinomial(probs, 1, generator=gen)))
    return ids[len(prompt) :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new", type=int, default=1000, help="new characters for rnnkit's generation")
    parser.add_argument("--naive_new", type=int, default=200, help="new characters for the naive loop")
    parser.add_argument("--prompt", type=int, default=100, help="prompt length in characters")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    torch.manual_seed(0)
    # the reference data, or a clear error (no stand-in corpus: the vocabulary size sets the output layer's cost)
    corpus = rnnkit.data_dir("tinyshakespeare", "input.txt").read_text(encoding="utf-8")
    tok = build_tokenizer("char", corpus)
    model = LanguageModel(tok.vocab_size, 128, 512, 2, "lstm", tokenizer=tok.to_config()).eval()
    prompt = corpus[: args.prompt]
    generate(model, prompt, 20, seed=0)  # warm-up
    rows = []
    t = time.perf_counter()
    out = generate(model, prompt, args.new, seed=0)
    fast = time.perf_counter() - t
    rows.append(["rnnkit generate (state carried)", args.new, f"{fast:.2f}", f"{args.new / fast:.0f}"])
    t = time.perf_counter()
    naive(model, tok.encode(prompt), args.naive_new, seed=0)
    slow = time.perf_counter() - t
    rows.append(["naive (re-run the prefix each step)", args.naive_new, f"{slow:.2f}", f"{args.naive_new / slow:.0f}"])
    # Same number of new characters for the ratio: rnnkit's time for naive_new characters.
    t = time.perf_counter()
    generate(model, prompt, args.naive_new, seed=0)
    fast_same = time.perf_counter() - t
    rows.append(
        [
            "rnnkit generate, same length as naive",
            args.naive_new,
            f"{fast_same:.2f}",
            f"{args.naive_new / fast_same:.0f}",
        ]
    )
    table = markdown_table(["method", "new chars", "seconds", "chars/s"], rows)
    print(table)
    notes = (
        f"2x512 LSTM (embedding 128, vocabulary {tok.vocab_size}, {sum(p.numel() for p in model.parameters()):,} "
        f"parameters), batch 1, prompt {args.prompt} characters, sampling at temperature 1. "
        f"Speed-up at {args.naive_new} new characters: {slow / fast_same:.1f}x (it grows with the length: the naive "
        f"loop does O(n) work per character). {len(out)} characters generated."
    )
    print(notes)
    if not args.no_results:
        append_results(
            "Text generation speed (2x512 LSTM, batch 1, CPU)",
            table,
            f"python benchmarks/text_generate.py --new {args.new} --naive_new {args.naive_new} --prompt {args.prompt}",
            notes,
        )


if __name__ == "__main__":
    main()
