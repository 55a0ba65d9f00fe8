"""Bad input to the layers gets a clear error: the exact messages are part of the interface."""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rnn


def message(exc_type, fn, *args, **kwargs) -> str:
    with pytest.raises(exc_type) as err:
        fn(*args, **kwargs)
    return str(err.value)


def test_wrong_rank():
    lstm = rnn.LSTM(3, 4, batch_first=True)
    assert message(ValueError, lstm, torch.zeros(2, 2, 5, 3)) == (
        "LSTM: expected input to be 2-D (T, I) unbatched or 3-D (B, T, I) batched, got 4-D with shape (2, 2, 5, 3)"
    )


def test_wrong_feature_size():
    gru = rnn.GRU(3, 4)
    assert message(ValueError, gru, torch.zeros(5, 2, 7)) == (
        "GRU: expected input with input_size=3 features in the last dimension, got 7 (input shape (5, 2, 7))"
    )
    # the variable-length path checks the same way
    assert message(ValueError, gru, torch.zeros(5, 2, 7), lengths=[5, 1]).startswith(
        "GRU: expected input with input_size=3"
    )


def test_non_floating_input():
    assert message(TypeError, rnn.RNN(3, 4), torch.zeros(5, 2, 3, dtype=torch.long)) == (
        "RNN: expected a floating-point input, got dtype torch.int64; convert it with input.float()"
    )


def test_empty_sequence():
    assert message(ValueError, rnn.LSTM(3, 4), torch.zeros(0, 2, 3)) == (
        "LSTM: expected at least one time step and one sequence, got input of shape (0, 2, 3)"
    )


def test_hx_of_wrong_shape():
    gru = rnn.GRU(3, 4, num_layers=2)
    assert message(ValueError, gru, torch.zeros(5, 2, 3), torch.zeros(1, 2, 4)) == (
        "GRU: expected hx of shape (2, 2, 4) (num_layers * num_directions, batch, hidden), got (1, 2, 4)"
    )
    lstm = rnn.LSTM(3, 4, proj_size=2)
    assert message(ValueError, lstm, torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))) == (
        "LSTM: expected h_0 of shape (1, 2, 2) (num_layers * num_directions, batch, hidden), got (1, 2, 4)"
    )
    assert message(TypeError, lstm, torch.zeros(5, 2, 3), torch.zeros(1, 2, 2)) == (
        "LSTM: expected hx to be a tuple of 2 tensors ('h_0', 'c_0'), got Tensor"
    )


def test_hx_of_wrong_dtype():
    assert message(ValueError, rnn.RNN(3, 4), torch.zeros(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.float64)) == (
        "RNN: expected hx with the input's dtype torch.float32 on cpu, got torch.float64 on cpu"
    )


def test_lengths_out_of_range():
    lstm = rnn.LSTM(3, 4, batch_first=True)
    x = torch.zeros(2, 5, 3)
    assert message(ValueError, lstm, x, lengths=[6, 2]) == (
        "LSTM: expected every length in [1, 5] (the input has 5 time steps), got min 2 and max 6"
    )
    assert message(ValueError, lstm, x, lengths=torch.tensor([0, 2])) == (
        "LSTM: expected every length in [1, 5] (the input has 5 time steps), got min 0 and max 2"
    )


def test_lengths_wrong_dtype_and_count():
    lstm = rnn.LSTM(3, 4, batch_first=True)
    x = torch.zeros(2, 5, 3)
    assert message(TypeError, lstm, x, lengths=torch.tensor([5.0, 2.0])) == (
        "LSTM: expected lengths as integers, got dtype torch.float32"
    )
    assert message(ValueError, lstm, x, lengths=[5, 2, 1]) == (
        "LSTM: expected 2 lengths (one per batch element), got 3"
    )
    assert message(ValueError, lstm, x, lengths=torch.tensor([[5, 2]])) == (
        "LSTM: expected lengths to be 1-D (one per batch element), got shape (1, 2)"
    )
    assert message(TypeError, lstm, x, lengths=[5.0, 2]) == (
        "LSTM: expected lengths as a 1-D integer tensor or a list of ints"
    )


def test_step_needs_unidirectional():
    gru = rnn.GRU(3, 4, bidirectional=True)
    assert message(ValueError, gru.step, torch.zeros(2, 3)) == (
        "GRU.step() streams forward in time, so it needs a unidirectional layer; got bidirectional=True. "
        "Run whole sequences with forward() instead."
    )


def test_not_a_tensor():
    assert message(TypeError, rnn.RNN(3, 4), [[0.0, 0.0, 0.0]]) == (
        "RNN: expected input to be a Tensor or PackedSequence, got list"
    )
