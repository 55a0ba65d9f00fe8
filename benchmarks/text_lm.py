"""Character language models in a fixed CPU time budget, on corpora nobody tuned on: `rnnkit text train` with every
default (it chooses its width, dropout and validation cadence from the corpus and the budget) against a plain
PyTorch loop, on the corpora of ``_corpora.py`` (tiny-shakespeare, CPython's documentation text, CPython's
standard-library source), at each budget.

Protocol: the last 10% of each corpus is the test text, read by neither model while it trains. rnnkit gets the first
90% (it holds out its own validation text from that, a tenth of each tenth by default); the plain loop trains on all
of the first 90%. Both are scored by the same function on the test text (the state carried over the whole text), in
nats per character. The plain loop is the usual 30 lines: 2x512 torch.nn.LSTM, embedding 64, random 128-character
windows from a zero state, batch 64, AdamW 2e-3 (torch's default weight decay), dropout 0.1 between the layers,
gradient clipping 1.0, constant learning rate, no validation, its final weights scored. It runs once per corpus for
the longest budget and is scored at each budget on its way (its clock stops while it is scored; with a constant
learning rate that is what a run of the shorter budget would have given). Each rnnkit run is one `TextGenerator` fit
with ``time_budget`` (its probe of candidate widths is taken from the budget); its final scoring of the validation
text is outside the budget, as the plain loop's test scoring is. Both use the same number of threads (``--threads``,
default 2); run on a quiet machine, one run after the other.

``--throughput`` also times both on the same model and batch (the plain loop's 2x512 with dropout 0.1, batch 64,
window 128): steps per second of rnnkit's trainer against the loop's.

Results are kept per run in ``--runs`` (JSON), so the command can be re-run to finish an interrupted table;
``--only plain`` runs just the plain loops (no table).

    python benchmarks/text_lm.py --corpora shakespeare python-docs python-source --minutes 5 15 --throughput
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, machine, markdown_table
from _corpora import CORPORA
from rnnkit.text.lm.data import StreamBatches
from rnnkit.text.lm.estimator import TextGenerator
from rnnkit.text.lm.model import LanguageModel, stream_nll
from rnnkit.text.tokenize import Tokenizer, build_tokenizer

HIDDEN, LAYERS, EMBED, BATCH, BPTT, LR, DROPOUT, CLIP = 512, 2, 64, 64, 128, 2e-3, 0.1, 1.0


class PlainLM(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, EMBED)
        self.rnn = nn.LSTM(EMBED, HIDDEN, LAYERS, batch_first=True, dropout=DROPOUT)
        self.head = nn.Linear(HIDDEN, vocab)

    def forward(self, x: torch.Tensor, state=None):  # type: ignore[no-untyped-def]
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def test_loss(model: nn.Module, tok: Tokenizer, text: str) -> float:
    """Nats per character on ``text``, the state carried over all of it (the same code for both models)."""
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    batches = StreamBatches(ids, 16, 256)
    nll, _ = stream_nll(model, batches)  # type: ignore[arg-type]
    return nll / len(tok.decode(batches.y.flatten().tolist()))


def plain_loop(train: str, test: str, minutes: list[float], seed: int) -> dict[str, dict[str, float]]:
    """The plain loop, scored on the test text when its training clock passes each of ``minutes``."""
    torch.manual_seed(seed)
    tok = build_tokenizer("char", train)
    data = torch.tensor(tok.encode(train), dtype=torch.long)
    model = PlainLM(tok.vocab_size)
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    scores, step, clock = {}, 0, 0.0
    for budget in sorted(minutes):
        while clock < budget * 60:
            start = time.perf_counter()
            i = torch.randint(0, len(data) - BPTT - 1, (BATCH,))
            x = torch.stack([data[j : j + BPTT] for j in i])
            y = torch.stack([data[j + 1 : j + BPTT + 1] for j in i])
            logits, _ = model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            opt.step()
            step += 1
            clock += time.perf_counter() - start
        score = test_loss(model, tok, test)  # stream_nll puts the model back in training mode
        scores[f"{budget:g}"] = {"test": score, "steps": step, "seconds": clock, "train_loss": float(loss.detach())}
        print(f"  plain loop {budget:g} min: test {score:.4f} after {step} steps", flush=True)
    return scores


def rnnkit_run(train: str, test: str, budget: float, threads: int, seed: int) -> dict[str, object]:
    start = time.perf_counter()
    lm = TextGenerator(time_budget=budget, threads=threads, seed=seed, quiet=True).fit(train)
    wall = time.perf_counter() - start
    m = lm.metrics
    model = lm.fitted
    assert model.tokenizer is not None
    score = test_loss(model, model.tokenizer, test)
    chosen = m["chosen"]
    print(f"  rnnkit {budget:g} min: test {score:.4f}, chosen {chosen['settings']}", flush=True)
    return {
        "test": score,
        "val": m["val_loss"],
        "steps": sum(m["steps"]),
        "seconds": m["train_seconds"],
        "val_seconds": m["val_seconds"],
        "wall_seconds": wall,
        "final_train_loss": m["final_train_loss"][0],
        "stopped": m["stopped_reason"][0],
        "chosen": chosen,
    }


def throughput(text: str, threads: int, steps: int = 40) -> dict[str, float]:
    """Steps per second of the plain loop and of rnnkit's trainer on the same model (rnnkit's LanguageModel, with
    its dropout on the embeddings and outputs as well as between the layers), batch and window."""
    tok = build_tokenizer("char", text)
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    torch.manual_seed(0)
    model = LanguageModel(tok.vocab_size, EMBED, HIDDEN, LAYERS, dropout=DROPOUT).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    start = time.perf_counter()
    for _ in range(steps):
        i = torch.randint(0, len(data) - BPTT - 1, (BATCH,))
        x = torch.stack([data[j : j + BPTT] for j in i])
        y = torch.stack([data[j + 1 : j + BPTT + 1] for j in i])
        loss = F.cross_entropy(model(x)[0].flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
    plain = steps / (time.perf_counter() - start)
    lm = TextGenerator(
        hidden_size=HIDDEN, dropout=DROPOUT, max_steps=steps, val_every=10 * steps, threads=threads, quiet=True
    ).fit(text)
    m = lm.metrics
    ours = sum(m["steps"]) / (m["train_seconds"] - m["val_seconds"])
    return {"plain": plain, "rnnkit": ours, "ratio": ours / plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", nargs="+", choices=sorted(CORPORA), default=list(CORPORA))
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 15.0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default="runs/bench/text_lm")
    parser.add_argument("--only", choices=("plain", "rnnkit"), help="run only these runs (no table)")
    parser.add_argument("--throughput", action="store_true", help="also time the trainer against the plain loop")
    parser.add_argument("--no_results", action="store_true", help="do not append to RESULTS.md (smoke runs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    start_machine = machine()
    rows, notes = [], []
    speed = throughput(CORPORA[args.corpora[0]](), args.threads) if args.throughput and args.only is None else None
    if speed is not None:
        print(f"throughput: {speed}", flush=True)
    for name in args.corpora:
        text = CORPORA[name]()
        cut = round(len(text) * 0.9)
        train, test = text[:cut], text[cut:]
        folder = runs / name
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{name}: {len(train):,} training and {len(test):,} test characters", flush=True)
        plain_file = folder / f"plain_seed{args.seed}.json"
        if args.only != "rnnkit" and not plain_file.is_file():
            plain_file.write_text(json.dumps(plain_loop(train, test, args.minutes, args.seed), indent=2))
        ours = {}
        for budget in args.minutes:
            path = folder / f"rnnkit_{budget:g}min_seed{args.seed}.json"
            if args.only != "plain" and not path.is_file():
                path.write_text(json.dumps(rnnkit_run(train, test, budget, args.threads, args.seed), indent=2))
            if path.is_file():
                ours[budget] = json.loads(path.read_text())
        if args.only is not None:
            continue
        plain = json.loads(plain_file.read_text())
        for budget in args.minutes:
            p, r = plain[f"{budget:g}"], ours[budget]
            s = r["chosen"]["settings"]
            rows.append(
                [
                    name,
                    f"{budget:g}",
                    f"{p['test']:.4f}",
                    f"**{r['test']:.4f}**" if r["test"] < p["test"] else f"{r['test']:.4f}",
                    f"{r['test'] - p['test']:+.4f}",
                    f"{LAYERS}x{s['hidden_size']}, dropout {s['dropout']:g}, {r['chosen']['expected_passes']:.1f}",
                    f"{p['steps']} / {r['steps']}",
                    f"{r['wall_seconds']:.0f} ({r['val_seconds']:.0f})",
                ]
            )
            notes.append(
                f"{name} {budget:g} min: rnnkit stopped by {r['stopped']}, best val {r['val']:.4f}, last train "
                f"loss {r['final_train_loss']:.4f}; plain loop's last batch loss {p['train_loss']:.4f}; rnnkit's "
                f"choice: {'; '.join(f'{k}: {v}' for k, v in r['chosen']['why'].items())}"
            )
    if args.only is not None:
        return
    header = ["corpus", "minutes", "plain loop test", "rnnkit test", "difference", "rnnkit chose (passes)"]
    header += ["steps (plain / rnnkit)", "rnnkit wall s (validating)"]
    table = markdown_table(header, rows)
    wins = sum(1 for row in rows if row[3].startswith("**"))
    text = (
        f"Test loss in nats per character on the last 10% of each corpus (lower is better; bold: rnnkit better). "
        f"rnnkit better in {wins} of {len(rows)}. Seed {args.seed}, {args.threads} threads each, one run after "
        f"the other. Machine at the start: {start_machine}.\n\n" + "\n\n".join(notes)
    )
    if speed is not None:
        text += (
            f"\n\nThroughput on the same model and batch (rnnkit's {LAYERS}x{HIDDEN} LSTM LanguageModel, dropout "
            f"{DROPOUT}, batch {BATCH}, "
            f"window {BPTT}, 40 steps each, validation time excluded): plain loop {speed['plain']:.3f} steps/s, "
            f"rnnkit's trainer {speed['rnnkit']:.3f} steps/s (ratio {speed['ratio']:.3f})."
        )
    print(table)
    print(text)
    if not args.no_results:
        append_results(
            "Character language models on corpora nobody tuned on: rnnkit's defaults against a plain PyTorch loop",
            table,
            "python benchmarks/text_lm.py --corpora "
            + " ".join(args.corpora)
            + f" --minutes {' '.join(f'{m:g}' for m in args.minutes)} --threads {args.threads} --seed {args.seed}"
            + (" --throughput" if args.throughput else ""),
            text,
        )


if __name__ == "__main__":
    main()
