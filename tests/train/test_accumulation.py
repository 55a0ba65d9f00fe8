"""Gradient accumulation: the gradient each optimizer step sees, against the mean-loss gradient computed directly.

AdamW is almost invariant to the gradient's scale, so counting steps or comparing losses lets an unscaled partial
window through; these tests read the gradients themselves, just before each optimizer step.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from train_toy import make_model, toy_data, toy_step

from rnnkit.train import TrainConfig, Trainer

TRAIN = toy_data(64)


def _reference_grads(model: torch.nn.Module, batches: list) -> list[torch.Tensor]:
    """Gradient of the mean of the batches' mean losses (what one optimizer step over them should use)."""
    model.zero_grad()
    loss = sum(toy_step(model, b, None).loss for b in batches) / len(batches)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    return grads


def _seen_grads(grad_accum: int, batch_size: int) -> tuple[torch.nn.Module, list[list[torch.Tensor]]]:
    model = make_model()
    seen: list[list[torch.Tensor]] = []
    # lr 1e-12: the weights stay put (to float32 precision), so every window's gradient is taken at the same point
    cfg = TrainConfig(epochs=1, grad_accum=grad_accum, lr=1e-12, weight_decay=0.0, clip_norm=None, quiet=True)
    trainer = Trainer(model, cfg, step=toy_step)
    trainer.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: seen.append([p.grad.clone() for p in model.parameters()])
    )
    trainer.fit(DataLoader(TRAIN, batch_size=batch_size))
    return model, seen


def test_every_window_full_or_partial_steps_with_the_mean_gradient_of_its_batches() -> None:
    # 64 items, batch 16, accum 3: a window of batches 0-2, then a partial window of batch 3 alone.
    model, seen = _seen_grads(grad_accum=3, batch_size=16)
    batches = list(DataLoader(TRAIN, batch_size=16))
    assert len(seen) == 2
    for got, window in zip(seen, [batches[:3], batches[3:]]):
        want = _reference_grads(model, window)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


def test_accumulating_equals_one_big_batch() -> None:
    # accum 2 over batches of 16 = batches of 32 (equal-size batches, so the mean of means is the big mean)
    _, accumulated = _seen_grads(grad_accum=2, batch_size=16)
    _, big = _seen_grads(grad_accum=1, batch_size=32)
    assert len(accumulated) == len(big) == 2
    for a, b in zip(accumulated, big):
        for ga, gb in zip(a, b):
            torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-6)
