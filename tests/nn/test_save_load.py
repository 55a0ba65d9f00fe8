"""Every registered layer, inside a model saved by rnnkit (safetensors + JSON), loads back through rnnkit.load and
gives the same outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit
import rnnkit.nn as rnn
from rnnkit.train import SavableModel, register_model


@register_model("tests.nn.registry_model")
class RegistryModel(SavableModel, nn.Module):
    def __init__(self, cell: str, options: dict):
        super().__init__()
        self.cell, self.options = cell, options
        self.rnn = rnn.make_layer(cell, 3, 4, num_layers=2, bidirectional=True, batch_first=True, **options)

    def model_config(self):
        return {"cell": self.cell, "options": self.options}

    @classmethod
    def from_model_config(cls, config):
        return cls(**config)

    def forward(self, x):
        return self.rnn(x)[0]


CASES = [(name, {}) for name in rnn.cell_names() if not name.startswith("conv")] + [
    ("lstm", {"peephole": True, "layer_norm": True, "zoneout": 0.1, "recurrent_dropout": 0.2}),
    ("gru", {"zoneout": 0.1, "recurrent_dropout": 0.2}),
]


@pytest.mark.parametrize(("cell", "options"), CASES, ids=[f"{c}-{len(o)}" for c, o in CASES])
def test_save_and_rnnkit_load(tmp_path, cell, options):
    torch.manual_seed(0)
    model = RegistryModel(cell, options).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))  # layer-norm gains away from 1
    loaded = rnnkit.load(model.save(tmp_path)).eval()
    x = torch.randn(2, 5, 3)
    assert torch.equal(loaded(x), model(x))
