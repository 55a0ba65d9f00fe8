"""``rnnkit demo``: a tour of the applications on built-in data (no network, no files needed).

Each application contributes a section: a module in :data:`SECTIONS` with ``section(out: Path, quick: bool) ->
rnnkit.report.Section``. The demo runs them in order, prints each one's summary and writes OUT/report.html.
An application that is not built yet (its module does not exist) is skipped with a warning.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from rnnkit.apps import demo_sections
from rnnkit.report import Section, write_report

log = logging.getLogger(__name__)

SECTIONS = demo_sections()
"""Modules providing ``section(out, quick)``, in report order (from :data:`rnnkit.apps.APPS`)."""


@dataclass
class DemoConfig:
    """Run the rnnkit tour on built-in data and write runs/demo/report.html."""

    out: str = "runs/demo"
    """Directory for the demo's outputs (report.html, and one folder per section). A folder an earlier demo wrote
    is replaced; any other folder must be new or empty."""
    quick: bool = False
    """Much shorter runs (seconds; used by the tests). The numbers are then not meaningful."""


def _import(module: str) -> object | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and module.startswith(err.name):  # that application is not built yet
            log.warning("demo: skipping %s (not available: %s)", module, err)
            return None
        raise


MARKER = ".rnnkit-demo"
"""The file that marks a folder as the demo's own, so that the next demo may replace it."""


def _fresh(out: Path) -> None:
    """Make ``out`` an empty folder owned by the demo.

    The demo owns its folder: one an earlier demo wrote (it holds :data:`MARKER`) is emptied, so ``make demo`` can
    run again; a non-empty folder without the marker is refused rather than deleted.
    """
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ValueError(
                f"--out {out} holds files that rnnkit demo did not write; expected a new or empty folder "
                "(or one an earlier demo wrote, which is replaced); choose another --out"
            )
        shutil.rmtree(out)
    elif out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder for the demo's outputs; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by rnnkit demo; the next demo into this folder replaces it\n")


def run(config: DemoConfig) -> Path:
    """Run every available section and write OUT/report.html; returns its path.

    A section that fails does not stop the others: its error goes into the report, and the demo raises
    RuntimeError at the end so the failure is not missed.
    """
    out = Path(config.out)
    _fresh(out)
    start = time.perf_counter()
    sections: list[Section] = []
    failed: list[str] = []
    for name in SECTIONS:
        module = _import(name)
        if module is None:
            continue
        began = time.perf_counter()
        try:
            section: Section = module.section(out, config.quick)  # type: ignore[attr-defined]
        except Exception as err:  # a broken section must not hide the others
            log.exception("demo: %s failed", name)
            failed.append(f"{name}: {type(err).__name__}: {err}")
            section = Section(f"{name} (failed)", f"<pre class='error'>{_escape(traceback.format_exc())}</pre>")
        section.seconds = time.perf_counter() - began
        sections.append(section)
        if section.summary:
            print(f"\n== {section.title} ({section.seconds:.0f} s)\n{section.summary}")
    report = write_report(sections, out / "report.html", total_seconds=time.perf_counter() - start)
    print(f"\nreport: {report.resolve()}  ({time.perf_counter() - start:.0f} s)")
    if failed:
        raise RuntimeError("demo sections failed: " + "; ".join(failed))
    return report


def _escape(text: str) -> str:
    import html

    return html.escape(text)


COMMANDS = {"demo": (DemoConfig, run)}
