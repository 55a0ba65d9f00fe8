"""The ``rnnkit`` command. It only maps sub-commands to functions that live in the application folders.

The groups come from :data:`rnnkit.apps.APPS`. Each application folder has a ``cli.py`` with
``COMMANDS = {"verb": (ConfigDataclass, function)}``. The dataclass is the command line: its fields are the flags and
their docstrings are the ``--help`` (a training command's dataclass inherits :class:`rnnkit.train.TrainConfig`, so
every engine flag is there with the engine's docstring); ``--config FILE.yaml`` reads the same fields from a file.
``function(config)`` runs the command.

Bad input ends in one line, ``rnnkit GROUP VERB: error: ...``, and exit status 2: unknown flags and YAML keys (with a
"did you mean" hint), values of the wrong type, and the errors a user can cause (a missing, unreadable or non-UTF-8
file, --out pointing at a file). Ctrl-C during training prints one line and exits 130.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import re
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

from jsonargparse import ActionConfigFile, ArgumentParser, set_loader, set_parsing_settings
from jsonargparse._loaders_dumpers import yaml_load

from rnnkit import __version__
from rnnkit.apps import cli_groups
from rnnkit.train.driver import TrainingInterrupted, interrupted_exit

GROUPS = cli_groups()
"""Group -> module with COMMANDS; "" is the top level (rnnkit demo)."""

Command = tuple[type, Callable[[Any], Any]]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class UsageError(Exception):
    """A command line the parser rejected; ``main`` turns it into one line and exit status 2."""


class _Parser(ArgumentParser):
    def error(self, message: str, ex: Exception | None = None) -> NoReturn:  # type: ignore[override]
        raise UsageError(message)


def _flag_value_load(stream: Any) -> Any:
    """jsonargparse reads flag values as YAML, so ``--prompt '#1'`` became None (a comment). A one-line value with
    a ``#`` that YAML reads as nothing stays the string it is; files (several lines) keep their comments. Python's
    spelling ``None`` is read as YAML's ``null``, as the help texts write it (``--early_stopping None``)."""
    if stream == "None":
        return None
    value = yaml_load(stream)
    if value is None and isinstance(stream, str) and "\n" not in stream and "#" in stream:
        return stream
    return value


def _commands(module: str) -> dict[str, Command]:
    try:
        return importlib.import_module(module).COMMANDS
    except ModuleNotFoundError as err:
        if err.name == module:  # that application is not built yet
            return {}
        raise


def _verb_parser(config_cls: type) -> ArgumentParser:
    parser = _Parser(description=_first_line(config_cls.__doc__))
    parser.add_argument("--config", action=ActionConfigFile, help="Read these options from a YAML/JSON file.")
    # A command may name one field POSITIONAL (e.g. `rnnkit video predict --model DIR FILE...`), and fields it
    # inherits but does not use NOT_FLAGS (they keep their defaults).
    positional = getattr(config_cls, "POSITIONAL", None)
    skip = set(getattr(config_cls, "NOT_FLAGS", ())) | ({positional} if positional else set())
    parser.add_class_arguments(config_cls, as_group=False, skip=skip or None)
    if positional:
        many = "list" in str(config_cls.__dataclass_fields__[positional].type)  # type: ignore[attr-defined]
        name = positional.upper().rstrip("S")
        parser.add_argument(positional, nargs="*" if many else "?", metavar=name, help=f"{positional} (positional)")
    return parser


def _first_line(doc: str | None) -> str | None:
    return doc.strip().splitlines()[0] if doc and doc.strip() else None


