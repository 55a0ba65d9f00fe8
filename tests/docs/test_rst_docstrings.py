"""The API pages turn the docstrings' reST habits (roles, ``::`` blocks, doctests) into Markdown."""

from __future__ import annotations

import importlib.util
import sys

from markdown_blocks import ROOT


def _to_markdown():
    spec = importlib.util.spec_from_file_location("rst_docstrings", ROOT / "docs" / "_hooks" / "rst_docstrings.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.to_markdown


def test_roles_literal_blocks_and_doctests() -> None:
    text = (
        "Uses :class:`~rnnkit.nn.Recurrent` and :func:`load`.\n\n"
        "An example::\n\n    x = f(1)   # (B, T)\n    y = g(x)\n\nAfter.\n\n"
        ">>> 1 + 1\n2\n\nEnd."
    )
    assert _to_markdown()(text) == (
        "Uses `Recurrent` and `load`.\n\n"
        "An example:\n\n```text\nx = f(1)   # (B, T)\ny = g(x)\n```\n\nAfter.\n\n"
        "```pycon\n>>> 1 + 1\n2\n```\n\nEnd."
    )


def test_indented_docstring_blocks_keep_their_indent() -> None:
    text = "Args:\n    x: input::\n\n        a = 1\n\n    y: other."
    assert _to_markdown()(text) == "Args:\n    x: input:\n\n    ```text\n    a = 1\n    ```\n\n    y: other."
