"""Text corpora available without a download, for the language-model benchmarks.

Benchmark corpora (``CORPORA``): tiny-shakespeare (from RNNKIT_DATA), CPython's bundled documentation text
(``pydoc_data.topics``) and the source of CPython's standard library (the running interpreter's, tests left out).
Development corpora (``DEV_CORPORA``), on which rnnkit's language-model defaults were chosen, so that the benchmark
corpora stay unseen: the docstrings of numpy and pandas, and the English-French sentence pairs of RNNKIT_DATA.
Each is built the same way on every run (files in sorted order), so a figure can be reproduced on a machine with
the same Python and package versions.
"""

from __future__ import annotations

import ast
import importlib.util
import sysconfig
from collections.abc import Callable
from pathlib import Path

import rnnkit
from rnnkit.text.tokenize import read_text


def shakespeare() -> str:
    """Tiny-shakespeare, 1,115,394 characters (the char-rnn corpus)."""
    return read_text(rnnkit.data_dir("tinyshakespeare", "input.txt"))


def python_docs() -> str:
    """CPython's documentation topics (the text behind ``help('topic')``), about 0.47M characters."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def python_source(max_chars: int = 6_000_000) -> str:
    """The standard library's .py files (no tests, idlelib, lib2to3 or site-packages), in path order, cut at
    ``max_chars`` characters."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if rel[0] in ("test", "idlelib", "lib2to3", "site-packages") or {"test", "tests"} & set(rel):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        size += len(text)
        if size >= max_chars:
            break
    return "".join(parts)[:max_chars]


def docstrings(packages: tuple[str, ...] = ("numpy", "pandas")) -> str:
    """Every module, class and function docstring of the installed ``packages`` (read with ast, not imported)."""
    out = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise SystemExit(f"expected the package {package!r} to be installed for its docstrings corpus")
        for path in sorted(Path(spec.origin).parent.rglob("*.py")):
            if {"test", "tests"} & set(path.parts):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc:
                        out.append(doc)
    return "\n\n".join(out)


def eng_fra() -> str:
    """The English-French sentence pairs (english<TAB>french lines), 0.7M characters."""
    return read_text(rnnkit.data_dir("eng-fra", "fra.txt"))


CORPORA: dict[str, Callable[[], str]] = {
    "shakespeare": shakespeare,
    "python-docs": python_docs,
    "python-source": python_source,
}
DEV_CORPORA: dict[str, Callable[[], str]] = {"docstrings": docstrings, "eng-fra": eng_fra}
