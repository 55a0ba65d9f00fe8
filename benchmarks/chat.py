"""Chat on tiny-shakespeare: what the recurrent state remembers, a transcript, and the cost of a turn.

1. Trains `rnnkit text chat-train` on the play for --minutes (every default but the budget and the seed; early
   stopping off, so the whole budget is used and the best validation weights are kept), or takes a trained --model.
2. The held-out reply perplexity of that run (the last 10% of the turns, as chat-train held them out) with the
   conversation carried in the state, with only the previous turn, and from a fresh state (the same reply tokens),
   over whole replies and over the first 5 tokens of each reply (`rnnkit text chat-eval --val_fraction 0.1`).
3. A 10-exchange conversation (ROMEO speaking to JULIET, seed 0, the session's default sampling).
4. A scripted 200-turn conversation, each reply up to 100 tokens: milliseconds per generated token (the whole turn:
   reading the message, then generating) with the state carried, beside re-reading the whole history every turn,
   on one thread by default (batch-1 decoding gains nothing from more, and one is the steadiest).
   Both give the same replies (same seed); the plot is docs/img/chat_latency.png.

    python benchmarks/chat.py --data $RNNKIT_DATA/tinyshakespeare/input.txt --minutes 15 --out runs/chat-bench
    python benchmarks/chat.py --model runs/chat-bench/run     # steps 2-4 on a trained model
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, markdown_table
from rnnkit.text.chat import Chatbot, ChatSession
from rnnkit.text.chat.cli import ChatTrainConfig, train
from rnnkit.text.chat.dialogue import read_dialogues, split_dialogues
from rnnkit.text.chat.score import FIRST

MESSAGES = [
    "Good morrow, fair lady.",
    "What light through yonder window breaks?",
    "I do not know the man you speak of.",
    "Tell me, how came you hither?",
    "My lord your father would speak with you.",
    "Then I will go with thee to the king.",
    "O, speak again, bright angel!",
    "What say you to the duke?",
    "I pray you, stay a while.",
    "Farewell, and remember me.",
]


def transcript(run: Path, as_name: str, reply_as: str) -> list[tuple[str, str]]:
    session = ChatSession(run, as_name=as_name, reply_as=reply_as, seed=0)
    for message in MESSAGES:
        session.reply(message)
    return session.transcript


def latency(run: Path, turns: int, carry: bool, max_new_tokens: int) -> list[dict[str, float]]:
    session = ChatSession(run, seed=0, max_new_tokens=max_new_tokens, carry_state=carry)
    rows = []
    for k in range(turns):
        message = MESSAGES[k % len(MESSAGES)]
        start = time.perf_counter()
        reply = session.reply(message)
        seconds = time.perf_counter() - start
        tokens = max(1, len(session.tok.encode(reply)))
        rows.append({"turn": k + 1, "seconds": seconds, "tokens": tokens, "ms_per_token": 1000 * seconds / tokens})
    return rows


def plot(carried: list[dict[str, float]], reread: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot([r["turn"] for r in reread], [r["ms_per_token"] for r in reread], label="re-reading the history", lw=1)
    ax.plot([r["turn"] for r in carried], [r["ms_per_token"] for r in carried], label="state carried (rnnkit)", lw=1)
    ax.set_xlabel("turn of the conversation")
    ax.set_ylabel("ms per generated token")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Cost of a turn over a 200-turn conversation (tiny-shakespeare chat model)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="tiny-shakespeare's input.txt (train a model first)")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--out", default="runs/chat-bench")
    parser.add_argument("--model", help="a trained run folder (skip training)")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--max_new_tokens", type=int, default=100)
    parser.add_argument("--as_name", default="ROMEO")
    parser.add_argument("--reply_as", default="JULIET")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (batch-1 decoding: 1 is steadiest)")
    parser.add_argument("--no_append", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--note", default="", help="a note for RESULTS.md (e.g. how the model was trained)")
    args = parser.parse_args()
    out = Path(args.out)
    torch.set_num_threads(args.threads)
    if args.model is None:
        if args.data is None:
            parser.error("give --data FILE to train, or --model DIR")
        run = out / "run"
        config = ChatTrainConfig(
            data=args.data, out=str(run), time_budget=args.minutes, early_stopping=None, seed=0, quiet=True
        )
        train(config)
    else:
        run = Path(args.model)
    metrics = json.loads((run / "metrics.json").read_text())
    trained = json.loads((run / "config.json").read_text())
    held_out = split_dialogues(read_dialogues(trained["data"]), trained["val_fraction"])[1]
    memory = Chatbot.load(run).evaluate(held_out)
    first = memory["first_tokens"]
    rows = [
        [
            name,
            f"{memory[key]['loss']:.4f}",
            f"{memory[key]['perplexity']:.3f}",
            f"{first[key]['loss']:.4f}",
            f"{first[key]['perplexity']:.3f}",
        ]
        for name, key in (
            ("conversation carried in the state", "carried"),
            ("previous turn only (fresh state)", "previous_turn"),
            ("nothing (fresh state per reply)", "fresh"),
        )
    ]
    memory_table = markdown_table(
        [
            "context of each held-out reply",
            "loss (nats/token)",
            "perplexity",
            f"first {FIRST} tokens: loss",
            "perplexity",
        ],
        rows,
    )
    talk = transcript(run, args.as_name, args.reply_as)
    torch.manual_seed(0)
    carried = latency(run, args.turns, True, args.max_new_tokens)
    reread = latency(run, args.turns, False, args.max_new_tokens)
    png = Path(__file__).parents[1] / "docs" / "img" / "chat_latency.png"
    plot(carried, reread, png)

    def mean(rows: list[dict[str, float]], lo: int, hi: int) -> float:
        """Milliseconds per generated token over turns lo..hi-1: their total time over their total tokens."""
        part = rows[lo:hi]
        return 1000 * sum(r["seconds"] for r in part) / sum(r["tokens"] for r in part)

    n = args.turns
    spans = [(0, 10), (n // 2 - 5, n // 2 + 5), (n - 10, n)]
    lat_rows = [
        [label] + [f"{mean(rows, lo, hi):.2f}" for lo, hi in spans]
        for label, rows in (("state carried (rnnkit)", carried), ("re-reading the history", reread))
    ]
    lat_table = markdown_table(["ms per generated token", *(f"turns {lo + 1}-{hi}" for lo, hi in spans)], lat_rows)
    (out).mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps({"carried": carried, "reread": reread}, indent=1))
    text = "".join(f"{s}: {t}\n" for s, t in talk)
    (out / "transcript.txt").write_text(text, encoding="utf-8")
    print(memory_table, "\n", lat_table, "\n", text, sep="")
    summary = (
        f"Model: {run} ({trained['num_layers']}x{trained['hidden_size']} {trained['cell']}, "
        f"{metrics['parameters']:,} parameters, bptt {trained['bptt']}, batch {trained['batch_size']}, "
        f"{metrics['steps'][0]} steps in "
        f"{metrics['train_seconds']:.0f} s, stopped by {metrics['stopped_reason'][0]}); held-out: "
        f"{metrics['turns']['held_out']} turns, {memory['reply_tokens']} reply tokens ({first['reply_tokens']} of them "
        f"among the first {FIRST} of a reply).\n\n{memory_table}\n\n"
        f"Cost of a turn, {n}-turn scripted conversation, replies of up to {args.max_new_tokens} tokens "
        f"(plot: docs/img/chat_latency.png):\n\n{lat_table}\n\nTranscript ({args.as_name} to {args.reply_as}, "
        f"seed 0, temperature 0.8):\n\n```text\n{text}```"
    )
    if not args.no_append:
        shown = [a for a in sys.argv[1:] if a != args.note and not a.startswith("--note")]  # the note is printed below
        command = shlex.join(["python", "benchmarks/chat.py", *shown])
        append_results("Chat on tiny-shakespeare: memory, transcript, cost per turn", summary, command, args.note)


if __name__ == "__main__":
    main()
