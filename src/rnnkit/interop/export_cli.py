"""``rnnkit export onnx``: a saved rnnkit model directory -> an ONNX file, checked in onnxruntime."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rnnkit.interop._deps import MissingDependencyError

log = logging.getLogger(__name__)


@dataclass
class OnnxArgs:
    """Export a saved rnnkit model to ONNX (dynamic batch and length), checked against PyTorch in onnxruntime."""

    model: str = ""
    """The rnnkit model directory (config.json + model.safetensors)."""
    out: str = ""
    """The .onnx file to write."""
    what: str = "step"
    """Language models only: step (one token and the state, for generation) or forward (whole sequences)."""
    opset: int = 17
    """ONNX opset version (14 or later)."""
    check: bool = True
    """Run the exported graph in onnxruntime at two sizes and compare with PyTorch (atol 1e-5) before writing."""

    def __post_init__(self) -> None:
        if not self.model or not self.out:
            raise ValueError(
                "expected --model DIR and --out FILE.onnx, got " + ("no --model" if not self.model else "no --out")
            )
        if self.what not in ("step", "forward"):
            raise ValueError(f"expected --what step or forward, got {self.what!r}")
        if self.opset < 14:
            raise ValueError(
                f"expected --opset 14 or later (ONNX's recurrent operators with layouts), got {self.opset}"
            )


def onnx_command(args: OnnxArgs) -> Path:
    from rnnkit.interop.onnx_export import export_onnx

    try:
        out = export_onnx(args.model, args.out, what=args.what, opset=args.opset, check=args.check)
    except MissingDependencyError as err:
        raise ValueError(str(err)) from err
    log.info("exported %s -> %s%s", args.model, out, " (checked in onnxruntime)" if args.check else "")
    return out


COMMANDS = {"onnx": (OnnxArgs, onnx_command)}
