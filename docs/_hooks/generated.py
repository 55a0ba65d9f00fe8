"""MkDocs hook: pages generated from the code at build time (nothing here is copied by hand).

- ``api/cli.md``: every ``rnnkit`` command and its flags, from the parser the CLI builds (:mod:`cli_reference`).
- ``api/<module>.md``: one mkdocstrings page per public module of each application (found by walking
  ``src/rnnkit/<app>/``, so a module added or moved appears without editing ``mkdocs.yml``), plus the
  ``rnnkit.nn`` and ``rnnkit.train`` packages.
The pages are added to the "API reference" section of the nav.

``results.md`` shows sections of ``benchmarks/RESULTS.md`` verbatim and plots drawn from their tables
(:mod:`results_log`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
# Each application folder under src/rnnkit (every package but nn and train), so a new one appears by itself.
APPLICATIONS = sorted(
    p.name for p in (SRC / "rnnkit").iterdir() if (p / "__init__.py").is_file() and p.name not in {"nn", "train"}
)
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


def _load(name: str) -> Any:
    """A module next to this one (MkDocs loads hooks by path, so they are not importable by name)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def pages() -> dict[str, tuple[str, str]]:
    """``{path: (nav title, markdown)}`` for every generated page, in nav order."""
    cli_markdown = _load("cli_reference").cli_markdown

    out: dict[str, tuple[str, str]] = {"api/cli.md": ("Command line", cli_markdown())}
    modules = ["rnnkit.nn", "rnnkit.train", *(m for app in APPLICATIONS for m in _modules(app))]
    for module in modules:
        page = f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n"
        out[f"api/{module}.md"] = (module, page)
    return out


def nav(generated: dict[str, tuple[str, str]]) -> list[Any]:
    """The generated pages as nav entries: one sub-section per application."""
    entries: list[Any] = []
    groups: dict[str, list[Any]] = {}
    for path, (title, _) in generated.items():
        app = next((a for a in APPLICATIONS if title.startswith(f"rnnkit.{a}")), None)
        if app is None:
            entries.append({title: path})
            continue
        if app not in groups:
            groups[app] = []
            entries.append({f"rnnkit.{app}": groups[app]})
        groups[app].append({title: path})
    return entries


_PAGES: dict[str, tuple[str, str]] = {}


def on_config(config: Any) -> Any:
    _PAGES.clear()
    _PAGES.update(pages())
    for entry in config["nav"]:
        if isinstance(entry, dict) and NAV_SECTION in entry:
            entry[NAV_SECTION] = [e for e in entry[NAV_SECTION] if isinstance(e, str)] + nav(_PAGES)
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, (_, text) in _PAGES.items():
        files.append(File.generated(config, path, content=text))
    results = _load("results_log")
    page = (Path(config["docs_dir"]) / "results.md").read_text(encoding="utf-8")
    for path, plot in results.PLOTS.items():
        files.append(File.generated(config, path, content=plot(page)))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri == "results.md":
        return _load("results_log").fill(markdown)
    return markdown
