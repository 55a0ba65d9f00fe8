"""``from_keras``: a Keras 3 model (``.keras`` file, legacy ``.h5`` model, or a model plus ``.weights.h5``)
-> :class:`~rnnkit.interop.keras_layers.KerasSequence`, rnnkit layers with the same outputs.

What converts: a single chain of Input, Embedding (``mask_zero``), Masking, SimpleRNN, LSTM, GRU (``reset_after``
True and False), Bidirectional (every merge mode), Dense, Dropout and TimeDistributed(Dense), with
``return_sequences``, ``return_state`` and ``go_backwards``. What does not (listed by name, all at once, in one
error): other layers, branches and merges, ``initial_state`` inputs, ``stateful``, activations other than Keras'
defaults for LSTM/GRU (tanh, sigmoid) and tanh/relu for SimpleRNN, non-float32 dtype policies, and several
outputs (``return_state``, ``merge_mode=None``) anywhere but the last layer. Masks must be right-padded at run time.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.interop._deps import require
from rnnkit.interop.keras_layers import ACTIVATIONS, KerasSequence
from rnnkit.interop.layout import keras_to_torch

RNN_KINDS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
SUPPORTED = "Input, Embedding, Masking, SimpleRNN, LSTM, GRU, Bidirectional, Dense, Dropout, TimeDistributed(Dense)"


def load_keras(path: str | Path, weights: str | Path | None = None) -> Any:
    """Read a Keras model file (``.keras`` or legacy ``.h5``) without compiling it; ``weights`` (a
    ``.weights.h5``) is loaded into it when given. Errors say which file and why."""
    keras = require("keras", "reading Keras models")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Keras model file at {path}: expected a .keras (or legacy .h5) file")
    if path.suffix not in (".keras", ".h5"):
        raise ValueError(f"{path}: expected a Keras model file ending in .keras or .h5, got {path.suffix or 'none'}")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras 3 .keras file (expected a zip archive; is it truncated or corrupt?)")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds (ValueError, KeyError, OSError, TypeError)
        raise ValueError(f"{path}: could not read the Keras model ({type(err).__name__}: {_first_line(err)})") from err
    if weights is not None:
        load_keras_weights(model, weights)
    return model


def load_keras_weights(model: Any, weights: str | Path) -> None:
    """``model.load_weights(weights)`` with a one-line error for a missing, corrupt or mismatched file."""
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"no Keras weights file at {weights}: expected a .weights.h5 file")
    try:
        model.load_weights(weights)
    except Exception as err:
        raise ValueError(
            f"{weights}: could not load these weights into the model ({type(err).__name__}: {_first_line(err)})"
        ) from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no message"


def from_keras(path_or_model: Any, weights: str | Path | None = None) -> KerasSequence:
    """A Keras 3 model (a ``.keras``/``.h5`` path or a model object) -> an equivalent :class:`KerasSequence`.

    Args:
        path_or_model: a ``.keras`` file, a legacy ``.h5`` model file, or a built ``keras.Model``.
        weights: a ``.weights.h5`` file to load into the model first (a model object plus separate weights).
    Returns:
        a torch module in eval mode; ``module(x)`` equals ``model(x)`` (batch first; masks become lengths).

    Raises ``ValueError`` listing every unsupported layer or option by name, and for unreadable files.

    >>> import os; _ = os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first import of keras
    >>> import keras, numpy as np, torch
    >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.Masking(0.0), keras.layers.LSTM(4)])
    >>> module = from_keras(model)
    >>> x = np.ones((2, 5, 3), dtype="float32"); x[1, 2:] = 0.0  # row 1: two steps, then padding
    >>> bool(np.allclose(keras.ops.convert_to_numpy(model(x)), module(torch.from_numpy(x)).detach(), atol=1e-5))
    True
    """
    keras = require("keras", "from_keras")
    model = path_or_model
    if isinstance(path_or_model, (str, Path)):
        model = load_keras(path_or_model, weights)
    elif weights is not None:
        load_keras_weights(model, weights)
    if not isinstance(model, keras.Model):
        raise TypeError(f"from_keras: expected a keras.Model or a path to a .keras file, got {type(model).__name__}")
    layers = _chain(model)
    problems: list[str] = []
    specs: list[dict[str, Any]] = []
    tensors: list[dict[str, torch.Tensor | None]] = []
    width: int | None = None  # features of the tensor flowing into the next layer
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        spec, weights_ = _convert(layer, width, last, problems)
        if spec is None:
            continue
        specs.append(spec)
        tensors.append(weights_)
        width = spec.get("out_width", width)
    if problems:
        raise ValueError(
            f"from_keras: cannot convert {len(problems)} part(s) of Keras model {model.name!r}: "
            + "; ".join(problems)
            + f". Supported: {SUPPORTED}"
        )
    for spec in specs:
        spec.pop("out_width", None)
    module = KerasSequence(specs)
    for block, w in zip(module.blocks, tensors):
        _load(block, w)
    return module.eval()


def _chain(model: Any) -> list[Any]:
    """The model's layers if they form one chain input -> ... -> outputs; else a ValueError naming the break."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if type(model).__name__ == "Sequential":
        return layers
    problems = []
    if len(model.inputs) != 1:
        problems.append(f"{len(model.inputs)} inputs (expected one)")
    previous = None
    for layer in layers:
        nodes = layer._inbound_nodes
        if len(nodes) != 1:
            problems.append(f"layer {layer.name!r} is called {len(nodes)} times (shared layers)")
            continue
        node = nodes[0]
        args = list(node.arguments.keras_tensors)  # the layer's input first, then any mask tensors
        extra = [k for k in node.arguments.kwargs if k not in ("mask", "training")]
        if extra:
            problems.append(f"layer {layer.name!r} is called with {', '.join(extra)}")
        source = args[0]._keras_history.operation if args else None
        if previous is not None and source is not previous:
            problems.append(f"layer {layer.name!r} does not take the output of {previous.name!r} (branches/merges)")
        previous = layer
    if layers and any(o._keras_history.operation is not layers[-1] for o in model.outputs):
        problems.append("the model's outputs do not all come from its last layer")
    if problems:
        raise ValueError(
            f"from_keras: Keras model {model.name!r} is not a single chain of layers: " + "; ".join(problems)
        )
    return layers


