"""The demo's HTML report: one self-contained page of sections (images embedded), readable offline.

Each application's demo returns a :class:`Section`; :func:`write_report` puts them on one page with a header
(date, rnnkit/torch versions, machine), a table of contents and one block per section. :func:`html_table` turns
rows into an HTML table so sections need not write markup by hand.
"""

from __future__ import annotations

import base64
import html
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1000px;margin:2em auto;
 padding:0 1.2em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #e3e3e3;padding-bottom:.2em;margin-top:2em}
.meta{color:#666;font-size:.9em}.toc{background:#f6f8fa;padding:.6em 1.2em;border-radius:6px}
.toc li{margin:.15em 0}table{border-collapse:collapse;margin:1em 0;font-size:.95em}
td,th{border:1px solid #ccc;padding:4px 12px}th{background:#f0f0f0;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#666;font-size:.9em}
.error{background:#fff0f0;border:1px solid #e99;padding:.6em 1em;border-radius:6px;white-space:pre-wrap}
.seconds{color:#888;font-size:.8em;font-weight:normal}
"""


@dataclass
class Section:
    """One part of the report: a title, an HTML fragment (tables, paragraphs) and PNG images.

    ``summary`` is a plain-text version (e.g. the table) that ``rnnkit demo`` prints to the terminal;
    ``seconds`` is filled in by the demo with the time the section took.
    """

    title: str
    html: str
    images: list[Path] = field(default_factory=list)
    summary: str = ""
    seconds: float | None = None


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as an HTML table; numbers are right-aligned.

    >>> html_table(["cell", "accuracy"], [["gru", 0.97]])
    '<table><tr><th>cell</th><th>accuracy</th></tr><tr><td>gru</td><td class="num">0.97</td></tr></table>'
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            attr = ' class="num"' if numeric else ""
            cells.append(f"<td{attr}>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as an aligned plain-text table (for the terminal).

    >>> print(text_table(["cell", "acc"], [["gru", 0.97], ["lstm", 1.0]]))
    cell   acc
    gru   0.97
    lstm   1.0
    """
    cells = [[str(h) for h in header], *[[str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        parts = [v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _anchor(i: int) -> str:
    return f"section-{i + 1}"


def cpu_name() -> str:
    """The CPU model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine() -> str:
    import torch

    from rnnkit import __version__

    cpu = cpu_name()
    return (
        f"rnnkit {__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.system()} on {cpu} ({os.cpu_count()} cores)"
    )


def write_report(
    sections: list[Section], path: Path, title: str = "rnnkit demo", total_seconds: float | None = None
) -> Path:
    """Write ``sections`` as one self-contained HTML page (images as base64 data URIs); returns ``path``."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    meta = f"{stamp} · {_machine()}" + (f" · {total_seconds:.0f} s in all" if total_seconds is not None else "")
    toc = "".join(f"<li><a href='#{_anchor(i)}'>{html.escape(s.title)}</a></li>" for i, s in enumerate(sections))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(meta)}</p>",
        f"<nav class='toc'><ol>{toc}</ol></nav>" if len(sections) > 1 else "",
    ]
    for i, section in enumerate(sections):
        took = f" <span class='seconds'>({section.seconds:.0f} s)</span>" if section.seconds is not None else ""
        parts.append(f"<section id='{_anchor(i)}'><h2>{html.escape(section.title)}{took}</h2>{section.html}")
        for image in section.images:
            data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
            name = html.escape(Path(image).stem.replace("_", " "))
            parts.append(f"<figure><img alt='{name}' src='data:image/png;base64,{data}'></figure>")
        parts.append("</section>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
