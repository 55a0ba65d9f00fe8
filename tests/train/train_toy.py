"""A tiny GRU classifier on synthetic sequences, shared by the engine tests and the torchrun script."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

import rnnkit.nn
from rnnkit.train import SavableModel, StepOutput, register_model


@register_model("tests.toy_gru")
class ToyGRU(SavableModel, nn.Module):
    """GRU over (B, T, F) then a linear head on the last step: (B, classes) logits."""

    def __init__(self, features: int = 3, hidden: int = 8, classes: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.features, self.hidden, self.classes, self.p = features, hidden, classes, dropout
        self.rnn = rnnkit.nn.GRU(features, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)  # (B, T, H)
        return self.head(self.drop(y[:, -1]))  # (B, C)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy: a method other than forward, as application models have."""
        return nn.functional.cross_entropy(self(x), y)

    def model_config(self) -> dict[str, Any]:
        return {"features": self.features, "hidden": self.hidden, "classes": self.classes, "dropout": self.p}

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> ToyGRU:
        return cls(**config)


def toy_data(n: int = 64, t: int = 10, seed: int = 0) -> TensorDataset:
    """Label = whether the first feature sums to more than zero."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, 3, generator=g)
    y = (x[:, :, 0].sum(1) > 0).long()
    return TensorDataset(x, y)


def toy_step(model: nn.Module, batch: Any, carry: Any) -> StepOutput:
    x, y = batch
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y)
    acc = (logits.argmax(1) == y).float().mean().item()
    return StepOutput(loss=loss, n=len(y), metrics={"acc": acc})


def make_model(seed: int = 0, dropout: float = 0.0) -> ToyGRU:
    torch.manual_seed(seed)
    return ToyGRU(dropout=dropout)
