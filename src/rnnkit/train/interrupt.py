"""Ctrl-C and SIGTERM that lose nothing: the first signal asks the trainer to stop at the next optimizer-step
boundary (it writes its last checkpoint there, so ``--resume`` continues bit for bit); a second one interrupts at
once (``KeyboardInterrupt``).

>>> with graceful_interrupts():
...     stop_requested()
False
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_requested = False


def stop_requested() -> bool:
    """Whether Ctrl-C/SIGTERM arrived inside :func:`graceful_interrupts` (the trainer polls it at step boundaries)."""
    return _requested


def request_stop() -> None:
    """Ask the trainer to stop at the next step boundary, as a first Ctrl-C does (used by tests and callbacks)."""
    global _requested
    _requested = True


def _handler(signum: int, frame: FrameType | None) -> None:
    global _requested
    if _requested:  # second signal: stop now
        raise KeyboardInterrupt
    _requested = True


@contextlib.contextmanager
def graceful_interrupts() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM request a clean stop instead of raising (main thread only; elsewhere
    a no-op). The previous handlers and the flag are restored after it."""
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before: dict[signal.Signals, Any] = {}
    _requested = False
    for signum in (signal.SIGINT, signal.SIGTERM):
        before[signum] = signal.signal(signum, _handler)
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
        _requested = False
