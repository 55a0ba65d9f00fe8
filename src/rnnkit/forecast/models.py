"""Forecasting models: a batch of windows in, K distribution parameters per future step and channel out.

- :class:`DirectRNN` (``"rnn"``): a recurrent encoder over the look-back (targets, past and known-future
  covariates); its last state and the horizon's known-future covariates map to all H steps at once.
- :class:`AutoregressiveRNN` (``"ar"``): the same encoder, then a recurrent decoder that steps through the horizon
  fed its previous value (the truth while training, teacher forcing; its own point forecast when predicting).
- :class:`SegRNN` (``"segrnn"``, Lin et al. 2023, "SegRNN: Segment Recurrent Neural Network for Long-Term Time
  Series Forecasting"): channel-independent; the look-back of each channel is cut into segments of w steps, each
  embedded by a Linear+ReLU, and a recurrent layer runs over the L/w segments (few steps, hence fast). The
  decoder is parallel multi-step ("PMF", paper section 3.2): one recurrent step per output segment, all at once,
  from the encoder state, with input a positional embedding of the segment concatenated with a channel embedding.

All take ``revin`` (instance normalisation of each window, undone on the output; :class:`~rnnkit.forecast.scale.RevIN`),
``cycle`` (residual cycle forecasting, Lin et al. 2024, "CycleNet": a learnt periodic pattern of ``cycle`` steps
per channel is taken out of the look-back at each window's phase and put back into the forecast, so the network
forecasts what the cycle leaves) and any cell of ``rnnkit.nn`` by name (``"gru"``, ``"lstm"``, ``"rnn"``). Their
output parameters are in the scaled units of the batch (the standard scaler, stored in ``meta["scaler"]``, is
undone by the prediction code).

Shapes: B batch, L look-back, H horizon, C targets, P past covariates, F known-future covariates, K head
parameters, D hidden size, w segment length, S_in = L/w, S_out = H/w.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rnnkit.forecast.heads import make_head
from rnnkit.forecast.scale import RevIN
from rnnkit.nn import GRU, LSTM, RNN, Dropout
from rnnkit.train import SavableModel, register_model

CELLS: dict[str, type[nn.Module]] = {"gru": GRU, "lstm": LSTM, "rnn": RNN}
MODELS = ("segrnn", "rnn", "ar")


def _check_positive(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected {what} to be a positive integer, got {value!r}")
    return value


def _cell(name: str) -> type[nn.Module]:
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(repr(c) for c in CELLS)}")
    return CELLS[name]


def _layer_dropout(dropout: float, num_layers: int) -> float:
    """torch applies recurrent dropout between stacked layers only; with one layer it would do nothing."""
    if dropout and num_layers == 1:
        warnings.warn(f"dropout={dropout} has no effect with num_layers=1 (it acts between layers)", stacklevel=3)
        return 0.0
    return dropout


class Forecaster(SavableModel, nn.Module):
    """Shared plumbing: validation, RevIN, head, and the config that :func:`rnnkit.train.save_model` stores."""

    compile_step: bool = False
    """Run the recurrent step through torch.compile while training (SegRNN's GRU decoder; ignored by the others).
    A run-time choice (forecast train --compile), not saved with the model."""

    def __init__(
        self,
        *,
        lookback: int,
        horizon: int,
        num_targets: int,
        num_past: int = 0,
        num_future: int = 0,
        head: str = "point",
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        revin: bool = True,
        cycle: int = 0,
        meta: dict | None = None,
    ):
        super().__init__()
        if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 0:
            raise ValueError(f"expected cycle to be a whole number of steps >= 0 (0: none), got {cycle!r}")
        self.lookback = _check_positive("lookback", lookback)
        self.horizon = _check_positive("horizon", horizon)
        self.num_targets = _check_positive("num_targets", num_targets)
        self.num_past, self.num_future = num_past, num_future
        self.head = make_head(head, quantiles)
        self.quantiles = list(quantiles)
        self.revin = RevIN(num_targets) if revin else None
        self.cycle = cycle
        # The cycle's value at each phase and channel, in the scaled units of the batch; zero at the start.
        self.cycle_values = nn.Parameter(torch.zeros(cycle, num_targets)) if cycle else None
        self.meta = dict(meta or {})  # preprocessing and column names: travels in config.json
        self._args: dict[str, Any] = {
            "lookback": lookback,
            "horizon": horizon,
            "num_targets": num_targets,
            "num_past": num_past,
            "num_future": num_future,
            "head": head,
            "quantiles": list(quantiles),
            "revin": revin,
            "cycle": cycle,
        }

    def model_config(self) -> dict:
        return {**self._args, "meta": self.meta}

    @classmethod
    def from_model_config(cls, config: dict) -> Forecaster:
        return cls(**config)

    def _check_batch(self, batch: dict[str, Tensor]) -> None:
        x = batch["x"]
        want = (self.lookback, self.num_targets)
        if x.dim() != 3 or tuple(x.shape[1:]) != want:
            raise ValueError(f"expected x of shape (B, {want[0]}, {want[1]}), got {tuple(x.shape)}")
        if self.num_past and batch["past"].shape[-1] != self.num_past:
            raise ValueError(f"expected {self.num_past} past covariates, got {batch['past'].shape[-1]}")
        if self.num_future and tuple(batch["future"].shape[1:]) != (self.lookback + self.horizon, self.num_future):
            raise ValueError(
                f"expected future covariates of shape (B, {self.lookback + self.horizon}, {self.num_future}), "
                f"got {tuple(batch['future'].shape)}"
            )
        if self.cycle and "t" not in batch:
            raise ValueError(
                f"this model removes a learnt cycle of {self.cycle} steps and needs each window's time step 't' "
                "(WindowData gives it when the data's frequency has a step count); retrain with --cycle 0"
            )

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Batch dict (see :class:`~rnnkit.forecast.windows.WindowData`) -> constrained parameters (B, H, C, K)."""
        self._check_batch(batch)
        if self.cycle_values is None:
            return self._normalized_forecast(batch)
        t = batch["t"]  # (B,) time step of each window's first row
        past = self._cycle_at(t, 0, self.lookback)  # (B, L, C)
        ahead = self._cycle_at(t, self.lookback, self.horizon)  # (B, H, C)
        inner = dict(batch, x=batch["x"] - past)
        if "y" in batch:  # teacher forcing sees the same cycle-free values
            inner["y"] = batch["y"] - ahead
        return self.head.affine(self._normalized_forecast(inner), ahead, torch.ones_like(ahead))

    def _cycle_at(self, t: Tensor, start: int, n: int) -> Tensor:
        """The cycle over steps ``t + start ... t + start + n - 1`` of each window: (B, n, C)."""
        assert self.cycle_values is not None
        phase = (t.long()[:, None] + start + torch.arange(n, device=t.device)) % self.cycle  # (B, n)
        return self.cycle_values[phase]

    def _normalized_forecast(self, batch: dict[str, Tensor]) -> Tensor:
        x, mask = batch["x"], batch.get("x_mask")
        if self.revin is None:
            raw = self._forecast(x, batch, None)
            return self.head.constrain(raw)
        z, stats = self.revin.normalize(x, mask)
        raw = self._forecast(z, batch, (self.revin, stats))
        params = self.head.constrain(raw)
        loc = self.revin.denormalize(torch.zeros_like(stats[0]), stats)  # (B, 1, C)
        scale = self.revin.denormalize(torch.ones_like(stats[0]), stats) - loc
        return self.head.affine(params, loc, scale)

    def _forecast(self, z: Tensor, batch: dict[str, Tensor], revin: tuple | None) -> Tensor:
        """z (B, L, C) (normalised when RevIN is on) -> raw parameters (B, H, C, K)."""
        raise NotImplementedError

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        return self.head.loss(self(batch), batch["y"], batch.get("y_mask"))


def _inputs(z: Tensor, batch: dict[str, Tensor], num_past: int, num_future: int, lookback: int) -> Tensor:
    parts = [z]
    if num_past:
        parts.append(batch["past"])
    if num_future:
        parts.append(batch["future"][:, :lookback])
    return torch.cat(parts, dim=-1)  # (B, L, C + P + F)


@register_model("forecast.rnn")
class DirectRNN(Forecaster):
    """Recurrent encoder + direct multi-horizon linear head (covariates welcome).

    >>> m = DirectRNN(lookback=12, horizon=4, num_targets=2, hidden_size=8)
    >>> tuple(m({"x": torch.randn(3, 12, 2)}).shape)
    (3, 4, 2, 1)
    """

    def __init__(self, *, hidden_size: int = 64, num_layers: int = 1, cell: str = "gru", dropout: float = 0.0, **kw):
        super().__init__(**kw)
        self._args.update(hidden_size=hidden_size, num_layers=num_layers, cell=cell, dropout=dropout)
        c, k = self.num_targets, self.head.num_params
        self.encoder = _cell(cell)(
            c + self.num_past + self.num_future,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=_layer_dropout(dropout, num_layers),
        )
        self.out = nn.Linear(hidden_size + self.horizon * self.num_future, self.horizon * c * k)

    def _forecast(self, z: Tensor, batch: dict[str, Tensor], revin: tuple | None) -> Tensor:
        y, _ = self.encoder(_inputs(z, batch, self.num_past, self.num_future, self.lookback))
        feats = [y[:, -1]]  # (B, D)
        if self.num_future:
            feats.append(batch["future"][:, self.lookback :].flatten(1))  # (B, H*F)
        raw = self.out(torch.cat(feats, dim=-1))
        return raw.view(len(z), self.horizon, self.num_targets, self.head.num_params)


@register_model("forecast.ar")
class AutoregressiveRNN(Forecaster):
    """Recurrent encoder-decoder; the decoder is fed its previous value and the step's known-future covariates.

    >>> m = AutoregressiveRNN(lookback=12, horizon=4, num_targets=2, hidden_size=8).eval()
    >>> tuple(m({"x": torch.randn(3, 12, 2)}).shape)
    (3, 4, 2, 1)
    """

    def __init__(self, *, hidden_size: int = 64, num_layers: int = 1, cell: str = "gru", dropout: float = 0.0, **kw):
        super().__init__(**kw)
        self._args.update(hidden_size=hidden_size, num_layers=num_layers, cell=cell, dropout=dropout)
        c, k = self.num_targets, self.head.num_params
        layer, drop = _cell(cell), _layer_dropout(dropout, num_layers)
        self.encoder = layer(
            c + self.num_past + self.num_future, hidden_size, num_layers, batch_first=True, dropout=drop
        )
        self.decoder = layer(c + self.num_future, hidden_size, num_layers, batch_first=True, dropout=drop)
        self.out = nn.Linear(hidden_size, c * k)

    def _forecast(self, z: Tensor, batch: dict[str, Tensor], revin: tuple | None) -> Tensor:
        B, C, K = len(z), self.num_targets, self.head.num_params
        _, state = self.encoder(_inputs(z, batch, self.num_past, self.num_future, self.lookback))
        fut = batch["future"][:, self.lookback :] if self.num_future else z.new_zeros(B, self.horizon, 0)
        if self.training:
            # Teacher forcing: inputs are the previous true values, in the same (normalised) units as z.
            y = batch["y"]
            if revin is not None:
                layer, (mean, std) = revin
                y = (y - mean) / std
                if layer.affine:
                    y = y * layer.weight + layer.bias
            prev = torch.cat([z[:, -1:], y[:, :-1]], dim=1)  # (B, H, C)
            out, _ = self.decoder(torch.cat([prev, fut], dim=-1), state)
            return self.out(out).view(B, self.horizon, C, K)
        prev, steps = z[:, -1:], []
        for t in range(self.horizon):
            out, state = self.decoder(torch.cat([prev, fut[:, t : t + 1]], dim=-1), state)
            raw = self.out(out).view(B, 1, C, K)  # (B, 1, C, K)
            steps.append(raw)
            prev = self.head.point(self.head.constrain(raw))  # (B, 1, C)
        return torch.cat(steps, dim=1)


@register_model("forecast.segrnn")
class SegRNN(Forecaster):
    """Segment-wise recurrent encoder with parallel multi-step decoding, channel-independent (Lin et al. 2023).

    Covariates are not used (each channel is forecast from its own past), as in the paper. The decoder's step
    is computed by :func:`_shared_step`: the same numbers as the paper's code, which runs the cell on
    B*C*S_out repeated rows, for less work; its dropout mask is drawn by :class:`rnnkit.nn.Dropout`. Together,
    training steps are 1.8x faster than the paper's at horizon 96 and 2.9x at 720 on 2 CPU cores, 1.9x and 4.3x
    with the gates compiled (``compile_step``; benchmarks/segrnn_decoder.py).

    >>> m = SegRNN(lookback=24, horizon=12, num_targets=3, seg_len=6, d_model=16)
    >>> tuple(m({"x": torch.randn(2, 24, 3)}).shape)
    (2, 12, 3, 1)
    """

    def __init__(self, *, seg_len: int = 24, d_model: int = 256, cell: str = "gru", dropout: float = 0.5, **kw):
        super().__init__(**kw)
        self._args.update(seg_len=seg_len, d_model=d_model, cell=cell, dropout=dropout)
        _check_positive("seg_len", seg_len)
        if self.lookback % seg_len or self.horizon % seg_len:
            raise ValueError(
                f"segrnn needs --lookback and --horizon divisible by --seg_len, got {self.lookback}, "
                f"{self.horizon} and {seg_len}"
            )
        if d_model % 2:
            raise ValueError(f"expected an even --d_model (half position, half channel embedding), got {d_model}")
        if self.num_past or self.num_future:
            raise ValueError("model 'segrnn' is channel-independent and uses no covariates; use --model rnn or ar")
        self.seg_len, self.d_model = seg_len, d_model
        self.n_in, self.n_out = self.lookback // seg_len, self.horizon // seg_len
        self.embed = nn.Sequential(nn.Linear(seg_len, d_model), nn.ReLU())
        self.rnn = _cell(cell)(d_model, d_model, 1, batch_first=True)
        self.pos_emb = nn.Parameter(torch.randn(self.n_out, d_model // 2))
        self.channel_emb = nn.Parameter(torch.randn(self.num_targets, d_model // 2))
        self.dropout = Dropout(dropout)  # torch.nn.Dropout with a faster CPU mask (rnnkit.nn.dropout)
        self.predict = nn.Linear(d_model, seg_len * self.head.num_params)

    def _forecast(self, z: Tensor, batch: dict[str, Tensor], revin: tuple | None) -> Tensor:
        B, C, K, w = len(z), self.num_targets, self.head.num_params, self.seg_len
        if revin is None:  # the paper's default normalisation: subtract the last value, added back below
            last = z[:, -1:].detach()
            z = z - last
        segs = z.permute(0, 2, 1).reshape(B * C, self.n_in, w)  # (B*C, S_in, w)
        _, state = self.rnn(self.embed(segs))  # (1, B*C, D) (a tuple of two for an LSTM)
        emb = torch.cat(
            [
                self.pos_emb.unsqueeze(0).expand(C, -1, -1),  # (C, S_out, D/2)
                self.channel_emb.unsqueeze(1).expand(-1, self.n_out, -1),  # (C, S_out, D/2)
            ],
            dim=-1,
        )  # (C, S_out, D)
        out = _shared_step(self.rnn, emb, state, B, compiled=self.compile_step)  # (B, C, S_out, D)
        raw = self.predict(self.dropout(out)).view(B, C, self.horizon, K)  # segments back to back
        raw = raw.permute(0, 2, 1, 3)  # (B, H, C, K)
        if revin is None:  # shift every location parameter back (all K of a quantile head, else the first)
            shift = last.unsqueeze(-1)  # (B, 1, C, 1)
            if self.head.name != "quantile":
                shift = torch.cat([shift, torch.zeros_like(shift).expand(-1, -1, -1, K - 1)], dim=-1)
            raw = raw + shift
        return raw


def _shared_step(
    rnn: nn.Module, x: Tensor, state: Tensor | tuple[Tensor, Tensor], batch: int, *, compiled: bool = False
) -> Tensor:
    """One step of a one-layer recurrent ``rnn`` for every (window, channel, segment) at once: inputs ``x``
    (C, S, D_in) shared by all windows, states (1, B*C, D) shared by all segments. Returns the new hidden states
    (B, C, S, D).

    The same numbers as running ``rnn`` on the B*C*S rows, but the input projection is computed once per
    (channel, segment) and the recurrent one once per (window, channel), so the matrix products cost (B + S)
    rows instead of B*S; only the gate arithmetic runs on all B*C*S rows. At horizon 720, with B = 256 and S = 30,
    the decoder's matrix products shrink 27x.

    ``compiled``: a GRU's gate arithmetic, which is then most of the step, runs through :func:`torch.compile`
    while gradients are on (one fused kernel for the forward, one for the backward, instead of a pass over memory
    per operation); see :func:`_compiled_gru_gates`.
    """
    C = x.shape[0]
    w_ih, w_hh = cast(Tensor, rnn.weight_ih_l0), cast(Tensor, rnn.weight_hh_l0)
    b_ih, b_hh = getattr(rnn, "bias_ih_l0", None), getattr(rnn, "bias_hh_l0", None)  # absent with bias=False
    gi = nn.functional.linear(x, w_ih, b_ih).unsqueeze(0)  # (1, C, S, G*D)
    h = (state[0] if isinstance(state, tuple) else state)[0].view(batch, C, 1, -1)  # (B, C, 1, D)
    gh = nn.functional.linear(h, w_hh, b_hh)  # (B, C, 1, G*D)
    mode = rnn.mode  # type: ignore[union-attr]
    if mode == "GRU":
        gates = _compiled_gru_gates() if compiled and torch.is_grad_enabled() else None
        if gates is not None:
            try:
                return gates(gi, gh, h)
            except Exception as err:  # no C++ compiler, an unsupported platform: warn once, run eagerly
                _COMPILED["gru"] = None
                warnings.warn(f"torch.compile of the decoder step failed, running it eagerly: {err}", stacklevel=2)
        return _gru_gates(gi, gh, h)
    if mode == "LSTM":  # gate order i, f, g, o
        c = state[1][0].view(batch, C, 1, -1)  # type: ignore[index]
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        return torch.sigmoid(o) * torch.tanh(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g))
    act = torch.tanh if mode == "RNN_TANH" else torch.relu
    return act(gi + gh)


def _gru_gates(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """A GRU's new state from its input and recurrent projections (broadcast against each other) and its state."""
    i_r, i_z, i_n = gi.chunk(3, dim=-1)  # torch's gate order r, z, n; the reset gate scales the recurrent part of n
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


_COMPILED: dict[str, Any] = {}


def _compiled_gru_gates() -> Any:
    """:func:`_gru_gates` through ``torch.compile`` (made once per process), or None after a compile failed.

    Shapes are static at first; the first new batch size (an epoch's last batch) recompiles the kernels for any
    size. On 2 CPU cores it makes a SegRNN training step at horizon 720 about 1.5x faster (0.9x to 1.2x at 96 to
    336), after compiling (1-5 s measured with inductor's on-disk kernel cache warm, longer on a first run;
    benchmarks/segrnn_decoder.py)."""
    if "gru" not in _COMPILED:
        _COMPILED["gru"] = torch.compile(_gru_gates)
    return _COMPILED["gru"]


@register_model("forecast.ensemble")
class ForecastEnsemble(Forecaster):
    """Several forecasters of one configuration trained from different seeds, forecasting as one.

    The members' outputs are combined by their head (:meth:`~rnnkit.forecast.heads.Head.combine`): the mean
    forecast for point and median heads, averaged quantiles for the quantile head, the moment-matched mixture
    for the Gaussian head. Averaging seeds makes results steadier from one run to the next; on ETTh1 (a development
    set) ensembles of 3 under a 9-minute budget scored from 0.011 below to 0.003 above their first member's test
    MSE (benchmarks/RESULTS.md).

    >>> members = [SegRNN(lookback=24, horizon=12, num_targets=3, seg_len=6, d_model=16).eval() for _ in range(2)]
    >>> ens = ForecastEnsemble(members)
    >>> x = {"x": torch.randn(2, 24, 3)}
    >>> torch.allclose(ens(x), (members[0](x) + members[1](x)) / 2)
    True
    """

    def __init__(self, members: Sequence[Forecaster], meta: dict | None = None):
        if not members:
            raise ValueError("expected at least one member forecaster, got none")
        first = members[0]
        shape = ("lookback", "horizon", "num_targets", "num_past", "num_future")
        for m in members[1:]:
            if [getattr(m, a) for a in shape] != [getattr(first, a) for a in shape] or m.head.config() != (
                first.head.config()
            ):
                raise ValueError(
                    "ensemble members disagree on "
                    + ", ".join(f"{a}" for a in shape if getattr(m, a) != getattr(first, a))
                    + (" head" if m.head.config() != first.head.config() else "")
                )
        super().__init__(
            lookback=first.lookback,
            horizon=first.horizon,
            num_targets=first.num_targets,
            num_past=first.num_past,
            num_future=first.num_future,
            head=first.head.name,
            quantiles=first.quantiles,
            revin=False,  # each member normalises its own input
            meta=meta if meta is not None else first.meta,
        )
        first.head.combine(torch.zeros(1, 1, first.head.num_params))  # the head can combine (Student-t cannot)
        self.members = nn.ModuleList(members)

    def model_config(self) -> dict:
        members = [{"kind": type(m).model_kind, "config": m.model_config()} for m in self.members]  # type: ignore
        return {"members": members, "meta": self.meta}

    @classmethod
    def from_model_config(cls, config: dict) -> ForecastEnsemble:
        from rnnkit.train.modelfile import model_class

        members = [model_class(m["kind"]).from_model_config(m["config"]) for m in config["members"]]
        return cls(members, meta=config.get("meta"))

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Batch dict -> the members' combined parameters (B, H, C, K)."""
        self._check_batch(batch)
        return self.head.combine(torch.stack([m(batch) for m in self.members]))


MODEL_CLASSES: dict[str, type[Forecaster]] = {"segrnn": SegRNN, "rnn": DirectRNN, "ar": AutoregressiveRNN}


def make_model(name: str, **kwargs: Any) -> Forecaster:
    """A forecaster by name (see :data:`MODELS`)."""
    if name not in MODEL_CLASSES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(repr(m) for m in MODELS)}")
    return MODEL_CLASSES[name](**kwargs)
