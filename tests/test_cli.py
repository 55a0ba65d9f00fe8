"""The ``rnnkit`` command line: one-line errors for bad flags, values, YAML keys and files; --log-level."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rnnkit.cli import main


def _err(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no usage dump, no traceback
    return err.strip()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["classify", "train", "--tim_budget", "3"], "unknown flag --tim_budget; did you mean --time_budget?"),
        (["classify", "train", "--tim-budget=3"], "unknown flag --tim_budget; did you mean --time_budget?"),
        (["classify", "train", "--epochs", "x"], "--epochs expects an int; got 'x'"),
        (["classify", "train", "--time_budget", "abc"], "--time_budget expects a float or None; got 'abc'"),
        (["classify", "train", "--diff", "maybe"], "--diff expects a bool; got 'maybe'"),
        (["classify", "trian"], "unknown verb 'trian'; expected one of train, predict, eval; did you mean 'train'?"),
        (["classify", "train", "stray"], "unexpected argument 'stray'; options are given as --name value"),
    ],
)
def test_bad_flags_are_one_line_with_a_hint(capsys, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    prog = "rnnkit classify train" if argv[1] == "train" else "rnnkit classify"
    assert _err(capsys, argv) == f"{prog}: error: {message}"


def test_log_level_works_in_both_spellings_and_places(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    levels: list[int] = []
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: levels.append(kw["level"]))
    for argv in (
        ["--log-level", "DEBUG", "classify", "train", "--epochs", "0", "--dataset", "X"],
        ["--log_level=warning", "classify", "train", "--epochs", "0", "--dataset", "X"],
        ["classify", "train", "--log-level", "error", "--epochs", "0", "--dataset", "X"],
    ):
        assert _err(capsys, argv) == "rnnkit classify train: error: --epochs must be a positive integer; got 0"
    assert levels == ["DEBUG", "WARNING", "ERROR"]
    assert _err(capsys, ["--log-level", "loud", "demo"]) == (
        "rnnkit demo: error: --log_level must be one of DEBUG, INFO, WARNING, ERROR; got 'loud'"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time-budget: 3\n", "unknown key 'time-budget'; did you mean time_budget?"),
        ("tim_budget: 3\n", "unknown key 'tim_budget'; did you mean time_budget?"),
        ("- 1\n- 2\n", "expected a mapping of option: value; got list"),
        ("epochs: [1\n", "not a YAML/JSON file"),
    ],
)
def test_yaml_config_keys_are_checked(tmp_path: Path, capsys, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(content)
    err = _err(capsys, ["classify", "train", "--config", str(path)])
    assert err.startswith(f"rnnkit classify train: error: --config {path}: {message}")


def test_hash_in_a_string_value_stays_a_string() -> None:
    from rnnkit.cli import build_parser

    parser, _ = build_parser()
    args = parser.parse_args(["classify", "train", "--dataset", "#GunPoint", "--label_column", "a #b"])
    assert args.classify.train.dataset == "#GunPoint" and args.classify.train.label_column == "a #b"


def test_python_none_turns_an_option_off_and_stays_a_string_where_text_is_expected() -> None:
    from rnnkit.cli import build_parser

    parser, _ = build_parser(["forecast", "text"])
    args = parser.parse_args(
        ["forecast", "train", "--csv", "x.csv", "--target", "y", "--early_stopping", "None", "--clip_norm", "null"]
    )
    assert args.forecast.train.early_stopping is None and args.forecast.train.clip_norm is None
    args = parser.parse_args(["text", "generate", "--model", "m", "--prompt", "None"])
    assert args.text.generate.prompt == "None"


def test_errors_a_user_can_cause_name_the_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "taken"
    out.write_text("not a folder")
    csv = tmp_path / "s.csv"
    csv.write_text("label,t0\na,1\nb,2\n")
    err = _err(capsys, ["classify", "train", "--train", str(csv), "--out", str(out), "--epochs", "1"])
    assert err == (
        f"rnnkit classify train: error: --out {out} is a file; "
        "expected a folder for the run (model/, metrics.json, ...)"
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    err = _err(capsys, ["classify", "train", "--train", str(empty), "--out", str(tmp_path / "o")])
    assert err.startswith("rnnkit classify train: error: ") and str(empty) in err
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"label,t0\n\xff\xfe\x00,1\n")
    err = _err(capsys, ["classify", "train", "--train", str(binary), "--out", str(tmp_path / "o")])
    assert err.startswith("rnnkit classify train: error: ") and str(binary) in err
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    err = _err(capsys, ["classify", "train", "--train", str(folder), "--out", str(tmp_path / "o")])
    assert err.startswith("rnnkit classify train: error: ") and str(folder) in err


def test_a_command_line_imports_only_its_own_application() -> None:
    """`rnnkit GROUP ...` builds one group's parser: the other applications (and their heavy dependencies) are
    listed by name but not imported, and `rnnkit --help` imports none of them."""
    import subprocess
    import sys

    probe = (
        "import sys, rnnkit.cli as c\n"
        "for argv in ({argv!r},):\n"
        "    try:\n"
        "        c.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('rnnkit.') and m.endswith('cli') and m != 'rnnkit.cli'))"
    )
    for argv, wanted in ((["--help"], []), (["forecast", "train", "--help"], ["rnnkit.forecast.cli"])):
        out = subprocess.run([sys.executable, "-c", probe.format(argv=argv)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.strip().splitlines()
        assert lines[-1] == repr(wanted), lines[-1]
        if argv == ["--help"]:
            assert all(group in out.stdout for group in ("classify", "text", "forecast", "video", "rl"))
