"""The text section of `rnnkit demo`, in quick mode."""

from __future__ import annotations

from pathlib import Path

from rnnkit.text.demo import corpus, section


def test_corpus_ships_with_python() -> None:
    text = corpus()
    assert len(text) > 100_000  # real prose, present everywhere Python is
    assert corpus(1000) == text[:1000]


def test_quick_section(tmp_path: Path) -> None:
    result = section(tmp_path, quick=True)
    assert result.title.startswith("Text")
    assert "bits per character" in result.html and "The if statement" in result.html
    assert (tmp_path / "text" / "sample.txt").read_text(encoding="utf-8").startswith("The if statement")
    assert all(p.is_file() for p in result.images)
