"""Find the Python code blocks of the documentation pages (docs/**/*.md and README.md).

A block is a fenced block whose info string starts with ``python``. It is skipped when the info string says
``no-run`` (```` ```python no-run ````) or the line before the fence is ``<!-- no-run -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
NO_RUN = "<!-- no-run -->"


@dataclass(frozen=True)
class Block:
    path: Path  # the Markdown file
    line: int  # 1-based line of the first code line
    code: str
    run: bool


def pages() -> list[Path]:
    """Every Markdown page with code to run, README first, then docs/ in path order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The Python blocks of one page, in page order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, indent = m["fence"], m["info"].strip().split(), len(m["indent"])
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            j += 1
        if info and info[0] in ("python", "py"):
            previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            run = "no-run" not in info[1:] and previous != NO_RUN
            code = "\n".join(line[indent:] for line in lines[i + 1 : j])
            found.append(Block(path, i + 2, code + "\n", run))
        i = j + 1
    return found
