"""``to_keras``: rnnkit (or torch.nn) RNN/LSTM/GRU layers and the sequence classifier -> a Keras 3 model with the
same outputs (weights converted by :mod:`rnnkit.interop.layout`).

- A recurrent layer becomes ``keras.Sequential``: Input (None, I) -> one Keras layer per stacked layer (wrapped in
  ``Bidirectional``, merge "concat", when bidirectional; ``Dropout`` between layers as torch applies it), all with
  ``return_sequences=True``: ``keras_model(x)`` equals ``layer(x)[0]`` (batch first, whatever ``batch_first`` was).
  ``mask_value=v`` adds a ``Masking(v)`` first, and ``zero_output_for_mask`` makes padded outputs zero as rnnkit
  does with ``lengths``: then ``keras_model(x)`` equals ``layer(x, lengths=...)[0]`` for inputs padded with v.
- The sequence classifier becomes a functional model on full-length series: Normalization -> the recurrent
  layers -> pooling ("last": final states; "mean", "max": global pooling; "meanmax", "all": concatenated) ->
  Dense logits. ``diff=True`` and ``patch > 1`` have no stock Keras layer and are refused.

Not expressible (clear error): LSTM ``proj_size``, Keras-side masks in the classifier, other modules.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from rnnkit.interop._deps import require
from rnnkit.interop.layout import torch_to_keras

_KINDS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}


def _kind(layer: Any) -> str:
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ in _KINDS:
            return _KINDS[cls.__name__]
    raise TypeError(
        "to_keras: expected an rnnkit or torch.nn RNN/LSTM/GRU layer or a SequenceClassifier, "
        f"got {type(layer).__name__}"
    )


def _keras_layers(layer: Any, keras: Any, last_returns_sequences: bool = True, last_state: bool = False):
    """One Keras layer per stacked layer of ``layer`` (built lazily: weights are set by :func:`_set_weights`)."""
    kind = _kind(layer)
    if kind == "lstm" and layer.proj_size:
        raise ValueError(f"to_keras: an LSTM with proj_size={layer.proj_size} has no Keras equivalent")
    cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    out = []
    for k in range(layer.num_layers):
        last = k == layer.num_layers - 1
        kw: dict[str, Any] = {
            "units": layer.hidden_size,
            "use_bias": bool(layer.bias),
            "return_sequences": True if not last else last_returns_sequences,
            "return_state": last and last_state,
            "zero_output_for_mask": True,
        }
        if kind == "rnn":
            kw["activation"] = layer.nonlinearity
        if kind == "gru":
            kw["reset_after"] = True
        rnn = cls(**kw)
        out.append(keras.layers.Bidirectional(rnn, merge_mode="concat") if layer.bidirectional else rnn)
        if layer.dropout and not last:
            out.append(keras.layers.Dropout(layer.dropout))
    return kind, out


def _set_weights(layer: Any, kind: str, keras_layers: list[Any]) -> None:
    recurrent = [k for k in keras_layers if type(k).__name__ != "Dropout"]
    for k, target in enumerate(recurrent):
        for d, part in enumerate([target.forward_layer, target.backward_layer] if layer.bidirectional else [target]):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            b_ih = getattr(layer, "bias_ih" + sfx) if layer.bias else None
            b_hh = getattr(layer, "bias_hh" + sfx) if layer.bias else None
            weights = torch_to_keras(
                kind, getattr(layer, "weight_ih" + sfx), getattr(layer, "weight_hh" + sfx), b_ih, b_hh
            )
            part.set_weights(weights)


def to_keras(module: nn.Module, mask_value: float | None = None) -> Any:
    """An rnnkit/torch.nn RNN, LSTM or GRU layer, or an rnnkit ``SequenceClassifier``, as a Keras 3 model.

    Args:
        module: the layer or classifier (its weights are copied).
        mask_value: layers only: add ``Masking(mask_value)`` so padded steps (all features equal to it) are
            skipped, as ``lengths`` skips them in rnnkit.
    Returns:
        a ``keras.Model``; see the module docstring for what it computes.

    >>> import torch
    >>> from rnnkit.nn import GRU
    >>> layer = GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    >>> model = to_keras(layer)
    >>> x = torch.randn(2, 5, 3)
    >>> torch.allclose(model(x.numpy()).detach().cpu(), layer(x)[0].detach(), atol=1e-5)  # Keras on torch
    True
    """
    keras = require("keras", "to_keras")
    if getattr(type(module), "model_kind", None) == "sequence_classifier":
        if mask_value is not None:
            raise ValueError("to_keras: mask_value applies to layers; a converted classifier takes full-length series")
        return _classifier(module, keras)
    if isinstance(module, nn.Module) and getattr(type(module), "model_kind", None) is not None:
        raise TypeError(
            f"to_keras: {type(module).__name__} has no Keras counterpart; expected an RNN/LSTM/GRU layer or a "
            "SequenceClassifier"
        )
    kind, layers = _keras_layers(module, keras)
    head = [keras.Input((None, module.input_size))]
    if mask_value is not None:
        head.append(keras.layers.Masking(mask_value=float(mask_value)))
    model = keras.Sequential([*head, *layers])
    _set_weights(module, kind, layers)
    return model


def _classifier(clf: Any, keras: Any) -> Any:
    problems = []
    if clf.diff:
        problems.append("diff=True (first differences: no stock Keras layer)")
    if getattr(clf, "conv", 0):
        problems.append(f"conv={clf.conv} (the LSTM-FCN convolutional branch is not converted)")
    if clf.patch > 1:
        problems.append(f"patch={clf.patch} (grouping time steps: no stock Keras layer for a padded reshape)")
    if problems:
        raise ValueError("to_keras: cannot express this SequenceClassifier in Keras: " + "; ".join(problems))
    L = keras.layers
    pooling = clf.pooling
    x = inputs = keras.Input((None, clf.input_size))
    std = clf.std.detach().cpu().numpy()
    x = L.Normalization(mean=clf.mean.detach().cpu().numpy(), variance=std**2)(x)
    kind, layers = _keras_layers(clf.rnn, keras, last_returns_sequences=pooling != "last", last_state=True)
    for layer in layers[:-1]:
        x = layer(x)
    outs = layers[-1](x)
    n_states = 2 if kind == "lstm" else 1
    seq, states = outs[0], outs[1:]
    finals = [states[0]] if not clf.bidirectional else [states[0], states[n_states]]  # h of each direction
    last = finals[0] if len(finals) == 1 else L.Concatenate()(finals)
    feats = {
        "last": lambda: [last],
        "mean": lambda: [L.GlobalAveragePooling1D()(seq)],
        "max": lambda: [L.GlobalMaxPooling1D()(seq)],
        "meanmax": lambda: [L.GlobalAveragePooling1D()(seq), L.GlobalMaxPooling1D()(seq)],
        "all": lambda: [last, L.GlobalAveragePooling1D()(seq), L.GlobalMaxPooling1D()(seq)],
    }[pooling]()
    z = feats[0] if len(feats) == 1 else L.Concatenate()(feats)
    dense = L.Dense(clf.num_classes)
    logits = dense(z)
    model = keras.Model(inputs, logits)
    _set_weights(clf.rnn, kind, layers)
    dense.set_weights([clf.head.weight.detach().cpu().numpy().T.copy(), clf.head.bias.detach().cpu().numpy()])
    return model
