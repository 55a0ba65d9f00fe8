"""The results page shows sections of benchmarks/RESULTS.md, and the README quotes only figures shown there."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
from markdown_blocks import ROOT


def _results_log():
    spec = importlib.util.spec_from_file_location("results_log", ROOT / "docs" / "_hooks" / "results_log.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


PAGE = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")


def test_every_marker_names_a_section_with_its_command() -> None:
    log = _results_log()
    found = log.markers(PAGE)
    assert len(found) >= 8
    for title, when in found:
        body = log.find(title, when).body
        assert "Command" in body or "command" in body, f"{title} @ {when}: no command in the section"
    assert "<!-- results:" not in log.fill(PAGE)


def test_a_marker_without_a_section_is_an_error() -> None:
    log = _results_log()
    with pytest.raises(ValueError, match="no section 'Nothing like this'"):
        log.fill("<!-- results: Nothing like this -->")
    with pytest.raises(ValueError, match="from '1999-01-01'"):
        log.fill(f"<!-- results: {log.ETT} @ 1999-01-01 -->")


def test_sections_and_tables_are_parsed() -> None:
    log = _results_log()
    text = "# Log\n\n## A\n\n2026 UTC\nCommand: `x`\n\n| h | v |\n|---|---|\n| 1 | 2.5 |\n\n## A\n\nnewer\n"
    sections = log.sections(text)
    assert [s.title for s in sections] == ["A", "A"]
    assert log.find("A", log=sections).body.strip() == "newer"
    assert log.find("A", "2026", log=sections).tables() == [(["h", "v"], [["1", "2.5"]])]


def test_plots_are_drawn_from_the_page_sections() -> None:
    for path, plot in _results_log().PLOTS.items():
        png = plot(PAGE)
        assert png.startswith(b"\x89PNG") and len(png) < 200_000, path


def test_every_figure_the_readme_quotes_is_on_the_results_page() -> None:
    readme = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.DOTALL)
    readme = re.sub(r"Python\s*>=?\s*\d+\.\d+", "", readme)  # a version, not a figure
    shown = _results_log().fill(PAGE)
    figures = set(re.findall(r"(?<![\w.])\d+\.\d+(?![\d.])", readme))
    missing = sorted(f for f in figures if f not in shown)
    assert not missing, f"README.md quotes figures that the results page does not show: {missing}"
