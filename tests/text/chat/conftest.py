"""A small dialogue model trained once for the chat tests (about 7 s on one thread), on a play whose replies
repeat a name said earlier in the scene, so that what the carried state remembers can be tested."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from rnnkit.text.chat import Chatbot

SMALL = {"embed_size": 16, "hidden_size": 64, "num_layers": 1, "bptt": 64, "batch_size": 16, "lr": 1e-2}
SMALL.update(quiet=True, seed=0, early_stopping=None, threads=1)
NAMES = ["anna", "bob", "cleo", "dan", "eve", "finn", "gus", "hal", "ivy", "jo"]


def script(conversations: int = 40, seed: int = 0) -> str:
    """A play in the tiny-shakespeare layout: scenes (two blank lines apart) of four turns whose replies repeat a
    name said earlier in the scene (only a model that remembers the conversation can predict it)."""
    rng = random.Random(seed)
    scenes = []
    for _ in range(conversations):
        name = rng.choice(NAMES)
        scenes.append(f"ALICE:\ni am {name}.\n\nBOT:\nhi {name}.\n\nALICE:\nbye.\n\nBOT:\nbye {name}.\n")
    return "\n\n".join(scenes)


@pytest.fixture(scope="session")
def play() -> Callable[..., str]:
    """``play(conversations)``: the text of :func:`script`."""
    return script


@pytest.fixture(scope="session")
def chat_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder (``--out``) with a trained chat model in model/."""
    out = tmp_path_factory.mktemp("chat") / "run"
    data = out.parent / "play.txt"
    data.write_text(script(400), encoding="utf-8")
    Chatbot(**SMALL, max_steps=700, val_every=350).fit(data, out=out)
    return out
