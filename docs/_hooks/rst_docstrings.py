"""Griffe extension: render rnnkit's reST-flavoured docstrings as Markdown for mkdocstrings.

The docstrings are written for ``help()`` and doctest, in the reST habits of the PyTorch ecosystem:
``:class:`X``` roles, ``::`` literal blocks and bare ``>>>`` examples. In Markdown a ``>>>`` line is a nested quote
and ``::`` is punctuation, so this turns roles into code spans and both kinds of block into fenced code.
The source docstrings are not changed.
"""

from __future__ import annotations

import re
from typing import Any

try:  # griffe comes with the docs extra; to_markdown alone is tested without it
    from griffe import Extension, Object
except ImportError:  # pragma: no cover
    Extension, Object = object, Any  # type: ignore[assignment,misc]

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj|exc|const):`(~?)([^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_markdown(text: str) -> str:
    """The docstring ``text`` with roles, literal blocks and doctest blocks in Markdown."""
    text = ROLE.sub(lambda m: f"`{m[2].split('.')[-1] if m[1] else m[2]}`", text)  # ~a.b.C shows as C
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):  # a doctest block runs to the next blank line
            pad = _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][pad:] if _indent(lines[i]) >= pad else lines[i].strip())
                i += 1
            out += [" " * pad + "```pycon", *(" " * pad + b for b in block), " " * pad + "```"]
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            # reST literal block: the indented lines after a blank line
            out.append(line[:-2] + (":" if stripped != "::" else ""))
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            base = _indent(line)
            if j < len(lines) and _indent(lines[j]) > base:
                pad = _indent(lines[j])
                block = []
                while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) >= pad):
                    block.append(lines[j][pad:])
                    j += 1
                while block and not block[-1].strip():
                    block.pop()
                out += ["", " " * base + "```text", *(" " * base + b for b in block), " " * base + "```", ""]
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RstToMarkdown(Extension):
    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
