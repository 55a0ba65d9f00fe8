"""Finding and loading a saved text model: a run folder (``DIR``, as ``--out`` wrote it) or its ``DIR/model``.

Also the inputs every text estimator takes: a text or the path of a UTF-8 file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TypeVar

from rnnkit.text.tokenize import read_text

M = TypeVar("M")


def model_dir(path: str | Path, train_hint: str) -> Path:
    """Accept a training output directory (DIR/model) or the model directory itself."""
    path = Path(path)
    if (path / "model" / "config.json").is_file():
        return path / "model"
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return path
    raise FileNotFoundError(
        f"{path}: no saved model (expected {path}/model/config.json or {path}/config.json + model.safetensors); "
        f"train one with `{train_hint}`"
    )


def load_kind(path: str | Path, cls: type[M], what: str, train_hint: str) -> M:
    """Load the model saved at ``path`` and check it is a ``cls`` (``what`` names it in the error)."""
    import rnnkit.models  # noqa: F401  (registers every model kind)
    from rnnkit.train import load_model

    model = load_model(model_dir(path, train_hint))
    if not isinstance(model, cls):
        raise ValueError(f"{path}: expected {what}, got a {type(model).__name__}")
    return model


def text_or_file(data: Any, what: str = "text") -> tuple[str, str]:
    """(text, name for messages) from a text, or from the path (str or os.PathLike) of a UTF-8 file.

    A ``str`` is read as a file when it names an existing file and has no line break; otherwise it is the text.

    >>> text_or_file("to be or not to be")
    ('to be or not to be', 'the text')
    """
    if isinstance(data, os.PathLike) or (isinstance(data, str) and "\n" not in data and os.path.isfile(data)):
        return read_text(Path(data)), str(data)
    if not isinstance(data, str):
        raise TypeError(f"expected the {what} as a str or the path of a UTF-8 file, got {type(data).__name__}")
    if not data.strip():
        raise ValueError(f"expected some {what}, got an empty string")
    return data, f"the {what}"


def string_list(texts: Any, what: str) -> list[str]:
    """A list of str from a str (one item) or a sequence of str; a TypeError naming the first bad item.

    >>> string_list("hello", "texts"), string_list(("a", "b"), "texts")
    (['hello'], ['a', 'b'])
    """
    if isinstance(texts, str):
        return [texts]
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"expected {what} as a str or a list of str, got {type(texts).__name__}") from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"expected {what} as a list of str; item {i} is a {type(item).__name__}: {item!r}")
    if not items:
        raise ValueError(f"expected at least one item in {what}, got an empty list")
    return items


def read_lines(text: str | None, input: str | None, what: str) -> list[str]:
    """Non-empty lines from --text, from the --input file, or from stdin (when neither is given)."""
    if text is not None:
        content = text
    elif input is not None:
        content = read_text(input)
    elif sys.stdin is None or sys.stdin.isatty():
        raise ValueError(f"expected {what} in --text, in --input FILE, or piped on stdin (one per line)")
    else:
        content = sys.stdin.read()
    lines = [line for line in content.splitlines() if line.strip()]
    if not lines:
        source = "--text" if text is not None else (input if input is not None else "stdin")
        raise ValueError(f"{source}: no {what} found (expected one per line)")
    return lines


def eval_out(model: str | Path, data: str | Path) -> Path:
    """Where ``text eval`` writes without --out: ``RUN/eval/<data file stem>``, beside the run's own metrics.

    RUN is the run folder (``--model DIR`` or ``DIR/model`` both give DIR; a bare model folder is its own RUN).
    """
    model = Path(model)
    run = model.parent if model.name == "model" and (model / "config.json").is_file() else model
    return run / "eval" / Path(data).stem
