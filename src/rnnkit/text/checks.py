"""Checks of the text applications' settings, each saying which flag, what was expected and what arrived.

>>> one_of("cell", "transformer", ("lstm", "gru"))
Traceback (most recent call last):
...
ValueError: expected --cell to be one of lstm, gru, got 'transformer'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def one_of(flag: str, value: Any, choices: Iterable[str]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"expected --{flag} to be one of {', '.join(choices)}, got {value!r}")


def fraction(flag: str, value: float) -> None:
    """A share strictly between 0 and 1."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"expected --{flag} in (0, 1), got {value}")
