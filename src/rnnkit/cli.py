"""The ``rnnkit`` command. It only maps sub-commands to functions that live in the application folders.

Each application folder has a ``cli.py`` with ``COMMANDS = {"verb": (ConfigDataclass, function)}``. The dataclass
is the command line: its fields are the flags and their docstrings are the ``--help``; ``--config FILE.yaml`` reads
the same fields from a file. ``function(config)`` runs the command.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, set_parsing_settings

import rnnkit

# group -> module with COMMANDS; "" is the top level (rnnkit demo).
GROUPS = {
    "": "rnnkit.demo",
    "classify": "rnnkit.classify.cli",
    "text": "rnnkit.text.cli",
    "translate": "rnnkit.text.translate_cli",
    "forecast": "rnnkit.forecast.cli",
    "rl": "rnnkit.rl.cli",
}

Command = tuple[type, Callable[[Any], Any]]


def _commands(module: str) -> dict[str, Command]:
    try:
        return importlib.import_module(module).COMMANDS
    except ModuleNotFoundError as err:
        if err.name == module:  # that application is not built yet
            return {}
        raise


def _verb_parser(config_cls: type) -> ArgumentParser:
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    parser = ArgumentParser(
        description=(config_cls.__doc__ or "").strip().splitlines()[0] if config_cls.__doc__ else None
    )
    parser.add_argument("--config", action=ActionConfigFile, help="Read these options from a YAML/JSON file.")
    parser.add_class_arguments(config_cls, as_group=False)
    return parser


def build_parser() -> tuple[ArgumentParser, dict[tuple[str, ...], Command]]:
    parser = ArgumentParser(prog="rnnkit", description="Recurrent neural networks: train, evaluate, predict.")
    parser.add_argument("--version", action="version", version=f"rnnkit {rnnkit.__version__}")
    parser.add_argument("--log-level", default="INFO", help="Logging level (DEBUG, INFO, WARNING).")
    sub = parser.add_subcommands(dest="command")
    table: dict[tuple[str, ...], Command] = {}
    for group, module in GROUPS.items():
        commands = _commands(module)
        if not commands:
            continue
        if group == "":
            for verb, command in commands.items():
                sub.add_subcommand(
                    verb, _verb_parser(command[0]), help=(command[0].__doc__ or "").strip().split("\n")[0]
                )
                table[(verb,)] = command
            continue
        group_parser = ArgumentParser()
        sub.add_subcommand(group, group_parser, help=f"{group} commands")  # jsonargparse: add levels in order
        group_sub = group_parser.add_subcommands(dest="verb")
        for verb, command in commands.items():
            group_sub.add_subcommand(
                verb, _verb_parser(command[0]), help=(command[0].__doc__ or "").strip().split("\n")[0]
            )
            table[(group, verb)] = command
    return parser, table


def _underscored(arg: str) -> str:
    """``--max-new-tokens=5`` -> ``--max_new_tokens=5``: flags are field names, and both spellings are accepted."""
    if not arg.startswith("--"):
        return arg
    name, sep, value = arg.partition("=")
    return "--" + name[2:].replace("-", "_") + sep + value


def main(argv: Sequence[str] | None = None) -> int:
    parser, table = build_parser()
    args = parser.parse_args([_underscored(a) for a in (sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    command = args.command
    path: tuple[str, ...] = (command,)
    ns = args[command]
    if (command,) not in table:
        path = (command, ns.verb)
        ns = ns[ns.verb]
    config_cls, fn = table[path]
    fields = {k: v for k, v in ns.as_dict().items() if k != "config"}
    try:
        fn(config_cls(**fields))
    except (ValueError, TypeError, FileNotFoundError) as err:
        # A user's mistake: say it in one line, no traceback.
        print(f"rnnkit {' '.join(path)}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