def build_parser(groups: Collection[str] | None = None) -> tuple[ArgumentParser, dict[tuple[str, ...], Command]]:
    """The ``rnnkit`` parser and its (group, verb) -> command table. ``groups``: import and build only these
    groups' commands, listing the others by name (a command line names one group, and importing every
    application took seconds); None: all of them (the docs and the tests walk the whole tree)."""
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    set_loader("yaml", _flag_value_load)
    parser = _Parser(prog="rnnkit", description="Recurrent neural networks: train, evaluate, predict.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    parser.add_argument(
        "--log_level", "--log-level", default="INFO", help="Logging level: DEBUG, INFO, WARNING or ERROR."
    )
    sub = parser.add_subcommands(dest="command")
    table: dict[tuple[str, ...], Command] = {}
    for group, module in GROUPS.items():
        if groups is not None and group not in groups:
            sub.add_subcommand(group, _Parser(), help=f"{group} commands")  # named, not imported
            continue
        commands = _commands(module)
        if not commands:
            continue
        if group == "":
            for verb, command in commands.items():
                sub.add_subcommand(verb, _verb_parser(command[0]), help=_first_line(command[0].__doc__))
                table[(verb,)] = command
            continue
        group_parser = _Parser()
        sub.add_subcommand(group, group_parser, help=f"{group} commands")  # jsonargparse: add levels in order
        group_sub = group_parser.add_subcommands(dest="verb")
        for verb, command in commands.items():
            group_sub.add_subcommand(verb, _verb_parser(command[0]), help=_first_line(command[0].__doc__))
            table[(group, verb)] = command
    return parser, table


def _underscored(arg: str) -> str:
    """``--max-new-tokens=5`` -> ``--max_new_tokens=5``: flags are field names, and both spellings are accepted."""
    if not arg.startswith("--"):
        return arg
    name, sep, value = arg.partition("=")
    return "--" + name[2:].replace("-", "_") + sep + value


def _aliased(argv: list[str], aliases: dict[str, str]) -> list[str]:
    """A command's other spellings of a flag (``ALIASES`` on its config, e.g. ``--as`` for ``--as_name``, since
    ``as`` cannot be a field's name).

    >>> _aliased(["--as", "ROMEO", "--as=JULIET", "--ask"], {"as": "as_name"})
    ['--as_name', 'ROMEO', '--as_name=JULIET', '--ask']
    """
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if name.startswith("--") and name[2:] in aliases:
            arg = f"--{aliases[name[2:]]}{sep}{value}"
        out.append(arg)
    return out


def _pop_log_level(argv: list[str]) -> tuple[list[str], str]:
    """Take ``--log_level X`` (either spelling, anywhere on the line) out of ``argv``."""
    rest, level = [], "INFO"
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--log_level" and i + 1 < len(argv):
            level, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--log_level="):
            level = arg.partition("=")[2]
        else:
            rest.append(arg)
        i += 1
    return rest, level.upper()


def _command_path(argv: Sequence[str], table: dict[tuple[str, ...], Command]) -> tuple[str, ...]:
    """The group and verb named on the command line, as far as they are known."""
    words = [a for a in argv if not a.startswith("-")][:2]
    if words and (words[0],) in table:
        return (words[0],)
    if len(words) == 2 and tuple(words) in table:
        return tuple(words)
    return tuple(w for w in words[:1] if w in GROUPS)


def _field_names(config_cls: type | None) -> list[str]:
    return [f.name for f in fields(config_cls)] if config_cls is not None and is_dataclass(config_cls) else []


# Flags that name the input in one command and not in another (forecast --csv, classify --train/--input, text
# --data, translate --pairs): a user who types one where another is meant is pointed to this command's own.
_INPUT_FLAGS = ("data", "csv", "input", "train", "pairs", "file")


def _hint(name: str, names: Sequence[str], prefix: str = "--") -> str:
    """``; did you mean --x?`` for the closest of ``names`` (or this command's input flag), else ``""``.

    >>> _hint("data", ["csv", "target", "out"])
    '; did you mean --csv?'
    """
    key = name.replace("-", "_")
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not close and key in _INPUT_FLAGS:
        close = [n for n in _INPUT_FLAGS if n in names][:1]
    return f"; did you mean {prefix}{close[0]}?" if close else ""


