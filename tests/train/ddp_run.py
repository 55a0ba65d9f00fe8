"""Script for test_distributed: the toy run under ``torchrun --nproc_per_node 2`` (batch 8 per process) or in one
process (batch 16). Writes OUT/result.json (rank 0) and OUT/rank<r>.json (how many checkpoints each rank wrote).
With INTERRUPT_AT it stops every rank with KeyboardInterrupt after that optimizer step (a simulated kill); with
``resume`` it continues the run from OUT/last.ckpt; with ``nosync`` it bypasses the DistributedDataParallel wrapper
(each rank calls the bare step module: gradients are never all-reduced), the failure the test must be able to see.
GRAD_ACCUM (default 1) is --grad_accum.

usage: [torchrun --standalone --nproc_per_node 2] ddp_run.py OUT BATCH_SIZE [INTERRUPT_AT | resume | nosync | -]
       [GRAD_ACCUM]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import torch
from train_toy import make_model, toy_data

from rnnkit.train import Callback, StepOutput, TrainConfig, Trainer, is_main_process, seeded_loader


def step_via_method(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
    """Calls ``model.loss``, not ``model(...)``: gradients must still be averaged over ranks."""
    x, y = batch
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    return StepOutput(loss=model.loss(x, y), n=len(y), metrics={"acc": acc})  # type: ignore[operator]


class CountCheckpoints(Callback):
    def __init__(self, interrupt_at: int | None) -> None:
        self.written = 0
        self.interrupt_at = interrupt_at

    def on_checkpoint(self, trainer: Trainer, path: Any) -> None:
        self.written += path is not None

    def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
        if step == self.interrupt_at:
            raise KeyboardInterrupt


def main(
    out: Path,
    batch_size: int,
    interrupt_at: int | None = None,
    resume: bool = False,
    grad_accum: int = 1,
    sync: bool = True,
) -> dict[str, Any]:
    model = make_model()
    train = seeded_loader(toy_data(64), batch_size=batch_size, shuffle=True, seed=0)
    val = seeded_loader(toy_data(32, seed=1), batch_size=batch_size, shuffle=False, seed=0)
    cfg = TrainConfig(epochs=3, lr=1e-2, warmup_steps=2, checkpoint_every=3, grad_accum=grad_accum, quiet=True)
    counter = CountCheckpoints(interrupt_at)
    trainer = Trainer(model, cfg, step=step_via_method, run_dir=out, callbacks=[counter])
    if not sync:
        assert isinstance(trainer._train_module, torch.nn.parallel.DistributedDataParallel)
        trainer._train_module = trainer._train_module.module  # the StepModule itself: no gradient all-reduce
    try:
        result = trainer.fit(train, val, resume=resume)
    except KeyboardInterrupt:
        return {}
    (out / f"rank{trainer.rank}.json").write_text(
        json.dumps(
            {
                "world_size": trainer.world_size,
                "checkpoints_written": counter.written,
                "wrapper": type(trainer._train_module).__name__,
            }
        )
    )
    report = {
        "history": result.history,
        "steps": result.steps,
        "params": {k: v.flatten().tolist() for k, v in model.state_dict().items()},
    }
    if is_main_process():
        (out / "result.json").write_text(json.dumps(report))
    return report


if __name__ == "__main__":
    extra = sys.argv[3] if len(sys.argv) > 3 else None
    main(
        Path(sys.argv[1]),
        int(sys.argv[2]),
        interrupt_at=int(extra) if extra is not None and extra.isdigit() else None,
        resume=extra == "resume",
        grad_accum=int(sys.argv[4]) if len(sys.argv) > 4 else 1,
        sync=extra != "nosync",
    )
