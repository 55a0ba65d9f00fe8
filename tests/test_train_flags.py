"""One declaration of training flags: every training command of every group has every engine flag, documented
once, by the engine (an application re-declares a field only to change its default, without a docstring)."""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, fields

import pytest

from rnnkit.cli import _verb_parser, build_parser
from rnnkit.train import TrainConfig


def engine_docs() -> dict[str, str]:
    """TrainConfig's field docstrings, read from its source (whitespace normalised)."""
    body = ast.parse(inspect.getsource(TrainConfig)).body[0]
    assert isinstance(body, ast.ClassDef)
    docs, name = {}, None
    for node in body.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        elif name and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docs[name] = " ".join(str(node.value.value).split())
            name = None
    return docs


def helps(parser) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {a.dest: " ".join((a.help or "").split()) for a in parser._actions}


def training_commands() -> list[tuple[tuple[str, ...], type]]:
    _, table = build_parser()
    return [(path, cls) for path, (cls, _) in table.items() if path[-1].endswith("train")]


def test_every_engine_field_has_a_docstring() -> None:
    assert set(engine_docs()) == {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize(
    ("path", "config_cls"), training_commands(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_training_command_has_every_engine_flag_with_its_docstring(path, config_cls) -> None:  # type: ignore[no-untyped-def]
    assert issubclass(config_cls, TrainConfig), f"{' '.join(path)}: its config must inherit rnnkit.train.TrainConfig"
    shown = helps(_verb_parser(config_cls))
    for name, doc in engine_docs().items():
        assert name in shown, f"{' '.join(path)} lacks --{name}"
        assert shown[name] == doc, f"{' '.join(path)} --{name}: {shown[name]!r} is not the engine's {doc!r}"


def test_a_default_redeclared_without_docstring_keeps_the_engine_help() -> None:
    @dataclass
    class TrainArgs(TrainConfig):
        epochs: int = 30
        hidden_size: int = 8
        """Hidden units."""

    parser = _verb_parser(TrainArgs)
    shown = helps(parser)
    assert shown["epochs"] == engine_docs()["epochs"] and shown["hidden_size"] == "Hidden units."
    assert parser.get_defaults().epochs == 30
