"""Every Python block of the documentation runs (docs/**/*.md and README.md).

One test per page: its blocks run in order in one namespace, like a reader pasting them into one session, in a
fresh temporary directory (so outputs like ``runs/`` land there), with torch seeded and on one thread. A failing
block's traceback points at the Markdown file and line. Mark a block that must not run with
```` ```python no-run ```` or a ``<!-- no-run -->`` line before it (rarely: a block that cannot run here, e.g.
one that needs a GPU).
"""

from __future__ import annotations

import ast
import linecache
from pathlib import Path

import pytest
import torch
from markdown_blocks import ROOT, Block, blocks, pages

PAGES = [p for p in pages() if any(b.run for b in blocks(p))]


def run_block(block: Block, namespace: dict) -> None:
    """Execute one block so that its tracebacks name the Markdown file and line."""
    filename = str(block.path)
    page = block.path.read_text(encoding="utf-8")
    linecache.cache[filename] = (len(page), None, page.splitlines(keepends=True), filename)  # for tracebacks
    tree = ast.increment_lineno(ast.parse(block.code, filename), block.line - 1)
    exec(compile(tree, filename, "exec"), namespace)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is as fast, and it does not fight the other tests for cores
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in blocks(page):
            if block.run:
                run_block(block, namespace)
    finally:
        torch.set_num_threads(threads)


def test_blocks_are_found_and_few_are_skipped() -> None:
    found = [b for p in pages() for b in blocks(p)]
    skipped = [f"{b.path.relative_to(ROOT)}:{b.line}" for b in found if not b.run]
    assert len(found) >= 20, f"expected the tutorial's blocks to be found, got {len(found)}"
    assert len(skipped) <= 3, f"too many blocks marked no-run: {skipped}"


def test_collector_reads_fences_and_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n<!-- no-run -->\n```python\nimport gpu_only\n```\n\n"
        "```python no-run\nalso_skipped()\n```\n\n1. a list item\n\n    ```python\n    y = x + 1\n    ```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.line, b.code, b.run) for b in found] == [
        (4, "x = 1\n", True),
        (13, "import gpu_only\n", False),
        (17, "also_skipped()\n", False),
        (23, "y = x + 1\n", True),
    ]
    namespace: dict = {}
    run_block(found[0], namespace)
    run_block(found[3], namespace)
    assert namespace["y"] == 2


def test_a_failing_block_names_its_page_and_line(tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text("# broken\n\n```python\nok = 1\nassert ok == 2, 'the example is wrong'\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="the example is wrong") as info:
        run_block(blocks(page)[0], {})
    last = info.traceback[-1]
    assert Path(str(last.path)) == page and last.lineno + 1 == 5
