"""``rnnkit convert from-keras | to-keras``: Keras 3 model files <-> rnnkit model directories."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rnnkit.interop._deps import MissingDependencyError

log = logging.getLogger(__name__)


@dataclass
class FromKerasArgs:
    """Convert a Keras 3 model (.keras, or legacy .h5) into an rnnkit model directory with the same outputs."""

    model: str = ""
    """The Keras model file (.keras or .h5)."""
    out: str = ""
    """Output folder: config.json + model.safetensors (load with rnnkit.load, export with rnnkit export onnx)."""
    weights: str | None = None
    """Optional .weights.h5 file loaded into the model before converting."""

    def __post_init__(self) -> None:
        if not self.model or not self.out:
            raise ValueError(
                "expected --model FILE.keras and --out DIR, got " + ("no --model" if not self.model else "no --out")
            )


@dataclass
class ToKerasArgs:
    """Convert an rnnkit sequence classifier directory into a Keras 3 .keras file with the same logits."""

    model: str = ""
    """The rnnkit model directory (from rnnkit classify train)."""
    out: str = ""
    """The .keras file to write."""

    def __post_init__(self) -> None:
        if not self.model or not self.out:
            raise ValueError(
                "expected --model DIR and --out FILE.keras, got " + ("no --model" if not self.model else "no --out")
            )
        if not self.out.endswith(".keras"):
            raise ValueError(f"expected --out to end in .keras (Keras 3's format), got {self.out!r}")


def from_keras_command(args: FromKerasArgs) -> Path:
    from rnnkit.interop.keras_import import from_keras

    try:
        module = from_keras(args.model, weights=args.weights)
    except MissingDependencyError as err:
        raise ValueError(str(err)) from err
    out = module.save(args.out)
    log.info("converted %s (%d layers) -> %s", args.model, len(module.specs), out)
    return out


def to_keras_command(args: ToKerasArgs) -> Path:
    import rnnkit
    from rnnkit.interop.keras_export import to_keras

    try:
        model = to_keras(rnnkit.load(args.model))
    except MissingDependencyError as err:
        raise ValueError(str(err)) from err
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    log.info("converted %s -> %s", args.model, out)
    return out


COMMANDS = {
    "from-keras": (FromKerasArgs, from_keras_command),
    "to-keras": (ToKerasArgs, to_keras_command),
}
