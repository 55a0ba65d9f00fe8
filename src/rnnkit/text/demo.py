"""The text section of ``rnnkit demo``: a short character-level LSTM on CPython's own help text, and a sample.

The corpus is ``pydoc_data.topics`` (the text behind ``help("if")`` etc., ~465k characters of English and
Python), which ships with every CPython, so the demo needs no download.
"""

from __future__ import annotations

import html
from pathlib import Path

from rnnkit.report import Section
from rnnkit.train.runlog import write_json


def corpus(max_chars: int | None = None) -> str:
    """CPython's help-topic texts, joined in a fixed (sorted) order."""
    import pydoc_data.topics

    text = "\n\n".join(pydoc_data.topics.topics[k].strip() for k in sorted(pydoc_data.topics.topics))
    return text if max_chars is None else text[:max_chars]


def section(out: Path, quick: bool) -> Section:
    """Train a char-LM for ~1 minute (a few steps when ``quick``) and show its validation loss and a sample."""
    from rnnkit.text.lm.cli import TextTrainConfig, train
    from rnnkit.text.lm.estimator import TextGenerator

    out = Path(out) / "text"
    out.mkdir(parents=True, exist_ok=True)
    data = out / "pydoc_topics.txt"
    data.write_text(corpus(30_000 if quick else None), encoding="utf-8")
    if quick:
        sizes = {"embed_size": 16, "hidden_size": 32, "num_layers": 1, "bptt": 32, "batch_size": 8, "max_steps": 6}
    else:
        sizes = {"embed_size": 64, "hidden_size": 256, "num_layers": 1, "bptt": 64, "batch_size": 32}
    config = TextTrainConfig(
        data=str(data),
        out=str(out / "run"),
        level="char",
        dropout=0.0,
        lr=4e-3,
        warmup_steps=10,
        time_budget=None if quick else 1.0,
        val_every=4 if quick else 100,
        early_stopping=None,
        quiet=True,
        **sizes,  # type: ignore[arg-type]
    )
    metrics = train(config)
    lm = TextGenerator.load(out / "run")
    prompt = "The if statement"
    sample = lm.generate(prompt, 120 if quick else 400, temperature=0.7, seed=0)
    (out / "sample.txt").write_text(prompt + str(sample) + "\n", encoding="utf-8")
    write_json(out / "metrics.json", metrics)
    facts = [
        ("corpus", f"pydoc_data.topics, {len(data.read_text(encoding='utf-8')):,} characters (last 10% validation)"),
        ("model", f"1-layer LSTM, {sizes['hidden_size']} units, {metrics['parameters']:,} parameters"),
        ("training", f"{metrics['steps'][0]} steps, {metrics['train_seconds']:.0f} s ({metrics['stopped_reason'][0]})"),
        ("validation loss", f"{metrics['val_loss']:.3f} nats/char"),
        ("bits per character", f"{metrics['val_bpc']:.3f}"),
    ]
    rows = "".join(f"<tr><th>{html.escape(name)}</th><td>{value}</td></tr>" for name, value in facts)
    body = (
        "<p>A character-level language model trained with truncated BPTT on CPython's built-in help text, "
        "then sampled one character at a time with its recurrent state carried (temperature 0.7, seed 0).</p>"
        f"<table>{rows}</table><pre style='white-space:pre-wrap;text-align:left'>"
        f"<b>{html.escape(prompt)}</b>{html.escape(str(sample))}</pre>"
    )
    images = [p for p in [out / "run" / "curves.png"] if p.is_file()]
    first_lines = "\n".join((prompt + str(sample)).splitlines()[:4])
    summary = "\n".join(f"{name:<20}{value}" for name, value in facts) + f"\nsample (temperature 0.7):\n{first_lines}"
    return Section(title="Text: a character-level language model", html=body, images=images, summary=summary)
