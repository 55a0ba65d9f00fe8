"""The one time loop: stacking, directions, variable lengths and state, shared by every recurrent layer.

A layer subclasses :class:`RecurrentBase` and says how to run ONE layer in ONE direction over a contiguous,
full-length block of time (``_scan``). Everything else lives here, once:

- input forms: (T, B, I) / (B, T, I) / unbatched (T, I) / ``PackedSequence``, plus ``lengths``;
- validation with messages that say what was expected and what arrived;
- variable lengths without packing: sequences are sorted by length and time is cut at each distinct length,
  so every ``_scan`` call sees a full block and the batch shrinks as sequences end (as cuDNN's packed path does,
  but each block goes to the fast padded kernel). ``h_n``/``c_n`` are the states at each sequence's own last
  step and outputs past a sequence's end are zero;
- the reverse direction runs on each sequence reversed *within its own length*, so it starts at its last step;
- stacking, with dropout between layers as ``torch.nn`` does.

Shapes: see :mod:`rnnkit.nn.cells` for B, T, I, H, P, L, D.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

State = tuple[Tensor, ...]
Segment = tuple[int, int, int]  # (start, stop, active rows): time [start, stop) for the first `rows` sorted rows


class RecurrentBase(nn.Module):
    """Shared forward/step logic. Subclasses set ``input_size``, ``num_layers``, ``bidirectional``,
    ``batch_first``, ``dropout`` and implement ``_state_sizes``, ``_scan``, ``_to_user_state`` and
    ``_from_user_state``; they may implement ``_run_full`` (a fused whole-stack kernel for full-length batches)."""

    input_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    dropout: float

    # ---- what a layer provides -------------------------------------------------------------------------
    def _state_sizes(self) -> tuple[int, ...]:
        """Feature size of each state tensor, e.g. (P, H) for an LSTM."""
        raise NotImplementedError

    def _scan(self, layer: int, direction: int, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Run one layer in one direction: x (B, T, I_layer), state tensors (B, *) -> y (B, T, O), state."""
        raise NotImplementedError

    def _run_full(self, x: Tensor, hx: State) -> tuple[Tensor, State] | None:
        """Optional fused path for a full-length batch: x (B, T, I), hx (L*D, B, *) -> y (B, T, D*O), hx."""
        return None

    def _state_names(self) -> tuple[str, ...]:
        return tuple(f"hx[{i}]" for i in range(len(self._state_sizes())))

    def _to_user_state(self, states: State) -> Tensor | State:
        return states[0] if len(states) == 1 else states

    def _from_user_state(self, hx: Tensor | Sequence[Tensor]) -> State:
        n = len(self._state_sizes())
        if n == 1:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{self._name}: expected hx to be a Tensor, got {type(hx).__name__}")
            return (hx,)
        if isinstance(hx, Tensor) or not isinstance(hx, (tuple, list)) or len(hx) != n:
            raise TypeError(
                f"{self._name}: expected hx to be a tuple of {n} tensors {self._state_names()}, "
                f"got {type(hx).__name__}" + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
            )
        return tuple(hx)

    # ---- public API --------------------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _name(self) -> str:
        return type(self).__name__

    def forward(  # type: ignore[override]
        self,
        input: Tensor | PackedSequence,
        hx: Tensor | Sequence[Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Tensor | PackedSequence, Tensor | State]:
        """Run the layer over a sequence.

        Args:
            input: (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I), or a ``PackedSequence``.
            hx: initial state, as ``torch.nn`` takes it: (L*D, B, H) tensor, or ``(h_0, c_0)`` for an LSTM.
                Zeros when omitted. Unbatched input takes (L*D, H).
            lengths: valid steps of each batch element, 1-D integers in [1, T]; the rest is padding.
        Returns:
            ``(output, h_n)`` as ``torch.nn``: output (T, B, D*P) or (B, T, D*P) (a ``PackedSequence`` when the
            input was one), zero past each sequence's length; h_n holds each sequence's state at its own last step.
        """
        return self._forward(input, hx, lengths)

    def step(self, x_t: Tensor, state: Tensor | Sequence[Tensor] | None = None) -> tuple[Tensor, Tensor | State]:
        """Advance one time step, for streaming: ``x_t`` (B, I) or (I,) -> ``(y_t, state)``.

        ``state`` has the same form as ``hx``/``h_n``. Stepping through a sequence equals running it whole.

        >>> import torch, rnnkit.nn as rnn
        >>> lstm = rnn.LSTM(3, 4)
        >>> y, state = lstm.step(torch.zeros(2, 3))
        >>> y, state = lstm.step(torch.zeros(2, 3), state)
        >>> tuple(y.shape), tuple(state[0].shape)
        ((2, 4), (1, 2, 4))
        """
        if self.bidirectional:
            raise ValueError(
                f"{self._name}.step() streams forward in time, so it needs a unidirectional layer; "
                "got bidirectional=True. Run whole sequences with forward() instead."
            )
        if not isinstance(x_t, Tensor) or x_t.dim() not in (1, 2):
            shape = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
            raise ValueError(f"{self._name}.step(): expected x_t of shape (B, I) or (I,), got {shape}")
        time_dim = 1 if (self.batch_first and x_t.dim() == 2) else 0
        y, state_out = self._forward(x_t.unsqueeze(time_dim), state, None)
        assert isinstance(y, Tensor)
        return y.squeeze(time_dim), state_out

    # ---- the machinery ---------------------------------------------------------------------------------
    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._name}: expected input to be a Tensor or PackedSequence, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(
                f"{self._name}: expected a floating-point input, got dtype {x.dtype}; convert it with input.float()"
            )
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if x.dim() not in (2, 3):
            raise ValueError(
                f"{self._name}: expected input to be 2-D (T, I) unbatched or 3-D {layout} batched, "
                f"got {x.dim()}-D with shape {tuple(x.shape)}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self._name}: expected input with input_size={self.input_size} features in the last dimension, "
                f"got {x.shape[-1]} (input shape {tuple(x.shape)})"
            )
        if x.numel() == 0:
            raise ValueError(
                f"{self._name}: expected at least one time step and one sequence, got input of shape {tuple(x.shape)}"
            )

    def _check_state(self, hx: State, batch: int | None, x: Tensor) -> None:
        for name, size, h in zip(self._state_names(), self._state_sizes(), hx):
            if not isinstance(h, Tensor):
                raise TypeError(f"{self._name}: expected {name} to be a Tensor, got {type(h).__name__}")
            ld = self.num_layers * self.num_directions
            expected = (ld, size) if batch is None else (ld, batch, size)
            if tuple(h.shape) != expected:
                raise ValueError(
                    f"{self._name}: expected {name} of shape {expected} (num_layers * num_directions, "
                    f"{'' if batch is None else 'batch, '}hidden), got {tuple(h.shape)}"
                )
            if h.dtype != x.dtype or h.device != x.device:
                raise ValueError(
                    f"{self._name}: expected {name} with the input's dtype {x.dtype} on {x.device}, "
                    f"got {h.dtype} on {h.device}"
                )

    def _check_lengths(self, lengths: Tensor | Sequence[int], batch: int, steps: int) -> list[int]:
        if isinstance(lengths, Tensor):
            if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
                raise TypeError(f"{self._name}: expected lengths as integers, got dtype {lengths.dtype}")
            if lengths.dim() != 1:
                shape = tuple(lengths.shape)
                raise ValueError(f"{self._name}: expected lengths to be 1-D (one per batch element), got shape {shape}")
            values = [int(v) for v in lengths.tolist()]
        else:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in lengths):
                raise TypeError(f"{self._name}: expected lengths as a 1-D integer tensor or a list of ints")
            values = list(lengths)
        if len(values) != batch:
            raise ValueError(f"{self._name}: expected {batch} lengths (one per batch element), got {len(values)}")
        if min(values) < 1 or max(values) > steps:
            raise ValueError(
                f"{self._name}: expected every length in [1, {steps}] (the input has {steps} time steps), "
                f"got min {min(values)} and max {max(values)}"
            )
        return values

    def _forward(
        self,
        input: Tensor | PackedSequence,
        hx: Tensor | Sequence[Tensor] | None,
        lengths: Tensor | Sequence[int] | None,
    ) -> tuple[Tensor | PackedSequence, Tensor | State]:
        packed = isinstance(input, PackedSequence)
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{self._name}: pass lengths or a PackedSequence, not both")
            self._check_input(input.data.unsqueeze(0))
            x, len_t = pad_packed_sequence(input, batch_first=True)  # (B, T, I), original order
            lens: list[int] | None = len_t.tolist()
            batched = True
        else:
            self._check_input(input)
            batched = input.dim() == 3
            if not batched:
                if lengths is not None:
                    raise ValueError(f"{self._name}: lengths needs batched input; an unbatched sequence is whole")
                x = input.unsqueeze(0)  # (1, T, I)
            else:
                x = input if self.batch_first else input.transpose(0, 1)  # (B, T, I)
            lens = None if lengths is None else self._check_lengths(lengths, x.shape[0], x.shape[1])
        B, _T = x.shape[0], x.shape[1]
        ld = self.num_layers * self.num_directions
        if hx is None:
            states = tuple(x.new_zeros(ld, B, size) for size in self._state_sizes())
        else:
            states = self._from_user_state(hx)
            self._check_state(states, B if batched else None, x)
            if not batched:
                states = tuple(h.unsqueeze(1) for h in states)
        y, states = self._run(x, lens, states)  # (B, T, D*O), (L*D, B, *)
        if packed:
            assert lens is not None
            return pack_padded_sequence(y, lens, batch_first=True, enforce_sorted=False), self._to_user_state(states)
        if not batched:
            return y.squeeze(0), self._to_user_state(tuple(h.squeeze(1) for h in states))
        return (y if self.batch_first else y.transpose(0, 1)), self._to_user_state(states)

    def _run(self, x: Tensor, lengths: list[int] | None, hx: State) -> tuple[Tensor, State]:
        """x (B, T, I), hx (L*D, B, *) -> y (B, T, D*O), states (L*D, B, *). Lengths as validated ints."""
        B, T = x.shape[0], x.shape[1]
        if lengths is None or min(lengths) == T:
            fused = self._run_full(x, hx)
            if fused is not None:
                return fused
            order = None
            segments: list[Segment] = [(0, T, B)]
            rev_index = None
        else:
            order = torch.tensor(sorted(range(B), key=lambda b: -lengths[b]), device=x.device)
            x = x.index_select(0, order)
            hx = tuple(h.index_select(1, order) for h in hx)
            sorted_lengths = sorted(lengths, reverse=True)
            segments = _segments(sorted_lengths)
            rev_index = _reverse_index(sorted_lengths, T, x.device)  # (B, T)
        D = self.num_directions
        finals: list[list[Tensor]] = [[] for _ in hx]
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                x_in = x if d == 0 else _reverse(x, rev_index)
                y, final = self._scan_segments(layer, d, x_in, tuple(h[k] for h in hx), segments)
                outs.append(y if d == 0 else _reverse(y, rev_index))
                for i, f in enumerate(final):
                    finals[i].append(f)
            x = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (B, T, D*O)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        states = tuple(torch.stack(f) for f in finals)  # (L*D, B, *)
        if order is not None:
            inverse = torch.empty_like(order)
            inverse[order] = torch.arange(B, device=order.device)
            x = x.index_select(0, inverse)
            states = tuple(h.index_select(1, inverse) for h in states)
        return x, states

    def _scan_segments(
        self, layer: int, direction: int, x: Tensor, state: State, segments: list[Segment]
    ) -> tuple[Tensor, State]:
        """One layer/direction over length-sorted rows: x (B, T, I) -> y (B, T, O) zero-padded, final states."""
        B, T = x.shape[0], x.shape[1]
        if len(segments) == 1 and segments[0][1] == T:  # every row full length (a shorter one is cut below)
            return self._scan(layer, direction, x, state)
        # One split, then row slices of each block: slicing x itself once per block would make autograd allocate
        # a full-size gradient per block (quadratic in the number of distinct lengths).
        sizes = [stop - start for start, stop, _ in segments]
        blocks = x.split([*sizes, T - segments[-1][1]] if segments[-1][1] < T else sizes, dim=1)
        pieces, done = [], []
        for j, ((_, _, rows), block) in enumerate(zip(segments, blocks)):
            y, state = self._scan(layer, direction, block[:rows] if rows < B else block, state)  # (rows, stop-start, O)
            pieces.append(F.pad(y, (0, 0, 0, 0, 0, B - rows)) if rows < B else y)
            next_rows = segments[j + 1][2] if j + 1 < len(segments) else 0
            if next_rows < rows:  # rows [next_rows, rows) end at `stop`
                done.append(tuple(s[next_rows:] for s in state))
                state = tuple(s[:next_rows] for s in state)
        y = torch.cat(pieces, dim=1)
        if y.shape[1] < T:
            y = F.pad(y, (0, 0, 0, T - y.shape[1]))
        finals = tuple(torch.cat([d[i] for d in reversed(done)]) for i in range(len(done[0])))
        return y, finals


