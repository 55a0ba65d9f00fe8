"""The results page's figures come from ``benchmarks/RESULTS.md``, never from a copy.

``benchmarks/RESULTS.md`` is a log: each benchmark script appends a section (``## title``, a line with the date and
machine, the command, tables, notes). ``docs/results.md`` picks sections with a marker line::

    <!-- results: Forecasting: ETTh1, LTSF protocol, look-back 96 @ 2026-11-27 23:32 -->

(the title, and optionally ``@`` text found in the section's first lines, such as its date; without it the newest
section of that title). At build time the marker is replaced by the section, verbatim, so every figure on the page
appears with its machine and its command. A marker that matches no section fails the build. The plots of the page
are drawn at build time from the tables of sections the page shows (:data:`PLOTS`).
Imports nothing from MkDocs (the docs tests use it directly).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "benchmarks" / "RESULTS.md"
MARKER = re.compile(r"^<!-- results: (?P<title>.+?)(?: @ (?P<when>.+?))? -->$", re.MULTILINE)


@dataclass
class Section:
    title: str
    body: str  # everything after the "## title" line

    def tables(self) -> list[tuple[list[str], list[list[str]]]]:
        """Every Markdown table of the section: (header, rows), cells stripped."""
        found, current = [], []
        for line in [*self.body.splitlines(), ""]:
            if line.startswith("|"):
                current.append([c.strip() for c in line.strip().strip("|").split("|")])
            elif current:
                header, *rows = current
                found.append((header, [r for r in rows if not all(set(c) <= set("-: ") for c in r)]))
                current = []
        return found


def sections(text: str | None = None) -> list[Section]:
    text = LOG.read_text(encoding="utf-8") if text is None else text
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return [Section(p.split("\n", 1)[0].strip(), p.split("\n", 1)[1] if "\n" in p else "") for p in parts]


def find(title: str, when: str | None = None, log: list[Section] | None = None) -> Section:
    """The newest section titled ``title`` whose title or first lines contain ``when``."""
    log = sections() if log is None else log
    matches = [
        s
        for s in log
        if s.title == title and (when is None or when in s.title + "\n".join(s.body.strip().splitlines()[:3]))
    ]
    if not matches:
        raise ValueError(f"benchmarks/RESULTS.md has no section {title!r}" + (f" from {when!r}" if when else ""))
    return matches[-1]


def fill(page: str, log: list[Section] | None = None) -> str:
    """``page`` with every marker replaced by its section's body."""
    log = sections() if log is None else log

    def body(m: re.Match) -> str:  # "Command: ..." and "Machine ..." lines start paragraphs of their own
        return re.sub(r"\n(Command|Machine)", r"\n\n\1", find(m["title"], m["when"], log).body.strip())

    return MARKER.sub(body, page)


def markers(page: str) -> list[tuple[str, str | None]]:
    return [(m["title"], m["when"]) for m in MARKER.finditer(page)]


# ---- plots ---------------------------------------------------------------------------------------------------
ETT = "Forecasting: ETTh1, LTSF protocol, look-back 96 (development set)"
LAYERS = "rnnkit.nn layers vs torch.nn (forward+backward)"
CLASSIFY = "Classification: rnnkit defaults vs ROCKET"


def _figure(width: float = 8, height: float = 3.4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height), dpi=100)


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _table(section: Section, first_column: str) -> tuple[list[str], list[list[str]]]:
    for header, rows in section.tables():
        if header and header[0] == first_column:
            return header, rows
    raise ValueError(f"section {section.title!r} has no table starting with column {first_column!r}")


def plot_ett(page: str) -> bytes:
    """Test MSE by horizon: each rnnkit ETTh1 run the page shows, against the published models."""
    plt, fig, ax = _figure()
    runs = [find(t, w) for t, w in markers(page) if t == ETT]
    published: dict[str, dict[int, float]] = {}
    for k, section in enumerate(runs):
        header, rows = _table(section, "horizon")
        mse = header.index("test MSE")
        ours = {int(r[0]): float(r[mse]) for r in rows if r[1].startswith("rnnkit segrnn (ensemble")}
        seed = re.search(r"seed=(\d+)", section.body)
        day = section.body.strip()[:10]  # the section's date line starts with YYYY-MM-DD
        label = f"rnnkit, seed {seed[1] if seed else 0}, {day}"
        ax.plot(list(ours), list(ours.values()), "o-", lw=2, label=label, zorder=3 + k)
        for r in rows:
            if r[1].endswith("(paper)"):
                published.setdefault(r[1], {})[int(r[0])] = float(r[mse])
    for name, values in published.items():
        ax.plot(list(values), list(values.values()), "s--", alpha=0.7, label=name)
    ax.set(xlabel="horizon (hours)", ylabel="test MSE (lower is better)", title="ETTh1, look-back 96")
    ax.set_xscale("log")
    ax.set_xticks([96, 192, 336, 720], labels=["96", "192", "336", "720"])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(plt, fig)


def plot_layers(page: str) -> bytes:
    """Variable-length batches: time of torch's packed path over rnnkit's ``lengths=``, per layer."""
    plt, fig, ax = _figure()
    section = find(*next(m for m in markers(page) if m[0] == LAYERS))
    header, rows = _table(section, "shape")
    if "packed/rnnkit" not in header:
        header, rows = next((h, r) for h, r in section.tables() if "packed/rnnkit" in h)
    ratio = header.index("packed/rnnkit")
    labels = [f"{r[1]} {r[2]}L {r[3]}" for r in rows]
    values = [float(r[ratio].rstrip("x")) for r in rows]
    ax.bar(labels, values, color=["#4c72b0" if v >= 1 else "#c44e52" for v in values])
    ax.axhline(1, color="black", lw=0.8)
    ax.set(ylabel="torch packed time / rnnkit time", title=f"Variable lengths, forward+backward ({rows[0][0]})")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(plt, fig)


def plot_classify(page: str) -> bytes:
    """Test accuracy of rnnkit's defaults against ROCKET per data set."""
    plt, fig, ax = _figure(9, 3.4)
    section = next(find(t, w) for t, w in markers(page) if t.startswith(CLASSIFY))
    header, rows = _table(section, "data set")
    rows = [r for r in rows if not r[0].startswith("**")]  # not the mean row
    ours, rocket = header.index("rnnkit acc"), header.index("ROCKET acc")

    def value(cell: str) -> float:
        return float(cell.split()[0])  # "0.9670 (before 0.9699)" -> 0.967

    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [value(r[ours]) for r in rows], 0.4, label="rnnkit (defaults)")
    ax.bar([i + 0.2 for i in x], [value(r[rocket]) for r in rows], 0.4, label="ROCKET")
    ax.set_xticks(list(x), labels=[r[0].replace(" (dev)", "*") for r in rows], rotation=30, ha="right", fontsize=7)
    lowest = min(value(r[c]) for r in rows for c in (ours, rocket))
    ax.set(ylim=(max(0.0, lowest - 0.05), 1.005), ylabel="test accuracy", title="UCR/UEA test sets (* development)")
    ax.legend(fontsize=8, loc="lower right")
    return _png(plt, fig)


PLOTS: dict[str, Callable[[str], bytes]] = {
    "img/results_ett.png": plot_ett,
    "img/results_layers.png": plot_layers,
    "img/results_classify.png": plot_classify,
}