def _numpy(v: Any) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float32)


def _convert(
    layer: Any, width: int | None, last: bool, problems: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """One Keras layer -> (spec, torch tensors by parameter name); appends what it cannot express to problems."""
    name, cls = layer.name, type(layer).__name__
    where = f"layer {name!r} ({cls})"
    policy = getattr(getattr(layer, "dtype_policy", None), "name", "float32")
    if policy != "float32":
        problems.append(f"{where}: dtype policy {policy!r} (expected float32)")
    if cls == "Embedding":
        table = _numpy(layer.embeddings)  # (V, E)
        spec = {"type": "embedding", "num_embeddings": table.shape[0], "embedding_dim": table.shape[1]}
        return {**spec, "mask_zero": bool(layer.mask_zero), "out_width": table.shape[1]}, {
            "embedding.weight": torch.from_numpy(table)
        }
    if cls == "Masking":
        return {"type": "masking", "mask_value": float(layer.mask_value)}, {}
    if cls == "Dropout":
        return {"type": "dropout", "rate": float(layer.rate)}, {}
    if cls == "TimeDistributed":
        inner = layer.layer
        if type(inner).__name__ != "Dense":
            problems.append(f"{where}: wraps {type(inner).__name__} (only TimeDistributed(Dense) converts)")
            return None, {}
        return _dense(inner, f"{where} of Dense", problems)
    if cls == "Dense":
        return _dense(layer, where, problems)
    if cls in RNN_KINDS or cls == "Bidirectional":
        return _recurrent(layer, where, last, problems)
    problems.append(f"{where} is not supported")
    return None, {}


def _dense(layer: Any, where: str, problems: list[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    activation = layer.get_config().get("activation")
    if activation not in ACTIVATIONS:
        problems.append(f"{where}: activation {activation!r} (expected one of {', '.join(ACTIVATIONS)})")
        return None, {}
    kernel = _numpy(layer.kernel)  # (I, O)
    w: dict[str, Any] = {"linear.weight": torch.from_numpy(kernel.T.copy())}
    if layer.use_bias:
        w["linear.bias"] = torch.from_numpy(_numpy(layer.bias))
    spec = {"type": "dense", "in_features": kernel.shape[0], "out_features": kernel.shape[1]}
    return {**spec, "bias": bool(layer.use_bias), "activation": activation, "out_width": kernel.shape[1]}, w


def _rnn_problems(rnn: Any, where: str) -> list[str]:
    cls, config = type(rnn).__name__, rnn.get_config()
    out = []
    if cls not in RNN_KINDS:
        return [f"{where}: wraps {cls} (expected SimpleRNN, LSTM or GRU)"]
    if config.get("stateful"):
        out.append(f"{where}: stateful=True (rnnkit layers take the state as an argument instead)")
    allowed = ("tanh", "relu") if cls == "SimpleRNN" else ("tanh",)
    if config.get("activation") not in allowed:
        out.append(f"{where}: activation={config.get('activation')!r} (expected {' or '.join(allowed)})")
    if cls != "SimpleRNN" and config.get("recurrent_activation") != "sigmoid":
        out.append(f"{where}: recurrent_activation={config.get('recurrent_activation')!r} (expected 'sigmoid')")
    return out


def _cell_weights(rnn: Any, kind: str, suffix: str, layer_name: str) -> dict[str, Any]:
    """Keras cell variables -> rnnkit parameter names of one direction (``suffix`` "" or "_reverse")."""
    cell = rnn.cell
    bias = _numpy(cell.bias) if cell.use_bias else None
    w = keras_to_torch(kind, _numpy(cell.kernel), _numpy(cell.recurrent_kernel), bias)
    if layer_name == "rnn.cells":  # rnnkit.nn.Recurrent of ResetBeforeGRUCell: cells.0 forward, cells.1 reverse
        k = "0" if suffix == "" else "1"
        return {f"rnn.cells.{k}.{n}": t for n, t in w.items() if n != "bias_hh"}
    return {f"rnn.{n}_l0{suffix}": t for n, t in w.items()}


def _recurrent(layer: Any, where: str, last: bool, problems: list[str]) -> tuple[dict[str, Any] | None, dict]:
    bidirectional = type(layer).__name__ == "Bidirectional"
    rnn = layer.forward_layer if bidirectional else layer
    found = _rnn_problems(rnn, where)
    if bidirectional:
        back = layer.backward_layer
        found += _rnn_problems(back, where + " backward layer")
        if type(back).__name__ != type(rnn).__name__ or back.units != rnn.units:
            found.append(f"{where}: the backward layer differs from the forward one in kind or units")
        if rnn.go_backwards:
            found.append(f"{where}: the forward layer has go_backwards=True")
        for attr in ("use_bias", "activation"):
            if back.get_config().get(attr) != rnn.get_config().get(attr):
                found.append(f"{where}: the backward layer's {attr} differs from the forward layer's")
    return_state = bool(layer.return_state)
    merge = layer.merge_mode if bidirectional else None
    if not last and (return_state or (bidirectional and merge is None)):
        found.append(f"{where}: several outputs (return_state or merge_mode=None) before the last layer")
    if found:
        problems.extend(found)
        return None, {}
    kind = RNN_KINDS[type(rnn).__name__]
    cell_kind = "gru_reset_before" if kind == "gru" and not rnn.cell.reset_after else kind
    kernel_shape = tuple(rnn.cell.kernel.shape)  # (I, G*H)
    units = int(rnn.cell.units)
    spec = {
        "type": "recurrent",
        "cell": cell_kind,
        "input_size": int(kernel_shape[0]),
        "units": units,
        "bias": bool(rnn.cell.use_bias),
        "bidirectional": bidirectional,
        "merge_mode": merge,
        "return_sequences": bool(layer.return_sequences),
        "return_state": return_state,
        "go_backwards": bool(getattr(layer, "go_backwards", False)) and not bidirectional,
        "zero_output_for_mask": bool(getattr(rnn, "zero_output_for_mask", False)),
    }
    if kind == "rnn":
        spec["nonlinearity"] = rnn.get_config()["activation"]
    target = "rnn.cells" if cell_kind == "gru_reset_before" else "rnn"
    w = _cell_weights(rnn, kind, "", target)
    if bidirectional:
        w.update(_cell_weights(layer.backward_layer, kind, "_reverse", target))
    spec["out_width"] = units * (2 if bidirectional and merge == "concat" else 1)
    return spec, w


def _load(block: nn.Module, tensors: dict[str, Any]) -> None:
    """Copy converted tensors into a block; a missing or misshaped tensor is a bug here, so say which."""
    state = block.state_dict()
    for name, value in tensors.items():
        if value is None:
            continue
        if name not in state or tuple(state[name].shape) != tuple(value.shape):
            got = tuple(state[name].shape) if name in state else "absent"
            raise ValueError(f"from_keras: internal layout error for {name}: {tuple(value.shape)} vs {got}")
        state[name] = value
    block.load_state_dict(state)
