"""Compiled CPU kernels for the extended recurrences, built on first use (issue 16: custom cells at fused speed).

The extended LSTM (:mod:`rnnkit.nn.lstm_seq`) loops over time in Python: about a dozen tensor operations per step
forward and two dozen backward, each paying the interpreter and a fresh allocation. ``csrc/lstm_seq.cpp`` is the
same loop in C++ (matrix products and sigmoid/tanh through ATen's kernels, layer norms and the gate arithmetic as
vectorised loops), compiled with torch's own extension loader (``torch.utils.cpp_extension.load``, which needs a
C++ compiler and ninja) the first time an extended LSTM runs on CPU, and cached by torch for later processes
(``TORCH_EXTENSIONS_DIR``, by default ``~/.cache/torch_extensions``). The build takes about half a minute
(2 cores), once per machine and torch version.

Decision: when the build is impossible (no compiler) or fails, rnnkit warns once and runs the Python loop, which
computes the same values about twice as slowly; nothing else changes. ``RNNKIT_NATIVE=0`` in the environment
turns the compiled path off; :func:`disabled` does the same inside a ``with`` block (the tests use it to compare
both paths). GPUs and dtypes other than float32/float64 always take the Python loop.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import torch

SOURCE = Path(__file__).parent / "csrc" / "lstm_seq.cpp"
_lock = threading.Lock()
_built: dict[str, ModuleType | None] = {}
_off = 0  # depth of `disabled()` blocks


def _name() -> str:
    """One module name per torch version (a kernel compiled against another torch must not be loaded)."""
    version = "".join(ch if ch.isalnum() else "_" for ch in torch.__version__)
    return f"rnnkit_lstm_seq_torch{version}"


def lstm_ops() -> ModuleType | None:
    """The compiled module (``lstm_forward``, ``lstm_backward``), or None when it is off or cannot be built."""
    if _off or os.environ.get("RNNKIT_NATIVE", "1") == "0":
        return None
    name = _name()
    if name in _built:
        return _built[name]
    with _lock:
        if name not in _built:
            _built[name] = _build(name)
    return _built[name]


def _build(name: str) -> ModuleType | None:
    from torch.utils import cpp_extension

    try:
        if not cpp_extension.is_ninja_available():
            raise RuntimeError("ninja was not found (pip install ninja)")
        target = Path(cpp_extension._get_build_directory(name, verbose=False)) / f"{name}.so"
        if not target.exists():
            print("rnnkit: compiling the fused LSTM kernels (once per machine and torch version, about half a minute)",
                  file=sys.stderr, flush=True)  # fmt: skip
        flags = ["-O3", "-fopenmp-simd"]  # vectorise the `omp simd` loops; no OpenMP runtime is linked
        return cpp_extension.load(name=name, sources=[str(SOURCE)], extra_cflags=flags, verbose=False)
    except Exception as err:  # no compiler, no headers, a failed build: the Python loop computes the same
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
        reason = next((line for line in lines if "error" in line.lower() and "extension" not in line), lines[-1])
        reason = reason if len(reason) <= 200 else reason[:197] + "..."
        warnings.warn(
            f"rnnkit: the compiled LSTM kernels could not be built ({reason}); the extended LSTM runs its Python "
            "loop instead (same values, about 2x slower). Install a C++ compiler and ninja to get them, or set "
            "RNNKIT_NATIVE=0 to skip the attempt.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def usable(*tensors: torch.Tensor) -> bool:
    """True when the compiled kernels can take these tensors (CPU, float32 or float64)."""
    return all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors)


@contextmanager
def disabled() -> Iterator[None]:
    """Run the Python loop inside this block (the compiled path's reference in the tests)."""
    global _off
    _off += 1
    try:
        yield
    finally:
        _off -= 1
