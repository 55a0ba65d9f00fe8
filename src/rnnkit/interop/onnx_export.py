"""``export_onnx``: an rnnkit layer or model (or a saved model directory) -> an ONNX file with dynamic batch and
time, checked in onnxruntime against PyTorch at sizes other than the export example's.

Exporter: the TorchScript-based ``torch.onnx.export(dynamo=False)``, because its ``autograd.Function.symbolic``
hook lets every recurrent layer become ONNX's native RNN/LSTM/GRU operator with ``sequence_lens``
(:mod:`rnnkit.interop.onnx_layers`); with torch 2.13 the dynamo exporter needs a custom-op translation for the
same result and freezes the time dimension of Python loops over lengths (pytorch #191855).

What each model exports as (inputs -> outputs; B and T dynamic):

    rnnkit RNN / GRU / LSTM / Recurrent   input (B, T, I) or (T, B, I), lengths (B,), h0 [, c0] (L*D, B, H)
                                          -> output, h_n [, c_n]
    sequence classifier (+ ensemble)      x (B, T, F), lengths (B,) -> logits (B, C)
    language model, step (default)        ids (B,), h0 [, c0] (L, B, H) -> logits (B, V), h_n [, c_n]
    language model, --what forward        ids (B, T), lengths (B,) -> logits (B, T, V)
    forecasters (rnn, ar, segrnn, ens.)   x (B, lookback, C) [, past, future, t] -> params (B, horizon, C, K)
    Keras import (KerasSequence)          x (B, T, F) or ids (B, T) -> its outputs (masks must be right-padded:
                                          the graph does not check it, the torch module does)

Lengths must be >= 1 (onnxruntime rejects zeros, #10768; rnnkit does too). A forecaster's look-back and
horizon are part of the model, so only its batch is dynamic.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.interop._deps import require
from rnnkit.interop.onnx_layers import NotExportable, OnnxRecurrent, register_symbolics, swap_for_export
from rnnkit.nn import GRU, LSTM, RNN, Recurrent

OPSET = 17
Inputs = Callable[[int, int], dict[str, Tensor]]  # (batch, time) -> named example inputs


class _Wrap(nn.Module):
    """Flat named tensors in, a tuple of tensors out: what ``torch.onnx.export`` traces."""

    def __init__(self, model: nn.Module, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *args: Tensor) -> tuple[Tensor, ...]:
        out = self.fn(self.model, *args)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _lengths(B: int, T: int) -> Tensor:
    g = torch.Generator().manual_seed(B * 100 + T)
    lens = torch.randint(1, T + 1, (B,), generator=g)
    lens[0] = T
    return lens


def _recipe(model: Any, what: str) -> tuple[Callable[..., Any], Inputs, list[str], dict[str, dict[int, str]]]:
    """How to call ``model`` for export: fn(model, *inputs), example inputs, output names, dynamic axes."""
    kind = getattr(type(model), "model_kind", None)
    if isinstance(model, (RNN, LSTM, GRU, Recurrent, OnnxRecurrent)):
        layer: Any = model.layer if isinstance(model, OnnxRecurrent) else model
        lstm = isinstance(layer, LSTM) or (isinstance(layer, Recurrent) and len(layer._state_sizes()) == 2)
        LD = layer.num_layers * layer.num_directions
        H = layer._state_sizes()[0]
        first = layer.batch_first

        def inputs(B: int, T: int) -> dict[str, Tensor]:
            x = torch.randn(B, T, layer.input_size) if first else torch.randn(T, B, layer.input_size)
            d = {"input": x, "lengths": _lengths(B, T), "h0": torch.randn(LD, B, H)}
            return {**d, "c0": torch.randn(LD, B, layer._state_sizes()[1])} if lstm else d

        def run(m: nn.Module, x: Tensor, lengths: Tensor, h0: Tensor, c0: Tensor | None = None) -> Any:
            y, state = m(x, (h0, c0) if lstm else h0, lengths=lengths)
            return (y, *state) if lstm else (y, state)

        axes = {"input": {0, 1}, "lengths": {0}, "h0": {1}, "c0": {1}}
        return run, inputs, ["output", "h_n", *(["c_n"] if lstm else [])], _names(axes, first)
    if kind in ("sequence_classifier", "sequence_classifier_ensemble"):
        F_ = model.input_size
        members = list(model.members) if kind == "sequence_classifier_ensemble" else [model]
        if any(getattr(type(m), "model_kind", None) == "reservoir_classifier" for m in members):
            raise NotExportable(
                "an ensemble with a reservoir member cannot be exported: the reservoir runs a Python loop over the "
                "time steps, which the ONNX trace would unroll to the example's length (train with --family rnn)"
            )
        patch = max(int(m.patch) for m in members)
        if patch > 1:
            raise NotExportable(
                f"a sequence classifier with patch={patch} cannot export with a dynamic time axis: it pads and "
                "groups time steps with Python arithmetic on T, which the ONNX trace freezes to the example's T "
                "(train with --patch 1 to export it)"
            )

        def inputs(B: int, T: int) -> dict[str, Tensor]:
            return {"x": torch.randn(B, T, F_), "lengths": _lengths(B, T)}

        return (lambda m, x, n: m(x, n)), inputs, ["logits"], _names({"x": {0, 1}, "lengths": {0}}, True)
    if kind == "language_model":
        V, layer = model.embedding.num_embeddings, model.rnn
        lstm = getattr(model, "cell", "") == "lstm"
        if what == "forward":

            def inputs(B: int, T: int) -> dict[str, Tensor]:
                return {"ids": torch.randint(0, V, (B, T)), "lengths": _lengths(B, T)}

            axes = {"ids": {0, 1}, "lengths": {0}}
            return (lambda m, ids, n: m(ids, None, n)[0]), inputs, ["logits"], _names(axes, True)
        L, H = layer.num_layers, layer.hidden_size

        def inputs(B: int, T: int) -> dict[str, Tensor]:
            d = {"ids": torch.randint(0, V, (B,)), "h0": torch.randn(L, B, H)}
            return {**d, "c0": torch.randn(L, B, H)} if lstm else d

        def step(m: Any, ids: Tensor, h0: Tensor, c0: Tensor | None = None) -> Any:
            logits, state = m.step(ids, (h0, c0) if lstm else h0)
            return (logits, *state) if lstm else (logits, state)

        axes = {"ids": {0}, "h0": {1}, "c0": {1}}
        return step, inputs, ["logits", "h_n", *(["c_n"] if lstm else [])], _names(axes, True)
    if isinstance(kind, str) and kind.startswith("forecast."):
        m0 = model
        Lb, Hz, C, P, Fu = m0.lookback, m0.horizon, m0.num_targets, m0.num_past, m0.num_future
        cycle = bool(getattr(m0, "cycle", 0))
        names = ["x", *(["past"] if P else []), *(["future"] if Fu else []), *(["t"] if cycle else [])]

        def inputs(B: int, T: int) -> dict[str, Tensor]:
            d = {"x": torch.randn(B, Lb, C), "past": torch.randn(B, Lb, P), "future": torch.randn(B, Lb + Hz, Fu)}
            d["t"] = torch.randint(0, 1000, (B,))
            return {k: d[k] for k in names}

        def forecast(m: nn.Module, *args: Tensor) -> Tensor:
            return m(dict(zip(names, args)))

        return forecast, inputs, ["params"], {n: {0: "batch"} for n in names}
    if kind == "interop.keras_sequence":
        first = model.specs[0]
        ids = first["type"] == "embedding"
        width = next((s.get("input_size") or s.get("in_features") for s in model.specs if s["type"] != "masking"), 1)

        def inputs(B: int, T: int) -> dict[str, Tensor]:
            if ids:
                x = torch.randint(1, first["num_embeddings"], (B, T))
                x[1:, T - 1] = 0 if first["mask_zero"] else x[1:, T - 1]  # some padding
                return {"x": x}
            return {"x": torch.randn(B, T, width)}

        with torch.no_grad():
            n_out = len(o) if isinstance(o := model(inputs(2, 3)["x"]), tuple) else 1
        return (lambda m, x: m(x)), inputs, [f"output_{i}" for i in range(n_out)], {"x": {0: "batch", 1: "time"}}
    known = "rnnkit RNN/LSTM/GRU/Recurrent layers, sequence classifiers, language models, forecasters, Keras imports"
    raise NotExportable(f"no ONNX recipe for {type(model).__name__} (kind {kind!r}); export_onnx knows {known}")


def _names(axes: dict[str, set[int]], batch_first: bool) -> dict[str, dict[int, str]]:
    out = {}
    for name, dims in axes.items():
        label = {}
        for d in dims:
            is_time = (d == 1) == batch_first if name in ("input", "x", "ids") and len(dims) == 2 else False
            label[d] = "time" if is_time else "batch"
        out[name] = label
    return out


def export_onnx(
    module_or_dir: nn.Module | str | Path,
    path: str | Path,
    *,
    what: str = "step",
    opset: int = OPSET,
    check: bool = True,
    atol: float = 1e-5,
) -> Path:
    """Export an rnnkit layer or model to ONNX and (``check``) verify it in onnxruntime at other sizes.

    Args:
        module_or_dir: an rnnkit RNN/LSTM/GRU/Recurrent, an application model, or a saved model directory.
        path: the ``.onnx`` file to write.
        what: for a language model, ``"step"`` (one token with the state, for generation) or ``"forward"``.
        opset: ONNX opset (>= 14).
        check: run onnxruntime at the export example's size and at a larger batch and length, compare with
            PyTorch to ``atol``, and raise :class:`NotExportable` (a ``ValueError``) saying where it differs.
    Returns:
        ``path``. The input and output names are in the module docstring (``onnxruntime`` lists them too).

    >>> import tempfile, os
    >>> from rnnkit.nn import GRU
    >>> path = export_onnx(GRU(3, 4, bidirectional=True), os.path.join(tempfile.mkdtemp(), "gru.onnx"))
    >>> import onnxruntime
    >>> [i.name for i in onnxruntime.InferenceSession(str(path)).get_inputs()]
    ['input', 'lengths', 'h0']
    """
    if what not in ("step", "forward"):
        raise ValueError(f"export_onnx: expected what='step' or 'forward', got {what!r}")
    if isinstance(module_or_dir, (str, Path)):
        import rnnkit

        model = rnnkit.load(module_or_dir)
    elif isinstance(module_or_dir, nn.Module):
        model = module_or_dir
    else:
        raise TypeError(f"export_onnx: expected an nn.Module or a model directory, got {type(module_or_dir).__name__}")
    require("onnx", "ONNX export")
    reference = copy.deepcopy(model).eval()
    fn, inputs, outputs, axes = _recipe(reference, what)
    exported = _Wrap(swap_for_export(copy.deepcopy(reference)), fn).eval()
    example = inputs(2, 5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    register_symbolics(opset)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice and tracer chatter
        try:
            # a file object is fine for the TorchScript exporter, as torch's docs say
            torch.onnx.export(
                exported,
                tuple(example.values()),
                buffer,  # type: ignore[arg-type]
                dynamo=False,
                input_names=list(example),
                output_names=outputs,
                dynamic_axes={k: v for k, v in axes.items() if k in example},
                opset_version=opset,
            )
        except NotExportable:
            raise
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else "no message"
            raise NotExportable(f"ONNX export of {type(model).__name__} failed: {type(err).__name__}: {first}") from err
    blob = buffer.getvalue()
    if check:
        _check(blob, _Wrap(reference, fn).eval(), inputs, atol, type(model).__name__)
    path.write_bytes(blob)
    return path


def _check(blob: bytes, reference: nn.Module, inputs: Inputs, atol: float, name: str) -> None:
    """Run the ONNX graph at the export size and at another batch and length; compare with PyTorch."""
    ort = require("onnxruntime", "checking an ONNX export")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors come back as exceptions; no second copy on stderr
    session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    feed_names = [i.name for i in session.get_inputs()]
    for B, T in ((2, 5), (3, 8)):
        example = inputs(B, T)
        with torch.no_grad():
            expected = [t.numpy() for t in reference(*example.values())]
        try:
            run_options = ort.RunOptions()
            run_options.log_severity_level = 3
            got = session.run(None, {k: v.numpy() for k, v in example.items() if k in feed_names}, run_options)
        except Exception as err:
            raise NotExportable(
                f"the ONNX graph of {name} fails in onnxruntime at batch {B}, length {T}: {str(err).splitlines()[0]} "
                "(the model's forward turns a size into a Python number, e.g. len(x), which the export freezes)"
            ) from err
        worst = max(float(np.abs(g - e).max()) if g.shape == e.shape else float("inf") for g, e in zip(got, expected))
        if not worst <= atol:
            raise NotExportable(
                f"the ONNX graph of {name} differs from PyTorch at batch {B}, length {T} (max |diff| {worst:.3g} > "
                f"{atol}): its forward uses a size as a Python number (e.g. a classifier's patch > 1), which the "
                "export freezes to the example's"
            )