def _type_name(expected: str) -> str:
    names = re.findall(r"Expected an? <class '(?:[\w.]+\.)?(\w+)'>", expected)
    words = ["None" if n == "NoneType" else n for n in dict.fromkeys(names)]
    return " or ".join(words) or "another value"


def usage_message(message: str, names: Sequence[str], trained: tuple[str, Sequence[str]] = ("", ())) -> str:
    """jsonargparse's message -> one line naming the flag, what was expected and a hint. ``trained`` is the
    training command of the same application and its flags: one of them given to ``predict`` is pointed there.

    >>> usage_message("unrecognized arguments: --tim_budget 3", ["time_budget", "epochs"])
    'unknown flag --tim_budget; did you mean --time_budget?'
    >>> usage_message("unrecognized arguments: --val_blocks 3", ["val_blocks", "val_fraction"])
    'unknown flag --val_blocks: this command does not use it'
    >>> usage_message('Parser key "epochs":\\n  Expected a <class \\'int\\'>. Got value: x', ["epochs"])
    "--epochs expects an int; got 'x'"
    >>> usage_message("unrecognized arguments: --epochs 3", ["model"], ("rnnkit forecast train", ["epochs"]))
    'unknown flag --epochs; --epochs is a training setting, stored with the model: give it to rnnkit forecast train'
    >>> usage_message("the following arguments are required: text.generate.prompt", ["prompt"])
    'missing --prompt: this command needs it (see --help)'
    """
    unknown = re.match(r"unrecognized arguments: (.*)", message, re.S)
    if unknown:
        words = unknown.group(1).split()
        flag = next((w for w in words if w.startswith("-")), None)
        if flag is None:
            return f"unexpected argument {words[0]!r}; options are given as --name value"
        name = flag.lstrip("-").partition("=")[0]
        if name in names:  # a field of the config that is not a flag of this command (NOT_FLAGS)
            return f"unknown flag --{name}: this command does not use it"
        hint = _hint(name, names)
        if not hint and name in trained[1]:
            hint = f"; --{name} is a training setting, stored with the model: give it to {trained[0]}"
        return f"unknown flag --{name}{hint}"
    required = re.match(r"the following arguments are required: (.*)", message)
    if required:
        flags = ["--" + a.strip().rsplit(".", 1)[-1] for a in required.group(1).split(",")]
        return f"missing {', '.join(flags)}: this command needs {'it' if len(flags) == 1 else 'them'} (see --help)"
    key = re.match(r'Parser key "([^"]+)":(.*)', message, re.S)
    if key:
        name, detail = key.group(1), key.group(2)
        got = re.search(r"(?:Got value|Given value): (.*)", detail)
        expected = _type_name(detail)
        article = "an" if expected[:1] in "aeiou" else "a"
        shown = f"; got {got.group(1).strip()!r}" if got else ""
        return f"--{name} expects {article} {expected}{shown}"
    choice = re.match(r"argument (\w+): invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        options = re.findall(r"'([^']*)'", choice.group(3))
        close = difflib.get_close_matches(choice.group(2), options, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {choice.group(1)} {choice.group(2)!r}; expected one of {', '.join(options)}{hint}"
    return " ".join(message.split())


def _check_config_files(argv: Sequence[str], names: Sequence[str]) -> None:
    """Unknown or hyphenated keys in a --config YAML file: one line naming the key (jsonargparse says only the
    group's name)."""
    import yaml

    for i, arg in enumerate(argv):
        path = argv[i + 1] if arg == "--config" and i + 1 < len(argv) else None
        if arg.startswith("--config="):
            path = arg.partition("=")[2]
        if path is None or not Path(path).is_file():
            continue
        try:
            content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise UsageError(f"--config {path}: not a YAML/JSON file ({' '.join(str(err).split())})") from err
        if not isinstance(content, dict):
            raise UsageError(f"--config {path}: expected a mapping of option: value; got {type(content).__name__}")
        for key in content:
            if str(key) not in names:
                name = str(key)
                hint = _hint(name, names, prefix="")
                raise UsageError(f"--config {path}: unknown key {name!r}{hint}")


def _user_error(err: BaseException, config: Any) -> str | None:
    """One line for an error the user caused (None: a bug, let it raise)."""
    if isinstance(err, (FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)):
        what = {
            FileExistsError: "exists and is not a folder",
            IsADirectoryError: "is a folder; expected a file",
            NotADirectoryError: "a part of this path is a file, not a folder",
            PermissionError: "permission denied",
        }[type(err)]
        return f"{err.filename}: {what}"
    if isinstance(err, FileNotFoundError) and err.filename and str(err.filename) not in str(err.args[-1]):
        return f"{err.filename}: file not found"
    if isinstance(err, UnicodeDecodeError):
        return f"{_input_files(config)}: not UTF-8 text (byte {err.start}: {err.reason}); save it as UTF-8"
    if _is_pandas_error(err):
        if type(err).__name__ == "EmptyDataError":
            return f"{_input_files(config)}: the file is empty; expected a table with a header row of column names"
        return f"{_input_files(config)}: {' '.join(str(err).split())}"
    if isinstance(err, (ValueError, TypeError, FileNotFoundError)):
        return " ".join(str(err).split()) if "\n" in str(err) else str(err)
    return None


def _is_pandas_error(err: BaseException) -> bool:
    return type(err).__module__.startswith("pandas") and type(err).__name__ in ("EmptyDataError", "ParserError")


def _input_files(config: Any) -> str:
    """The existing files named by the command's options (the ones it could have been reading)."""
    files = []
    if is_dataclass(config):
        for f in fields(config):
            value = getattr(config, f.name)
            if isinstance(value, str) and value and Path(value).is_file():
                files.append(value)
    return ", ".join(files) or "an input file"


def main(argv: Sequence[str] | None = None) -> int:
    raw = [_underscored(a) for a in (sys.argv[1:] if argv is None else argv)]
    level_given = any(a == "--log_level" or a.startswith("--log_level=") for a in raw)
    raw, level = _pop_log_level(raw)
    words = [a for a in raw if not a.startswith("-")]
    parser, table = build_parser({"", words[0]} if words and words[0] in GROUPS else {""})
    path = _command_path(raw, table)
    config_cls = table[path][0] if path in table else None
    raw = _aliased(raw, getattr(config_cls, "ALIASES", {}))
    prog = " ".join(("rnnkit", *path))
    try:
        if level not in LOG_LEVELS:
            raise UsageError(f"--log_level must be one of {', '.join(LOG_LEVELS)}; got {level.lower()!r}")
        _check_config_files(raw, _field_names(config_cls))
        args = parser.parse_args(raw)
    except UsageError as err:
        train = (*path[:1], "train")
        trained = (" ".join(("rnnkit", *train)), _field_names(table[train][0]) if train in table else [])
        print(f"{prog}: error: {usage_message(str(err), _field_names(config_cls), trained)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(message)s")
    command = args.command
    path = (command,)
    ns = args[command]
    if (command,) not in table:
        path = (command, ns.verb)
        ns = ns[ns.verb]
    config_cls, fn = table[path]
    prog = " ".join(("rnnkit", *path))
    kwargs = {k: v for k, v in ns.as_dict().items() if k != "config"}
    config = None
    try:
        config = config_cls(**kwargs)
        if getattr(config, "quiet", False) and not level_given:
            logging.getLogger().setLevel(logging.WARNING)  # --quiet: warnings and errors only
        fn(config)
    except (TrainingInterrupted, KeyboardInterrupt) as err:
        return interrupted_exit(err)
    except Exception as err:
        line = _user_error(err, config)
        if line is None:
            raise
        print(f"{prog}: error: {line}", file=sys.stderr)  # a user's mistake: one line, no traceback
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
