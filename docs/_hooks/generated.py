"""MkDocs hook: pages generated from the code at build time (nothing here is copied by hand).

- ``api/cli.md``: every ``rnnkit`` command and its flags, from the parser the CLI builds (:mod:`cli_reference`).
- ``api/<module>.md``: one mkdocstrings page per public module of each application (found by walking
  ``src/rnnkit/<app>/``, so a module added or moved appears without editing ``mkdocs.yml``), plus the
  ``rnnkit.nn`` and ``rnnkit.train`` packages.
The pages are added to the "API reference" section of the nav.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
APPLICATIONS = ["classify", "text", "forecast"]  # each application folder under src/rnnkit
SKIP = {"cli", "demo"}  # command-line modules are on the CLI page; demo sections are not an API
NAV_SECTION = "API reference"

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


def _modules(app: str) -> list[str]:
    base = SRC / "rnnkit" / app
    names = []
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or parts[-1] in SKIP or parts[-1].endswith("_cli"):
            continue
        names.append(".".join(parts))
    return names


def pages() -> dict[str, tuple[str, str]]:
    """``{path: (nav title, markdown)}`` for every generated page, in nav order."""
    spec = importlib.util.spec_from_file_location("cli_reference", Path(__file__).with_name("cli_reference.py"))
    assert spec is not None and spec.loader is not None
    cli_reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli_reference)
    cli_markdown = cli_reference.cli_markdown

    out: dict[str, tuple[str, str]] = {"api/cli.md": ("Command line", cli_markdown())}
    for module in ["rnnkit.nn", "rnnkit.train"]:
        out[f"api/{module}.md"] = (module, f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n")
    for app in APPLICATIONS:
        for module in _modules(app):
            out[f"api/{module}.md"] = (module, f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n")
    return out


_PAGES: dict[str, tuple[str, str]] = {}


def on_config(config: Any) -> Any:
    _PAGES.clear()
    _PAGES.update(pages())
    for entry in config["nav"]:
        if isinstance(entry, dict) and NAV_SECTION in entry:
            section = [e for e in entry[NAV_SECTION] if not (isinstance(e, dict) and set(e.values()) & set(_PAGES))]
            section += [{title: path} for path, (title, _) in _PAGES.items()]
            entry[NAV_SECTION] = section
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, (_, text) in _PAGES.items():
        files.append(File.generated(config, path, content=text))
    return files