def _segments(sorted_lengths: list[int]) -> list[Segment]:
    """Cut time at each distinct length. sorted_lengths is descending; rows still running in a block come first."""
    segments, start = [], 0
    for stop in sorted(set(sorted_lengths)):
        rows = sum(1 for n in sorted_lengths if n >= stop)
        segments.append((start, stop, rows))
        start = stop
    return segments


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse x (B, T, F) in time within each row's length (padding stays in place); all of it without lengths.

    >>> reverse_padded(torch.arange(4.0).view(1, 4, 1), torch.tensor([3]))[0, :, 0].tolist()
    [2.0, 1.0, 0.0, 3.0]
    """
    if lengths is None:
        return x.flip(1)
    t = torch.arange(x.shape[1], device=x.device)[None]  # (1, T)
    n = lengths.to(x.device)[:, None]  # (B, 1)
    return _reverse(x, torch.where(t < n, n - 1 - t, t))  # index (B, T)


def _reverse_index(lengths: list[int], steps: int, device: torch.device) -> Tensor:
    """(B, T) gather index that reverses each row within its length and leaves padding in place."""
    t = torch.arange(steps, device=device).expand(len(lengths), steps)
    n = torch.tensor(lengths, device=device).unsqueeze(1)
    return torch.where(t < n, n - 1 - t, t)


def _reverse(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse x (B, T, F) in time, within each row's length when an index is given."""
    if index is None:
        return x.flip(1)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
