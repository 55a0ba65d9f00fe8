"""Every row of docs/guide/errors.md is run: the command (in a folder holding the page's example files and the models
of its set-up block) must exit with the row's code and print exactly the row's message, on one line."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from markdown_blocks import ROOT

from rnnkit.cli import main

PAGE = ROOT / "docs" / "guide" / "errors.md"
ROW = re.compile(r"^\| (?P<case>[^|]+) \| `(?P<command>rnnkit [^`]+)` \| (?P<code>\d+) \| ?(?P<message>.*?) ?\|$")
NOUNS = [("cat", "chat"), ("dog", "chien"), ("car", "voiture"), ("bird", "oiseau"), ("tree", "arbre"),
         ("boat", "bateau"), ("house", "maison"), ("horse", "cheval"), ("book", "livre"),
         ("train", "train")]  # fmt: skip


def _files(root: Path) -> None:
    """The example files the page's table describes."""
    rng = np.random.default_rng(0)
    hours = [f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00" for i in range(200)]
    (root / "series.csv").write_text(
        "date,temp\n" + "".join(f"{h},{10 + np.sin(i / 4):.3f}\n" for i, h in enumerate(hours))
    )
    steps = [f"{i},{np.sin(i / 3):.3f}" for i in range(60)]
    (root / "steps.csv").write_text("t,y\n" + "\n".join(steps) + "\n")
    (root / "inf.csv").write_text("t,y\n" + "\n".join(s if i != 7 else "7,inf" for i, s in enumerate(steps)) + "\n")
    (root / "text_value.csv").write_text(
        "t,y\n" + "\n".join(s if i != 3 else "3,abc" for i, s in enumerate(steps)) + "\n"
    )
    rows = [",".join(f"{v:.2f}" for v in rng.normal(size=5)) + f",{'ab'[i % 2]}" for i in range(20)]
    (root / "labels.csv").write_text("t0,t1,t2,t3,t4,label\n" + "\n".join(rows) + "\n")
    rows = [",".join(f"{v:.2f}" for v in rng.normal(size=3)) + ",x" for _ in range(10)]
    (root / "one_class.csv").write_text("t0,t1,t2,label\n" + "\n".join(rows) + "\n")
    (root / "corpus.txt").write_text("to be or not to be, that is the question.\n" * 40, encoding="utf-8")
    (root / "latin1.txt").write_bytes("café au lait\n".encode("latin-1") * 20)
    (root / "pairs.txt").write_text("I am cold.\tJ'ai froid.\nYou are late.\tTu es en retard.\n", encoding="utf-8")
    pairs = [f"I see a {en}.\tJe vois un {fr}." for en, fr in NOUNS]
    pairs += [f"We see a {en}.\tNous voyons un {fr}." for en, fr in NOUNS]
    pairs += [f"You see a {en}.\tTu vois un {fr}." for en, fr in NOUNS]
    (root / "pairs30.txt").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    (root / "empty.csv").write_text("")
    (root / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    (root / "folder.csv").mkdir()
    (root / "taken").write_text("a file, not a folder")
    (root / "keys.yaml").write_text("time-budget: 3\n")
    (root / "typo.yaml").write_text("tim_budget: 3\n")
    (root / "foreign" / "model").mkdir(parents=True)
    (root / "foreign" / "model" / "config.json").write_text('{"format": "keras"}')
    (root / "foreign" / "model" / "model.safetensors").write_bytes(b"not safetensors")


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Run with ``folder`` as the working directory (contextlib.chdir needs Python 3.11)."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def _rows() -> list[tuple[str, str, int, str]]:
    found = [ROW.match(line) for line in PAGE.read_text(encoding="utf-8").splitlines()]
    return [(m["case"], m["command"], int(m["code"]), m["message"]) for m in found if m]


def _setup_commands() -> list[str]:
    block = PAGE.read_text(encoding="utf-8").split("```bash setup\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("errors")
    _files(root)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _inside(root):
            for command in _setup_commands():
                code, err = _run(shlex.split(command)[1:])
                assert code == 0, f"{command}: {err}"
    finally:
        torch.set_num_threads(threads)
    return root


def test_the_page_has_rows() -> None:
    assert len(_rows()) >= 40 and len(_setup_commands()) == 4


@pytest.mark.parametrize(("case", "command", "code", "message"), _rows(), ids=[r[1][7:60] for r in _rows()])
def test_row(folder: Path, case: str, command: str, code: int, message: str) -> None:
    with _inside(folder):
        got_code, err = _run(shlex.split(command)[1:])
    assert err.count("\n") == 1 and "Traceback" not in err, f"{case}: not one line: {err!r}"
    assert (got_code, err.strip()) == (code, message), case


def test_the_tests_named_for_fixed_behaviour_exist() -> None:
    table = PAGE.read_text(encoding="utf-8").split("## Fixed without an error", 1)[1]
    for name in re.findall(r"`(tests/[^`]+)`", table):
        assert list(ROOT.glob(name)), name
