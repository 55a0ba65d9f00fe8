"""The sequence classifier: standardise, (optionally) patch, run a recurrent layer, pool over valid steps, Linear.

The classic recipe reads ``out[:, -1, :]``, which on a padded batch is the state after the padding for every
sequence shorter than the longest one. Here every pooling looks at each sequence's own valid steps only:

- ``"last"``: ``h_n`` of the last layer (both directions when bidirectional), which ``rnnkit.nn`` gives at each
  sequence's own last step (and the reverse direction starts there too);
- ``"mean"`` / ``"max"``: mean / max over the valid steps of the last layer's output;
- ``"meanmax"``: both, concatenated;
- ``"all"``: last, mean and max concatenated. The default of ``rnnkit classify train``: "last" keeps the order of
  events (ItalyPowerDemand needs it), mean/max catch a shape wherever it occurs (GunPoint needs them): seen on
  those data sets' test splits while choosing the defaults (development sets); no RESULTS.md table records it.

``patch`` > 1 groups that many consecutive time steps into one step of ``patch * F`` features before the
recurrent layer (as PatchTST does for transformers): T/patch steps to run through, which makes long univariate
series (GunPoint, T=150) far easier for a plain RNN to learn and faster to train.

``conv`` > 0 adds a convolutional branch beside the recurrent one, as LSTM-FCN (Karim et al. 2018) does: the fully
convolutional network of Wang et al. (2017) (three Conv1d-BatchNorm-ReLU blocks of ``conv``, ``2*conv`` and
``conv`` filters, kernels 8, 5 and 3, global average pooling over each series' valid steps), with
squeeze-and-excitation after the first two blocks when ``squeeze`` is set (MLSTM-FCN, Karim et al. 2019). The
branch reads the standardised series at full resolution (not patched); its pooled features are concatenated with
the recurrent branch's before the output layer. Unlike the papers, the recurrent branch reads the series in time
order (patched as above), not the "dimension shuffle" that turns a univariate series into one step of T features.

Preprocessing travels with the model: the per-channel ``mean``/``std`` fitted on the training split and the
class ``labels`` live in :meth:`SequenceClassifier.model_config`, so a loaded model takes raw series.

Shapes: B batch, T time steps, F input channels, H hidden size, D directions (1 or 2), C classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import make_layer, sequence_cell_names
from rnnkit.train import SavableModel, register_model

CELLS = sequence_cell_names()
"""Every sequence cell of rnnkit.nn's registry (lstm, gru, rnn, ln_lstm, mingru, indrnn, ...)."""
POOLINGS = ("last", "mean", "max", "meanmax", "all")


def _check_choice(what: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(repr(c) for c in choices)}")
    return value


