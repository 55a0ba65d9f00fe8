"""The demo's HTML report: one page of sections, images embedded, readable offline."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    """One part of the report: a title, an HTML fragment (tables, paragraphs) and PNG images."""

    title: str
    html: str
    images: list[Path] = field(default_factory=list)


def write_report(sections: list[Section], path: Path, title: str = "rnnkit demo") -> Path:
    """Write ``sections`` as one self-contained HTML page (images as base64 data URIs)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}"
        "th{background:#eee}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>{section.html}")
        for image in section.images:
            data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
            parts.append(f"<img alt='{html.escape(Path(image).stem)}' src='data:image/png;base64,{data}'>")
        parts.append("</section>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
