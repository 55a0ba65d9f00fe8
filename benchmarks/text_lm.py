"""Character-level tiny-shakespeare in a fixed CPU time budget: `rnnkit text train` with its defaults against a
plain PyTorch loop (torch.nn.LSTM of the same size, AdamW, the same learning rate and time budget).

Validation: the last 10% of the text, loss in nats per character, measured the same way for both (the whole
validation stream, state carried across windows). The baseline is the usual hand-written loop: random windows of
the training text, each starting from a zero state (no truncated-BPTT carry), constant learning rate, no
clipping. Both clocks include their validations.

    python benchmarks/text_lm.py [--minutes 15]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
import rnnkit
from _common import append_results, machine, markdown_table
from rnnkit.text.lm.cli import TextTrainConfig, train
from rnnkit.text.lm.data import StreamBatches
from rnnkit.text.lm.estimator import TextGenerator
from rnnkit.text.lm.generation import generate
from rnnkit.text.tokenize import build_tokenizer, read_text


class Baseline(nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor, state=None):  # type: ignore[no-untyped-def]
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


@torch.no_grad()
def val_loss(model: nn.Module, batches: StreamBatches) -> float:
    model.eval()
    total, n, state = 0.0, 0, None
    for x, y in batches:
        logits, state = model(x, state)
        total += float(F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum"))
        n += y.numel()
    model.train()
    return total / n


def baseline(text: str, cfg: TextTrainConfig, minutes: float, val_every: int) -> list[tuple[float, int, float]]:
    """Plain PyTorch loop; returns (seconds, step, val_loss) at each validation."""
    torch.manual_seed(cfg.seed)
    cut = round(len(text) * (1 - cfg.val_fraction))
    tok = build_tokenizer("char", text[:cut])
    data = torch.tensor(tok.encode(text[:cut]))
    val = StreamBatches(torch.tensor(tok.encode(text[cut:])), cfg.batch_size, cfg.bptt)
    model = Baseline(tok.vocab_size, cfg.embed_size, cfg.hidden_size, cfg.num_layers)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        i = torch.randint(0, len(data) - cfg.bptt - 1, (cfg.batch_size,))
        x = torch.stack([data[j : j + cfg.bptt] for j in i])
        y = torch.stack([data[j + 1 : j + cfg.bptt + 1] for j in i])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % val_every == 0:
            history.append((time.perf_counter() - start, step, val_loss(model, val)))
            print(f"baseline step {step} {history[-1][0]:.0f}s val_loss {history[-1][2]:.4f}", flush=True)
    history.append((time.perf_counter() - start, step, val_loss(model, val)))
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--out", default="runs/bench/text_lm")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    data = rnnkit.data_dir("tinyshakespeare", "input.txt")
    text = read_text(data)
    start_machine = machine()
    out = Path(args.out)
    cfg = TextTrainConfig(data=str(data), out=str(out / "rnnkit"), time_budget=args.minutes, quiet=True)
    metrics = train(cfg)
    events = [json.loads(line) for line in (out / "rnnkit" / "metrics.jsonl").read_text().splitlines() if line]
    rk = [(e["time"], e["step"], e["val_loss"]) for e in events if "val_loss" in e]
    base = baseline(text, cfg, args.minutes, cfg.val_every or 200)
    base_best = min(v for _, _, v in base)
    base_best_time = next(t for t, _, v in base if v == base_best)
    base_final = base[-1][2]
    reach = next(((t, s) for t, s, v in rk if v <= base_best), None)
    reach_final = next((t for t, _, v in rk if v <= base_final), None)
    model = TextGenerator.load(out / "rnnkit").fitted
    samples = [generate(model, "ROMEO:\n", 300, temperature=0.8, seed=s) for s in range(3)]
    rows = [
        [
            "rnnkit text train (defaults)",
            f"{metrics['val_loss']:.4f}",
            f"{metrics['val_bpc']:.3f}",
            sum(metrics["steps"]),
            f"{metrics['train_seconds']:.0f}",
        ],
        ["plain PyTorch loop", f"{base_best:.4f}", f"{base_best / math.log(2):.3f}", base[-1][1], f"{base[-1][0]:.0f}"],
    ]
    table = markdown_table(["run", "best val loss (nats/char)", "bits/char", "steps", "seconds"], rows)
    reached = (
        f"The baseline's final validation loss ({base_final:.4f} at {base[-1][0]:.0f} s) was reached by rnnkit at "
        + (
            f"{reach_final:.0f} s ({reach_final / base[-1][0]:.0%} of the baseline's time). "
            if reach_final
            else "no point. "
        )
        + f"The baseline's best ({base_best:.4f}, at {base_best_time:.0f} s) was reached by rnnkit at "
        + (f"{reach[0]:.0f} s (step {reach[1]})." if reach else "no point within the budget.")
    )
    curve = "; ".join(f"{t:.0f}s {v:.3f}" for t, _, v in rk)
    base_curve = "; ".join(f"{t:.0f}s {v:.3f}" for t, _, v in base)
    notes = (
        f"Budget {args.minutes} min each, run one after the other (rnnkit first). Model: {cfg.num_layers}x"
        f"{cfg.hidden_size} LSTM, embedding {cfg.embed_size}, bptt {cfg.bptt}, batch {cfg.batch_size}, lr {cfg.lr}. "
        f"Target val loss <= 1.50: {'met' if metrics['val_loss'] <= 1.5 else 'NOT met'}. {reached}\n"
        f"Dropout {cfg.dropout}, {cfg.schedule} schedule annealed over the time budget, stream rotated each epoch. "
        f"Machine at the start: {start_machine}.\n\n"
        f"rnnkit validation curve (time, val loss): {curve}\n\n"
        f"Baseline validation curve: {base_curve}\n\n"
        + "\n\n".join(
            f"Sample {i + 1} (temperature 0.8, seed {i}):\n\n```\nROMEO:\n{s}\n```" for i, s in enumerate(samples)
        )
    )
    print(table)
    print(notes)
    if not args.no_results:
        append_results(
            f"Char-level tiny-shakespeare, {args.minutes:g}-minute CPU budget: rnnkit vs a plain PyTorch loop",
            table,
            f"python benchmarks/text_lm.py --minutes {args.minutes:g}",
            notes,
        )


if __name__ == "__main__":
    main()
