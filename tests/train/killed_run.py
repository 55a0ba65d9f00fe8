"""Child process for test_trainer: train the toy run and SIGKILL this process right after the checkpoint at a step.

usage: python killed_run.py RUN_DIR STEP
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_trainer import run_toy

from rnnkit.train import Callback


class KillAfterCheckpoint(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_checkpoint(self, trainer, path) -> None:  # type: ignore[no-untyped-def]
        if trainer.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    run_toy(Path(sys.argv[1]), "seeded", callbacks=(KillAfterCheckpoint(int(sys.argv[2])),))
