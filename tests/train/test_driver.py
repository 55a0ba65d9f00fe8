"""The driver (run folder, config/metrics files, summary, interrupts) and the seed-ensemble helper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from train_toy import make_model, toy_data, toy_step

from rnnkit.train import Callback, TrainConfig, Trainer, seeded_loader
from rnnkit.train.driver import (
    Fitted,
    Run,
    TrainingInterrupted,
    fit_ensemble,
    prepare_run_dir,
    run_training,
    summary_line,
)
from rnnkit.train.interrupt import request_stop

DATA = toy_data(48)


class StopAt(Callback):
    """Asks for a stop at a step, as a first Ctrl-C does."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Any, step: int, output: Any) -> None:
        if step == self.step:
            request_stop()


def _fit(members: int = 1, callbacks: Any = (), share: str = "equal"):  # type: ignore[no-untyped-def]
    def fit_member(k: int, config: TrainConfig, run_dir: Path):  # type: ignore[no-untyped-def]
        model = make_model(config.seed)
        train = seeded_loader(DATA, config.batch_size, shuffle=True, seed=config.seed)
        val = seeded_loader(toy_data(16, seed=1), 16, shuffle=False, seed=0)
        trainer = Trainer(model, config, step=toy_step, run_dir=run_dir, callbacks=callbacks if k == 1 else ())
        return model, trainer.fit(train, val)

    def fit(run: Run) -> Fitted:
        models, results = fit_ensemble(fit_member, run.config, members, run_dir=run.out, share=share)  # type: ignore[arg-type]
        return Fitted(model=models[-1], results=results, metrics={"app": 1})

    return fit


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(directory / "model" / "model.safetensors"))


def test_run_writes_config_metrics_model_and_one_summary_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainConfig(out=str(tmp_path / "run"), epochs=2, batch_size=16, progress=False, threads=1)
    metrics = run_training(cfg, _fit(), command="toy train", headline=lambda m: f"app {m['app']}")
    out = capsys.readouterr()
    assert out.err == ""  # no progress bar when stderr is not a terminal
    line = out.out.strip()
    assert "\n" not in line and "\r" not in line
    assert line.startswith("stopped by epochs after 6 steps in ") and line.endswith(
        f"app 1; model saved to {tmp_path}/run/model"
    )
    assert "best val_loss " in line and "{" not in line
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["steps"] == [6] and saved["app"] == 1 and saved == json.loads(json.dumps(metrics))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["command"] == "toy train" and config["epochs"] == 2
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


def test_run_folder_is_never_overwritten_silently(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^--out .*/file is a file; expected a folder"):
        prepare_run_dir(tmp_path / "file", False)
    with pytest.raises(ValueError, match=r"^--resume: no checkpoint to continue from in .*/new"):
        prepare_run_dir(tmp_path / "new", True)
    assert prepare_run_dir(tmp_path / "new", False) == tmp_path / "new"
    (tmp_path / "half" / "member1").mkdir(parents=True)
    (tmp_path / "half" / "member1" / "last.ckpt").write_bytes(b"")
    with pytest.raises(ValueError) as err:
        prepare_run_dir(tmp_path / "half", False)
    assert str(err.value) == (
        f"--out {tmp_path}/half holds an interrupted run (member1/last.ckpt); continue it with --resume or "
        "choose another --out"
    )


def test_interrupt_exports_the_best_model_and_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    base = {"epochs": 2, "batch_size": 16, "quiet": True, "time_budget": None, "threads": 1}
    full = run_training(TrainConfig(out=str(tmp_path / "full"), **base), _fit(members=2), command="t")
    cut = TrainConfig(out=str(tmp_path / "cut"), **base)
    with pytest.raises(TrainingInterrupted) as err:
        run_training(cut, _fit(members=2, callbacks=(StopAt(2),)), command="t")
    assert str(err.value) == f"interrupted at step 2; best model saved to {tmp_path}/cut/model; continue with --resume"
    saved = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert saved["interrupted"] is True and saved["stopped_reason"] == ["epochs", "interrupted"]
    assert (tmp_path / "cut" / "model" / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="holds an interrupted run"):
        run_training(cut, _fit(members=2), command="t")
    resumed = run_training(TrainConfig(out=str(tmp_path / "cut"), resume=True, **base), _fit(members=2), command="t")
    assert resumed["steps"] == full["steps"] and resumed["best_val"] == full["best_val"]
    for name, tensor in _weights(tmp_path / "full").items():
        assert torch.equal(tensor, _weights(tmp_path / "cut")[name]), name


def test_ensemble_budget_policies() -> None:
    seen: list[tuple[int, float | None]] = []

    def fit_member(k: int, config: TrainConfig, run_dir: Path):  # type: ignore[no-untyped-def]
        seen.append((config.seed, config.time_budget))
        from rnnkit.train import FitResult

        return torch.nn.Linear(1, 1), FitResult({}, 0, [], "early_stopping", seconds=15.0, steps=1)

    fit_ensemble(fit_member, TrainConfig(seed=5, time_budget=1.0), 2, run_dir="x", share="equal")
    assert seen == [(5, 0.5), (6, 0.5)]
    seen.clear()
    models, _ = fit_ensemble(fit_member, TrainConfig(time_budget=1.0), 2, run_dir="x", share="rest", fill_budget=True)
    # 15 s each: member 0 gets 1/2 min, member 1 what is left (3/4), then extras while a member's time is left.
    assert seen == [(0, 0.5), (1, 0.75), (2, 0.5), (3, 0.25)] and len(models) == 4


def test_summary_line_rounds_and_names_members() -> None:
    m = {
        "members": 3,
        "steps": [10, 20, 30],
        "stopped_reason": ["epochs", "time_budget", "epochs"],
        "train_seconds": 12.3456,
        "best_val": [{"val_acc": 0.912345}, {"val_acc": 0.9}, {"val_acc": 0.95}],
    }
    assert summary_line(m, "val_acc", Path("o/model")) == (
        "stopped by epochs, time_budget after 60 steps (3 members) in 12.3 s; best val_acc 0.9123, 0.9, 0.95; "
        "model saved to o/model"
    )
