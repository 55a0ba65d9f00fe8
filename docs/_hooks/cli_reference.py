"""The command-line reference, written from the parser the ``rnnkit`` command itself builds.

``rnnkit.cli.build_parser()`` turns each command's typed config dataclass into a jsonargparse parser (fields are
the flags, field docstrings the help). This module walks that parser, so the page shows exactly what ``--help``
shows: nothing here is copied by hand, and a new flag or command appears on the next build.
Imports nothing from MkDocs (the docs tests call :func:`cli_markdown` directly).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

SKIP = {"help", "print_config"}  # argparse/jsonargparse's own options, the same on every command


def _subparsers(parser: Any) -> dict[str, Any]:
    action = getattr(parser, "_subcommands_action", None)
    return dict(action.choices) if action is not None else {}


def _type_name(action: argparse.Action) -> str:
    if action.dest == "config":
        return "path"
    hint = getattr(action, "_typehint", None) or action.type
    if hint is None:
        return ""
    if isinstance(hint, type):
        return hint.__name__
    text = str(hint).replace("typing.", "").replace("NoneType", "None")
    text = re.sub(r"Optional\[(.*)\]", r"\1 | None", text)
    return text


def _default(action: argparse.Action) -> str:
    if getattr(action, "required", False):
        return "**required**"
    if action.default is None or action.default == argparse.SUPPRESS:
        return "None" if action.default is None and action.dest != "config" else ""
    return f"`{action.default!r}`" if not isinstance(action.default, str) else f"`{action.default}`"


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _flags_table(parser: Any) -> list[str]:
    rows = ["| flag | type | default | what it does |", "|---|---|---|---|"]
    for action in parser._actions:
        if action.dest in SKIP:
            continue
        if not action.option_strings:  # a positional argument (a command's POSITIONAL field)
            rows.append(f"| `{action.dest}` (positional) | | | {_cell(action.help or '')} |")
            continue
        flag = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        help_text = _cell(action.help or "")
        if f"{flag}+" in action.option_strings:  # jsonargparse's form that appends to a list
            help_text += f" (`{flag}+ VALUE` appends to the list)"
        rows.append(f"| `{flag}` | {_cell(_type_name(action))} | {_default(action)} | {help_text} |")
    return rows


def commands() -> list[tuple[str, Any]]:
    """``[("classify train", parser), ...]`` for every command ``rnnkit`` has, in the order ``--help`` lists them."""
    from rnnkit.cli import build_parser

    parser, _ = build_parser()
    found: list[tuple[str, Any]] = []
    for name, sub in _subparsers(parser).items():
        verbs = _subparsers(sub)
        if not verbs:
            found.append((name, sub))
        found.extend((f"{name} {verb}", verb_parser) for verb, verb_parser in verbs.items())
    return found


def cli_markdown() -> str:
    """The whole ``api/cli.md`` page."""
    lines = [
        "# Command line",
        "",
        "Generated at build time from `rnnkit.cli.build_parser()`, the parser the `rnnkit` command uses: each",
        "command is a typed config dataclass, its fields are the flags and their docstrings the help text below.",
        "Flags may be written `--max_new_tokens` or `--max-new-tokens`; `--config FILE.yaml` reads the same fields",
        "from a file; every command writes its resolved `config.json` (and `metrics.json`) next to its outputs.",
        "A mistake in the input ends with one line `rnnkit <verb>: error: ...` and exit code 2.",
        "",
    ]
    for name, parser in commands():  # the page's table of contents lists them
        lines += ["", f"## rnnkit {name} {{#{name.replace(' ', '-')}}}", ""]
        if parser.description:
            lines += [_cell(parser.description), ""]
        lines += [f"`rnnkit {name} --help` prints the same.", ""]
        lines += _flags_table(parser)
    return "\n".join(lines) + "\n"
