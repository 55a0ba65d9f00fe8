"""The chat section of ``rnnkit demo``: a dialogue model trained for about 90 seconds on a word game, and a short
conversation with it.

In each conversation "me" gives the bot a word (one of the 20 most frequent words of CPython's help texts,
``pydoc_data.topics``, so no download), makes small talk, then asks for the word back. The last reply is right
only if the recurrent state kept the word through the turns between, so the transcript and the held-out figures
show what the memory is worth. A minute and a half of CPU does not always suffice: the transcript shows what the
model says, right or wrong.
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter
from pathlib import Path

from rnnkit.report import Section
from rnnkit.text.chat.dialogue import Dialogue, Turn
from rnnkit.train.runlog import write_json

SMALL_TALK = [
    ("how are you?", "well, thanks."),
    ("what are you?", "an lstm."),
    ("is it raining?", "no idea."),
    ("tell me a number.", "forty-two."),
]
ASK = "my word?"
ME, BOT = "me", "bot"


def words(count: int = 20) -> list[str]:
    """The ``count`` most frequent lowercase words of 5 to 10 letters in CPython's help topics."""
    import pydoc_data.topics

    text = " ".join(pydoc_data.topics.topics.values())
    counts = Counter(w.lower() for w in re.findall(r"\b[A-Za-z]{5,10}\b", text))
    return sorted(w for w, _ in counts.most_common(count))


def word_game(conversations: int = 3000, seed: int = 0) -> list[Dialogue]:
    """Conversations in which "me" gives the bot a word, makes small talk, then asks for the word back: the last
    reply is right only if the state kept the word through the turns between (one of the :func:`words` of
    CPython's help texts)."""
    rng = random.Random(seed)
    vocabulary = words()
    dialogues = []
    for _ in range(conversations):
        word = rng.choice(vocabulary)
        turns = [Turn(ME, f"my word is {word}.", reply=False), Turn(BOT, f"{word}. noted.")]
        for message, reply in rng.sample(SMALL_TALK, k=rng.randint(0, 2)):
            turns += [Turn(ME, message, reply=False), Turn(BOT, reply)]
        turns += [Turn(ME, ASK, reply=False), Turn(BOT, f"{word}.")]
        dialogues.append(turns)
    return dialogues


def section(out: Path, quick: bool) -> Section:
    """Train a chat model for ~90 seconds (a few steps when ``quick``) and talk to it."""
    from rnnkit.text.chat.estimator import Chatbot

    out = Path(out) / "chat"
    out.mkdir(parents=True, exist_ok=True)
    dialogues = word_game(300 if quick else 3000)
    if quick:
        sizes = {"embed_size": 16, "hidden_size": 32, "num_layers": 1, "bptt": 32, "batch_size": 8, "max_steps": 6}
    else:
        sizes = {"embed_size": 16, "hidden_size": 64, "num_layers": 1}  # bptt and batch_size: from the data
    bot = Chatbot(
        val_fraction=0.1,
        lr=1e-2,
        warmup_steps=10,
        time_budget=None if quick else 1.5,
        epochs=100_000,  # the time budget ends the run: the data is small and each pass short
        val_every=4 if quick else 100,
        early_stopping=None,
        quiet=True,
        seed=0,
        **sizes,  # type: ignore[arg-type]
    ).fit(dialogues, out=out / "run")
    session = bot.session(seed=0, temperature=0, max_new_tokens=40 if quick else 160)
    for word in ("method", "value", "string")[: 1 if quick else 3]:  # three of words()
        session.reply(f"my word is {word}.")
        session.reply(SMALL_TALK[0][0])
        session.reply(ASK)
    session.save(out / "conversation.safetensors")
    transcript = "".join(f"{speaker}: {text}\n" for speaker, text in session.transcript)
    (out / "transcript.txt").write_text(transcript, encoding="utf-8")
    m = bot.metrics
    write_json(out / "metrics.json", m)
    memory = m["memory"]
    turns = sum(map(len, dialogues))
    facts = [
        ("dialogue", f"{len(dialogues)} word-game conversations, {turns} turns (last 10% held out)"),
        ("model", f"1-layer LSTM, {sizes['hidden_size']} units, {m['parameters']:,} parameters"),
        ("training", f"{m['steps'][0]} steps, {m['train_seconds']:.0f} s ({m['stopped_reason'][0]})"),
        (
            "held-out replies",
            f"perplexity {memory['carried']['perplexity']:.3f} with the conversation carried, "
            f"{memory['previous_turn']['perplexity']:.3f} with the previous turn only, "
            f"{memory['fresh']['perplexity']:.3f} from a fresh state",
        ),
    ]
    rows = "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>" for name, value in facts)
    lines = "".join(
        f"<p><b>{html.escape(speaker)}:</b> {html.escape(text)}</p>" for speaker, text in session.transcript
    )
    body = (
        "<p>A dialogue model (a character-level LSTM over framed turns, trained on the replies) talking with its "
        "whole conversation in its recurrent state. The user gives it a word, makes small talk, and asks for the "
        "word back: only the carried state can answer. Greedy decoding; the state is saved in "
        "conversation.safetensors.</p>"
        f"<table>{rows}</table><div style='text-align:left'>{lines}</div>"
    )
    summary = (
        "\n".join(f"{name:<20}{value}" for name, value in facts)
        + "\ntranscript:\n"
        + "\n".join(line if len(line) <= 100 else line[:97] + "..." for line in transcript.splitlines()[:6])
    )
    return Section(title="Text: a chat model whose memory is its state", html=body, summary=summary)
