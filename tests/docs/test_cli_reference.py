"""The generated command-line reference lists every command and every field of its config dataclass."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

from markdown_blocks import ROOT

from rnnkit.cli import build_parser


def _cli_reference():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs" / "_hooks" / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_command_and_field_is_documented() -> None:
    page = _cli_reference().cli_markdown()
    sections = {s.split("\n", 1)[0].split(" {#")[0]: s for s in page.split("\n## rnnkit ")[1:]}
    _, table = build_parser()
    assert set(sections) == {" ".join(path) for path in table}
    for path, (config_cls, _) in table.items():
        section = sections[" ".join(path)]
        positional = getattr(config_cls, "POSITIONAL", None)
        for field in dataclasses.fields(config_cls):
            row = f"| `{field.name}` (positional) |" if field.name == positional else f"| `--{field.name}` |"
            if field.name in getattr(config_cls, "NOT_FLAGS", ()):  # inherited, unused: neither a flag nor a row
                assert row not in section, f"rnnkit {' '.join(path)}: {field.name} is not a flag of this command"
                continue
            assert row in section, f"rnnkit {' '.join(path)}: {field.name} missing"
        assert (config_cls.__doc__ or "").strip().splitlines()[0] in section


def test_a_field_docstring_is_the_flag_help(tmp_path: Path) -> None:
    # classify train's --pooling help comes from the dataclass field's docstring (multi-line, joined)
    page = _cli_reference().cli_markdown()
    row = next(line for line in page.splitlines() if line.startswith("| `--pooling` |") and "last + mean + max" in line)
    assert "| `all` |" in row and "over each series' valid steps" in row
