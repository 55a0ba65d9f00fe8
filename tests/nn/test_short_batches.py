"""Batches where every sequence is shorter than the padded length T (max(lengths) < T).

The hypothesis test in test_layers.py forces one sequence to full length, so the padding past *every* sequence's
end (time steps that no block computes) was never checked: outputs of 1.0 there passed all of it. Reference:
torch's PackedSequence path padded back to T, which fills zeros (torch.nn.utils.rnn.pad_packed_sequence).
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rnn

KINDS = {"rnn_tanh": (rnn.RNN, torch.nn.RNN), "lstm": (rnn.LSTM, torch.nn.LSTM), "gru": (rnn.GRU, torch.nn.GRU)}

short = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(sorted(KINDS)),
        "layers": st.integers(1, 2),
        "bidir": st.booleans(),
        "batch_first": st.booleans(),
        "B": st.integers(1, 4),
        "T": st.integers(2, 8),
        "seed": st.integers(0, 2**31 - 1),
    }
)


def _state(h: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat([s.flatten() for s in h]) if isinstance(h, tuple) else h.flatten()


@settings(max_examples=30, deadline=None)
@given(short)
def test_padding_past_every_sequence_is_zero_and_matches_torch(cfg):
    gen = torch.Generator().manual_seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    ours_cls, torch_cls = KINDS[cfg["kind"]]
    kwargs = dict(num_layers=cfg["layers"], bidirectional=cfg["bidir"], batch_first=cfg["batch_first"])
    ours = ours_cls(3, 4, **kwargs)
    ref = torch_cls(3, 4, **kwargs)
    ref.load_state_dict(ours.state_dict())
    B, T = cfg["B"], cfg["T"]
    lengths = torch.randint(1, T, (B,), generator=gen)  # every length < T: the last steps are nobody's
    x = torch.randn(B, T, 3, generator=gen)  # (B, T, I)
    x_in = x if cfg["batch_first"] else x.transpose(0, 1)
    y, h = ours(x_in, lengths=lengths)
    y = y if cfg["batch_first"] else y.transpose(0, 1)  # (B, T, D*H)
    packed = pack_padded_sequence(x_in, lengths, cfg["batch_first"], enforce_sorted=False)
    y_ref, h_ref = ref(packed)
    y_ref, _ = pad_packed_sequence(y_ref, batch_first=True, total_length=T)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(_state(h), _state(h_ref), atol=1e-5, rtol=0)
    past = torch.arange(T)[None, :] >= lengths[:, None]  # (B, T): padding positions
    assert past[:, -1].all()  # the drawn batch has steps past every sequence's end
    assert (y[past] == 0).all(), "outputs past a sequence's end must be exactly 0"
