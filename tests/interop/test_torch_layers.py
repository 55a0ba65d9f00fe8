"""from_torch / to_torch: lossless both ways, for layers and for models that contain them."""

from __future__ import annotations

import pytest
import torch

from rnnkit.interop import from_torch, to_torch
from rnnkit.nn import GRU, LSTM, RNN


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False),
        lambda: torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True),
        lambda: torch.nn.GRU(3, 4, num_layers=3, bidirectional=True, dropout=0.1).double(),
    ],
)
def test_both_ways_lossless(make):
    theirs = make().eval()
    ours = from_torch(theirs)
    assert type(ours) in (RNN, LSTM, GRU)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for name, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value) and ours.state_dict()[name].dtype == value.dtype
        assert ours.state_dict()[name].data_ptr() != value.data_ptr()  # copied, not shared
    x = torch.randn(2, 5, 3, dtype=next(theirs.parameters()).dtype)
    assert torch.equal(ours(x)[0], theirs(x)[0])
    again = to_torch(ours)
    assert type(again) is type(theirs)
    assert all(torch.equal(again.state_dict()[k], v) for k, v in theirs.state_dict().items())


def test_models_have_every_layer_swapped_in_a_copy():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.LSTM(3, 4, batch_first=True)
            self.blocks = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.GRU(4, 2))

    net = Net()
    ours = from_torch(net)
    assert isinstance(ours.enc, LSTM) and isinstance(ours.blocks[1], GRU)
    assert type(net.enc) is torch.nn.LSTM  # the original is untouched
    back = to_torch(ours)
    assert type(back.enc) is torch.nn.LSTM and type(back.blocks[1]) is torch.nn.GRU


def test_errors():
    with pytest.raises(ValueError, match=r"^from_torch: Linear contains no torch.nn.RNN/LSTM/GRU layer to convert$"):
        from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"^to_torch: LSTM contains no rnnkit RNN/LSTM/GRU layer to convert$"):
        to_torch(torch.nn.LSTM(2, 2))
    with pytest.raises(TypeError, match=r"^from_torch: expected an nn.Module"):
        from_torch("lstm")  # type: ignore[arg-type]