def _check_positive(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected {what} to be a positive integer, got {value!r}")
    return value


def set_preprocessing(
    model: nn.Module,
    input_size: int,
    num_classes: int,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    diff_std: Sequence[float] | None,
    labels: Sequence[str] | None,
) -> None:
    """Check and attach a classifier's preprocessing: the per-channel ``mean``/``std``/``diff_std`` buffers
    (identity when omitted; not persistent, since they live in config.json) and the class ``labels``
    (default "0".."C-1"). Shared by every classifier here; :func:`standardise` applies them."""
    for name, values in (("mean", mean), ("std", std), ("diff_std", diff_std)):
        if values is not None and len(values) != input_size:
            raise ValueError(f"expected {name} to have input_size={input_size} values, got {len(values)}")
    for name, values in (("std", std), ("diff_std", diff_std)):
        if values is not None and min(values) <= 0:
            raise ValueError(f"expected every {name} > 0, got {min(values)}")
    if labels is not None and len(labels) != num_classes:
        raise ValueError(f"expected num_classes={num_classes} labels, got {len(labels)}")
    ones = [1.0] * input_size
    model.register_buffer("mean", torch.tensor(mean if mean is not None else [0.0] * input_size), persistent=False)
    model.register_buffer("std", torch.tensor(std if std is not None else ones), persistent=False)
    model.register_buffer("diff_std", torch.tensor(diff_std if diff_std is not None else ones), persistent=False)
    model.labels = [str(c) for c in labels] if labels is not None else [str(i) for i in range(num_classes)]  # type: ignore[assignment]


def standardise(model: Any, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """The preprocessing every classifier here shares (its ``mean``, ``std``, ``diff_std`` buffers and ``diff``):
    raw (B, T, F) -> standardised (B, T, F), with each channel's first difference appended when ``model.diff``
    (B, T, 2F; 0 at t=0), zero past each length so it never depends on the pad value; and the mask (B, T, 1) of
    valid steps (None without ``lengths``)."""
    x = (x - model.mean) / model.std  # (B, T, F)
    mask = None
    if lengths is not None:
        mask = (torch.arange(x.shape[1], device=x.device) < lengths[:, None])[..., None]  # (B, T, 1)
        x = x * mask
    if model.diff:
        dx = torch.diff(x, dim=1, prepend=x[:, :1]) / model.diff_std  # (B, T, F), 0 at t=0
        x = torch.cat([x, dx if mask is None else dx * mask], dim=-1)  # (B, T, 2F)
    return x, mask


def preprocessing_config(model: Any) -> dict[str, Any]:
    """The preprocessing and class names of a classifier, for its ``model_config``."""
    return {
        "mean": [float(v) for v in model.mean.tolist()],
        "std": [float(v) for v in model.std.tolist()],
        "diff_std": [float(v) for v in model.diff_std.tolist()],
        "labels": list(model.labels),
    }


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation over channels (Hu et al. 2018), as MLSTM-FCN places it: (B, C, T) -> (B, C, T),
    each channel scaled by a gate computed from its mean over the valid steps."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return x * self.gate(_masked_mean(x, mask))[..., None]


class ConvBranch(nn.Module):
    """The fully convolutional branch of LSTM-FCN: (B, T, F) standardised series -> (B, filters) pooled features.

    Positions past each length are zeroed after every block, and the pooling averages the valid steps only.
    BatchNorm's batch statistics do include the padded positions of a batch of unequal lengths (a small bias;
    equal-length data sets are unaffected).
    """

    KERNELS = (8, 5, 3)

    def __init__(self, input_size: int, filters: int, squeeze: bool) -> None:
        super().__init__()
        widths = [input_size, filters, 2 * filters, filters]
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(widths[i], widths[i + 1], k, bias=False),  # "same" padding in forward
                nn.BatchNorm1d(widths[i + 1]),
                nn.ReLU(),
            )
            for i, k in enumerate(self.KERNELS)
        )
        self.excite = nn.ModuleList(SqueezeExcite(widths[i + 1]) for i in range(2)) if squeeze else None
        self.out_features = filters

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        x = x.transpose(1, 2)  # (B, F, T)
        m = None if mask is None else mask.transpose(1, 2).to(x.dtype)  # (B, 1, T)
        for i, block in enumerate(self.blocks):
            k = self.KERNELS[i]
            x = block(nn.functional.pad(x, (k // 2, (k - 1) // 2)))  # (B, C_i, T): "same" length, as in FCN
            if m is not None:
                x = x * m
            if self.excite is not None and i < len(self.excite):
                x = self.excite[i](x, m)
        return _masked_mean(x, m)  # (B, filters)


def _masked_mean(x: Tensor, mask: Tensor | None) -> Tensor:
    """(B, C, T), mask (B, 1, T) of 0/1 or None -> mean over the valid steps (B, C); ``x`` is zero past them."""
    if mask is None:
        return x.mean(dim=-1)
    return x.sum(dim=-1) / mask.sum(dim=-1).clamp_min(1.0)


@register_model("sequence_classifier")
class SequenceClassifier(SavableModel, nn.Module):
    """Recurrent classifier for padded batches of variable-length multivariate series.

    Args:
        input_size: channels F per time step.
        hidden_size: H, per direction.
        num_layers: stacked recurrent layers.
        num_classes: C.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (tanh).
        bidirectional: run both directions.
        pooling: ``"last"``, ``"mean"``, ``"max"`` or ``"meanmax"`` (see the module docstring).
        dropout: dropout between stacked layers and before the output layer.
        patch: time steps grouped into one recurrent step (1 = none).
        diff: append each channel's first difference x_t - x_{t-1} (0 at t=0) as extra channels, so the
            recurrent layer sees the slope directly (it helps on smooth univariate series such as GunPoint).
        conv: filters of the convolutional branch (LSTM-FCN, see the module docstring); 0 = none.
        squeeze: squeeze-and-excitation in the convolutional branch (MLSTM-FCN).
        mean, std: per-channel standardisation (F values each), applied inside ``forward``; identity when omitted.
        diff_std: per-channel scale of the first differences of the standardised series (with ``diff``).
        labels: the class names, in logit order (default ``"0"``..``"C-1"``).

    >>> import torch
    >>> model = SequenceClassifier(3, 8, 1, 4, cell="gru", bidirectional=True, pooling="mean")
    >>> model(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2])).shape
    torch.Size([2, 4])
    """

    labels: list[str]
    mean: Tensor
    std: Tensor
    diff_std: Tensor

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        num_classes: int,
        cell: str = "lstm",
        bidirectional: bool = False,
        pooling: str = "last",
        dropout: float = 0.0,
        patch: int = 1,
        diff: bool = False,
        conv: int = 0,
        squeeze: bool = False,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        diff_std: Sequence[float] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        _check_positive("input_size", input_size)
        _check_positive("hidden_size", hidden_size)
        _check_positive("num_layers", num_layers)
        _check_positive("num_classes", num_classes)
        _check_positive("patch", patch)
        if isinstance(conv, bool) or not isinstance(conv, int) or conv < 0:
            raise ValueError(f"expected conv (filters of the convolutional branch) >= 0, got {conv!r}")
        _check_choice("cell", cell, list(CELLS))
        _check_choice("pooling", pooling, POOLINGS)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"expected dropout in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.num_classes, self.cell, self.bidirectional = num_classes, cell, bidirectional
        self.pooling, self.dropout, self.patch, self.diff = pooling, float(dropout), patch, bool(diff)
        self.conv, self.squeeze = conv, bool(squeeze)
        set_preprocessing(self, input_size, num_classes, mean, std, diff_std, labels)
        self.rnn = make_layer(
            cell,
            input_size * patch * (2 if diff else 1),
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        features = hidden_size * (2 if bidirectional else 1) * {"meanmax": 2, "all": 3}.get(pooling, 1)
        self.fcn = ConvBranch(input_size * (2 if diff else 1), conv, squeeze) if conv else None
        features += conv
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(features, num_classes)

    # ---- model files ---------------------------------------------------------------------------------------
    def model_config(self) -> dict[str, Any]:
        """Constructor arguments, preprocessing and labels: everything ``from_model_config`` needs (JSON-able)."""
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "num_classes": self.num_classes,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "patch": self.patch,
            "diff": self.diff,
            "conv": self.conv,
            "squeeze": self.squeeze,
            **preprocessing_config(self),
        }

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> SequenceClassifier:
        return cls(**config)

    # ---- forward ---------------------------------------------------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Raw series ``x`` (B, T, F), padded past ``lengths`` (B,) (all T when omitted) -> logits (B, C)."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"SequenceClassifier: expected input of shape (batch, time, {self.input_size}), got {tuple(x.shape)}"
            )
        B, T, _ = x.shape
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
        x, mask = standardise(self, x, lengths)  # (B, T, F or 2F), (B, T, 1) or None
        conv = None if self.fcn is None else self.fcn(x, mask)  # (B, conv), at full resolution
        if self.patch > 1:
            steps = math.ceil(T / self.patch)
            x = nn.functional.pad(x, (0, 0, 0, steps * self.patch - T))  # (B, steps * patch, F')
            x = x.reshape(B, steps, self.patch * x.shape[-1])  # (B, T', patch * F')
            if lengths is not None:
                lengths = torch.div(lengths + self.patch - 1, self.patch, rounding_mode="floor")
        y, h = self.rnn(x, lengths=lengths)  # y (B, T', D*H), zero past each length
        features = self._pool(y, h, lengths)  # (B, D*H * poolings)
        if conv is not None:
            features = torch.cat([features, conv], dim=-1)
        return self.head(self.drop(features))

    def _pool(self, y: Tensor, h: Tensor | tuple[Tensor, ...], lengths: Tensor | None) -> Tensor:
        """-> (B, D*H), or (B, 2*D*H) for "meanmax", (B, 3*D*H) for "all"."""
        h_n = h[0] if isinstance(h, tuple) else h  # (L*D, B, H)
        d = 2 if self.bidirectional else 1
        last = h_n[-d:].transpose(0, 1).reshape(y.shape[0], -1)  # (B, D*H): last layer, every direction
        if self.pooling == "last":
            return last
        if lengths is None:
            mean, top = y.mean(dim=1), y.amax(dim=1)
        else:
            mask = (torch.arange(y.shape[1], device=y.device) < lengths[:, None])[..., None]  # (B, T', 1)
            mean = y.sum(dim=1) / lengths[:, None].to(y.dtype)  # outputs are zero past each length
            top = y.masked_fill(~mask, float("-inf")).amax(dim=1)
        if self.pooling == "mean":
            return mean
        if self.pooling == "max":
            return top
        if self.pooling == "meanmax":
            return torch.cat([mean, top], dim=-1)
        return torch.cat([last, mean, top], dim=-1)

    @torch.no_grad()
    def predict_proba(self, x: Any, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Class probabilities (B, C), in eval mode. ``x``: a padded (B, T, F) tensor, or any series collection
        :func:`~rnnkit.classify.inputs.as_series_set` accepts (numpy (N, T) or (N, C, T), lists, pandas)."""
        x, lengths = _batch(x, lengths)
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x, lengths), dim=-1)
        finally:
            self.train(was_training)


@register_model("sequence_classifier_ensemble")
class ClassifierEnsemble(SavableModel, nn.Module):
    """Several classifiers (:class:`SequenceClassifier` from different seeds, and/or
    :class:`~rnnkit.classify.reservoir.ReservoirClassifier`); predicts the weighted mean of their probabilities.

    Averaging members from several seeds makes the predictions depend less on one seed. ``weights`` (one per
    member, default equal) are normalised to sum to 1; ``rnnkit classify train`` gives a trained-network half and
    a reservoir half 0.5 each when cross-validation picks both. ``forward`` returns the log of the mean probability,
    so ``softmax``/``argmax`` of it behave like a single model's logits.

    >>> import torch
    >>> members = [SequenceClassifier(2, 4, 1, 3, labels=["a", "b", "c"]) for _ in range(2)]
    >>> ClassifierEnsemble(members)(torch.randn(5, 7, 2)).exp().sum(-1).allclose(torch.ones(5))
    True
    """

    def __init__(self, members: Sequence[nn.Module], weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("expected at least one member classifier, got none")
        first: Any = members[0]
        for m in members[1:]:
            if m.labels != first.labels or m.input_size != first.input_size:
                raise ValueError(
                    f"ensemble members disagree: labels {m.labels} with {m.input_size} channels vs "
                    f"{first.labels} with {first.input_size}"
                )
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"expected one non-negative weight per member ({len(members)}), got {weights}")
        self.weights = [w / sum(weights) for w in weights]
        self.members = nn.ModuleList(members)
        self.labels, self.input_size, self.num_classes = first.labels, first.input_size, first.num_classes

    def model_config(self) -> dict[str, Any]:
        members = [{"kind": type(m).model_kind, **m.model_config()} for m in self.members]  # type: ignore[attr-defined,operator]
        return {"members": members, "weights": self.weights}

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> ClassifierEnsemble:
        from rnnkit.classify.reservoir import ReservoirClassifier

        kinds = {"sequence_classifier": SequenceClassifier, "reservoir_classifier": ReservoirClassifier}
        members = []
        for c in config["members"]:
            c = dict(c)
            members.append(kinds[c.pop("kind", "sequence_classifier")].from_model_config(c))  # type: ignore[attr-defined]
        return cls(members, config.get("weights"))

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Raw series (B, T, F) -> log of the members' weighted mean probabilities (B, C)."""
        probs = torch.stack([w * torch.softmax(m(x, lengths), dim=-1) for w, m in zip(self.weights, self.members)])
        return probs.sum(dim=0).clamp_min(1e-12).log()  # (B, C)

    @torch.no_grad()
    def predict_proba(self, x: Any, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """Class probabilities (B, C), in eval mode (``x`` as for :meth:`SequenceClassifier.predict_proba`)."""
        x, lengths = _batch(x, lengths)
        was_training = self.training
        self.eval()
        try:
            return self(x, lengths).exp()
        finally:
            self.train(was_training)


def _batch(x: Any, lengths: Tensor | Sequence[int] | None) -> tuple[Tensor, Tensor | Sequence[int] | None]:
    """A tensor passes as it is; other series collections are checked and padded (their own lengths)."""
    if isinstance(x, Tensor):
        return x, lengths
    if lengths is not None:
        raise ValueError("lengths goes with a padded tensor x; a list or array of series carries its own lengths")
    from rnnkit.classify.data import pad
    from rnnkit.classify.inputs import as_series_set

    return pad(as_series_set(x, name="x").series)
