"""`rnnkit demo --quick`: every available section lands in one self-contained report.html."""

from __future__ import annotations

import importlib.util
import logging
import sys
import types

import pytest

from rnnkit import demo
from rnnkit.cli import main
from rnnkit.report import Section


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_quick_demo_writes_report_with_every_section(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick", "true"]) == 0
    page = (tmp_path / "report.html").read_text()
    expected = [m for m in demo.SECTIONS if _available(m)]
    assert "rnnkit.classify.demo" in expected
    assert page.count("<section id=") == len(expected)
    assert "(failed)" not in page
    assert "Classification: RNN vs GRU vs LSTM on JapaneseVowels" in page
    assert page.count("data:image/png;base64,") >= 2  # images embedded, no files needed to view it
    assert "http://" not in page and "https://" not in page  # opens offline
    out = capsys.readouterr().out
    for cell in ("RNN", "GRU", "LSTM"):
        assert f"\n{cell} " in out  # the printed table has one row per cell
    assert "linear" in out and "val MASE" in out  # forecasting prints its validation choice
    assert "bits per character" in out  # and text its figures
    # `make demo` twice: the second run replaces the first rather than refusing its finished runs
    (tmp_path / "report.html").unlink()
    assert main(["demo", "--out", str(tmp_path), "--quick", "true"]) == 0
    assert "(failed)" not in (tmp_path / "report.html").read_text()


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path), "--quick", "true"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"rnnkit demo: error: --out {tmp_path} holds files that rnnkit demo did not write; expected a new or empty "
        "folder (or one an earlier demo wrote, which is replaced); choose another --out"
    )
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _fake_section(name: str, fn) -> str:
    module = types.ModuleType(name)
    module.section = fn
    sys.modules[name] = module
    return name


def test_missing_sections_are_skipped_and_failures_reported(tmp_path, monkeypatch, caplog):
    ok = _fake_section("rnnkit_fake_ok_demo", lambda out, quick: Section("Fine", "<p>fine</p>", summary="fine"))

    def broken(out, quick):
        raise ValueError("boom")

    bad = _fake_section("rnnkit_fake_bad_demo", broken)
    monkeypatch.setattr(demo, "SECTIONS", [ok, "rnnkit.nosuchapp.demo", bad])
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError) as err:
        demo.run(demo.DemoConfig(out=str(tmp_path), quick=True))
    assert str(err.value) == "demo sections failed: rnnkit_fake_bad_demo: ValueError: boom"
    assert "demo: skipping rnnkit.nosuchapp.demo (not available: No module named 'rnnkit.nosuchapp')" in caplog.text
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Fine" in page and "rnnkit_fake_bad_demo (failed)" in page and "ValueError: boom" in page
    for name in (ok, bad):
        del sys.modules[name]
