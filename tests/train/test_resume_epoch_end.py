"""Resume from a checkpoint written at an epoch's last optimizer step (before the epoch counter moves on).

Found by benchmarks/mutation_check.py: replacing ``out is None and batch_in_epoch == 0`` with ``or`` in the
trainer's empty-loader check survived every test, because no test resumed from such a checkpoint, where the resumed
epoch has no batch left to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader
from train_toy import make_model, toy_data, toy_step

from rnnkit.train import Callback, StepOutput, TrainConfig, Trainer, load_checkpoint, seeded_loader

TRAIN, VAL = toy_data(64), toy_data(32, seed=1)


class InterruptAt(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
        if step == self.at:
            raise KeyboardInterrupt


def run(run_dir: Path, callbacks: tuple = (), resume: bool = False) -> tuple[torch.nn.Module, Any]:
    # 64 items, batch 12: 6 batches, grad_accum 2: 3 steps per epoch; checkpoint_every 3: at each epoch's last step
    model = make_model(dropout=0.3)
    loader = seeded_loader(TRAIN, batch_size=12, shuffle=True, seed=5)
    cfg = TrainConfig(epochs=3, grad_accum=2, checkpoint_every=3, quiet=True, seed=3)
    trainer = Trainer(model, cfg, step=toy_step, run_dir=run_dir, callbacks=list(callbacks))
    return model, trainer.fit(loader, DataLoader(VAL, batch_size=16), resume=resume)


def test_resume_from_the_last_step_of_an_epoch_is_identical(tmp_path: Path) -> None:
    whole, whole_result = run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "cut", callbacks=(InterruptAt(6),))
    state = load_checkpoint(tmp_path / "cut" / "last.ckpt")
    assert (state["step"], state["batch_in_epoch"]) == (6, 6)  # the epoch's batches are all done
    resumed, resumed_result = run(tmp_path / "cut", resume=True)
    sw, sr = whole.state_dict(), resumed.state_dict()
    assert all(torch.equal(sw[k], sr[k]) for k in sw)
    drop = ("time", "validation_time")
    strip = [{k: v for k, v in e.items() if k not in drop} for e in resumed_result.history]
    assert strip == [{k: v for k, v in e.items() if k not in drop} for e in whole_result.history]
