"""The training loop: run directory, resume after a kill, early stopping, NaN stop, accumulation, schedules."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader
from train_toy import make_model, toy_data, toy_step

from rnnkit.train import (
    Callback,
    NonFiniteLossError,
    StepOutput,
    TrainConfig,
    Trainer,
    load_checkpoint,
    seeded_loader,
)
from rnnkit.train.schedule import LRSchedule

HERE = Path(__file__).parent
TRAIN, VAL = toy_data(64), toy_data(32, seed=1)


def states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def no_time(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("time", "validation_time")} for e in history]


class InterruptAt(Callback):
    """Simulates Ctrl-C (KeyboardInterrupt) right after optimizer step ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
        if step == self.at:
            raise KeyboardInterrupt


def test_fit_writes_the_run_directory_and_keeps_the_best_weights(tmp_path: Path) -> None:
    model = make_model()
    cfg = TrainConfig(epochs=3, quiet=True, lr=1e-2)
    trainer = Trainer(model, cfg, step=toy_step, run_dir=tmp_path, run_config={"app": "toy", "epochs": 3})
    result = trainer.fit(DataLoader(TRAIN, batch_size=16), DataLoader(VAL, batch_size=16))

    assert result.stopped_reason == "epochs" and result.steps == 12
    assert [e["step"] for e in result.history] == [4, 8, 12]
    assert json.loads((tmp_path / "config.json").read_text()) == {"app": "toy", "epochs": 3}
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == result.history
    keys = {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch", "step", "time", "validation_time"}
    assert keys <= set(lines[0])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [s.step for s in events.Scalars("val_loss")] == [4, 8, 12]
    assert len(events.Scalars("train_loss_step")) == 12
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = load_checkpoint(tmp_path / "best.ckpt")
    assert best["step"] == result.best_step
    assert result.best_metrics["val_loss"] == min(e["val_loss"] for e in result.history)
    assert all(torch.equal(best["model"][k], v) for k, v in model.state_dict().items())  # model holds the best
    last = load_checkpoint(tmp_path / "last.ckpt")
    assert (last["step"], last["epoch"], last["batch_in_epoch"]) == (12, 3, 0)


def run_toy(
    run_dir: Path | None, loader_kind: str, callbacks: tuple = (), resume: bool = False, ema: float | None = None
) -> tuple:
    """3 epochs, dropout (so RNG streams matter), grad_accum 2 with a partial last window, mid-epoch checkpoints."""
    model = make_model(dropout=0.3)
    if loader_kind == "seeded":
        loader = seeded_loader(TRAIN, batch_size=12, shuffle=True, seed=5)
    else:  # a plain DataLoader shuffled from the global torch RNG
        loader = DataLoader(TRAIN, batch_size=12, shuffle=True)
    cfg = TrainConfig(epochs=3, grad_accum=2, checkpoint_every=2, warmup_steps=2, quiet=True, seed=3, ema=ema)
    trainer = Trainer(model, cfg, step=toy_step, run_dir=run_dir, callbacks=callbacks)
    return model, trainer.fit(loader, DataLoader(VAL, batch_size=16), resume=resume)


_WHOLE: dict[str, tuple] = {}


def whole_run(tmp_path_factory: pytest.TempPathFactory, loader_kind: str) -> tuple:
    """The uninterrupted run, trained once per loader kind and shared by the resume tests."""
    if loader_kind not in _WHOLE:
        _WHOLE[loader_kind] = run_toy(tmp_path_factory.mktemp("whole"), loader_kind)
    return _WHOLE[loader_kind]


@pytest.mark.parametrize("loader_kind", ["seeded", "plain"])
def test_resume_after_interrupt_mid_epoch_is_bitwise_identical(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, loader_kind: str
) -> None:
    whole, whole_result = whole_run(tmp_path_factory, loader_kind)
    with pytest.raises(KeyboardInterrupt):  # step 5 is mid-epoch 2 (3 steps per epoch), last.ckpt is at step 4
        run_toy(tmp_path / "cut", loader_kind, callbacks=(InterruptAt(5),))
    assert load_checkpoint(tmp_path / "cut" / "last.ckpt")["batch_in_epoch"] == 2
    resumed, resumed_result = run_toy(tmp_path / "cut", loader_kind, resume=True)

    assert states_equal(whole, resumed)
    assert no_time(resumed_result.history) == no_time(whole_result.history)
    assert resumed_result.best_step == whole_result.best_step
    cut_lines = [json.loads(s) for s in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert no_time(cut_lines) == no_time(whole_result.history)


def test_resume_after_sigkill_in_another_process_is_bitwise_identical(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The child trains the same run and SIGKILLs itself right after the checkpoint at step 4 (no cleanup at all).
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}  # same kernels as this process
    child = subprocess.run(
        [sys.executable, str(HERE / "killed_run.py"), str(tmp_path / "cut"), "4"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert load_checkpoint(tmp_path / "cut" / "last.ckpt")["step"] == 4
    whole, whole_result = whole_run(tmp_path_factory, "seeded")
    resumed, resumed_result = run_toy(tmp_path / "cut", "seeded", resume=True)
    assert states_equal(whole, resumed)
    assert no_time(resumed_result.history) == no_time(whole_result.history)


def test_resume_of_a_finished_run_returns_at_once_with_the_best_weights(tmp_path: Path) -> None:
    whole, result = run_toy(tmp_path, "seeded")
    again, again_result = run_toy(tmp_path, "seeded", resume=True)
    assert states_equal(whole, again)
    assert again_result.steps == result.steps and no_time(again_result.history) == no_time(result.history)


def test_resume_with_other_settings_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def run(cfg: TrainConfig) -> None:
        Trainer(make_model(), cfg, step=toy_step, run_dir=tmp_path).fit(DataLoader(TRAIN, batch_size=32), resume=True)

    run(TrainConfig(epochs=1, quiet=True))  # no checkpoint yet: starts fresh
    caplog.clear()
    with caplog.at_level("WARNING", logger="rnnkit.train"):
        run(TrainConfig(epochs=2, lr=0.1, quiet=True))  # more epochs: fine; another lr: warned
    assert caplog.messages == [
        f"resume: {tmp_path / 'last.ckpt'} was written with other settings (--lr 0.003 -> 0.1); the result will differ"
    ]


def test_resume_without_run_dir_is_an_error() -> None:
    trainer = Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=toy_step)
    with pytest.raises(ValueError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=16), resume=True)
    assert str(err.value) == "fit(resume=True) needs the Trainer's run_dir (where last.ckpt is)"


def test_early_stopping_stops_after_patience_and_restores_the_best() -> None:
    scores = iter([0.5, 0.4, 0.45, 0.41, 0.6, 0.3])  # best at the 2nd validation, then 3 without improvement

    class Snapshot(Callback):
        weights: dict[int, dict[str, torch.Tensor]] = {}  # noqa: RUF012

        def on_validation_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
            self.weights[metrics["step"]] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    model = make_model()
    cfg = TrainConfig(epochs=50, early_stopping=3, quiet=True)
    snap = Snapshot()
    trainer = Trainer(
        model, cfg, step=toy_step, evaluate=lambda m, loader: {"val_loss": next(scores)}, callbacks=[snap]
    )
    result = trainer.fit(DataLoader(TRAIN, batch_size=32), val_loader=[None])
    assert result.stopped_reason == "early_stopping"
    assert [e["val_loss"] for e in result.history] == [0.5, 0.4, 0.45, 0.41, 0.6]
    assert result.best_step == 4 and result.best_metrics["val_loss"] == 0.4
    assert all(torch.equal(v, snap.weights[4][k]) for k, v in model.state_dict().items())


def test_early_stopping_on_a_max_metric() -> None:
    scores = iter([0.5, 0.7, 0.6, 0.6])
    cfg = TrainConfig(epochs=50, early_stopping=2, monitor="val_acc", mode="max", quiet=True)
    trainer = Trainer(make_model(), cfg, step=toy_step, evaluate=lambda m, loader: {"val_acc": next(scores)})
    result = trainer.fit(DataLoader(TRAIN, batch_size=32), val_loader=[None])
    assert result.stopped_reason == "early_stopping" and result.best_metrics["val_acc"] == 0.7


def test_unknown_monitor_is_a_clear_error() -> None:
    trainer = Trainer(make_model(), TrainConfig(epochs=1, monitor="val_f1", quiet=True), step=toy_step)
    with pytest.raises(ValueError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=32), DataLoader(VAL, batch_size=32))
    assert str(err.value) == (
        "--monitor 'val_f1' is not among the logged metrics (train_acc, train_loss, val_acc, val_loss); "
        "set --monitor to one of them"
    )


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    calls = 0

    def step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        nonlocal calls
        calls += 1
        out = toy_step(model, batch, carry)
        if calls == 6:  # the 6th batch: optimizer step 6, after the checkpoint of step 4
            out.loss = out.loss * float("nan")
        return out

    class Weights(Callback):
        at: dict[int, dict[str, torch.Tensor]] = {}  # noqa: RUF012

        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            self.at[step] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    cfg = TrainConfig(epochs=5, checkpoint_every=2, quiet=True)
    weights = Weights()
    model = make_model()
    trainer = Trainer(model, cfg, step=step, run_dir=tmp_path, callbacks=[weights])
    with pytest.raises(NonFiniteLossError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=16))
    assert isinstance(err.value, ValueError)
    assert str(err.value) == (
        f"non-finite loss (nan) at optimizer step 6 (epoch 1, batch 2); training stopped, the last good checkpoint "
        f"is {tmp_path / 'last.ckpt'} (step 4). Lower --lr or check the data."
    )
    last = load_checkpoint(tmp_path / "last.ckpt")
    assert last["step"] == 4
    assert all(torch.equal(last["model"][k], v) for k, v in weights.at[4].items())
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())  # the NaN step was never applied
    assert [p.name for p in tmp_path.glob(".*.tmp")] == []


def test_nan_before_any_checkpoint_says_so(tmp_path: Path) -> None:
    def step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        return StepOutput(loss=model(batch[0]).sum() * float("inf"), n=len(batch[0]))

    trainer = Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=step, run_dir=tmp_path)
    with pytest.raises(NonFiniteLossError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=16))
    assert str(err.value) == (
        "non-finite loss (inf) at optimizer step 1 (epoch 0, batch 1); training stopped, "
        "no checkpoint was written yet. Lower --lr or check the data."
    )
    assert not (tmp_path / "last.ckpt").exists()


def test_gradient_accumulation_matches_one_big_batch() -> None:
    # Mean loss: 2 accumulated batches of 8 (each loss / 2) give the gradient of the mean over 16. 4 epochs of
    # AdamW with clipping; float32 sums in a different order, hence a tolerance rather than equality.
    def train(batch: int, accum: int) -> torch.nn.Module:
        model = make_model()
        cfg = TrainConfig(epochs=4, grad_accum=accum, quiet=True, schedule="linear", warmup_steps=2)
        Trainer(model, cfg, step=toy_step).fit(DataLoader(TRAIN, batch_size=batch))
        return model

    big, accumulated = train(16, 1), train(8, 2)
    for (name, a), b in zip(big.state_dict().items(), accumulated.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert not states_equal(big, make_model())  # it did train


def test_partial_accumulation_window_at_epoch_end_is_rescaled() -> None:
    # 64 items, batch 16, accum 3: windows of 3 and 1 batches; the last step must see a full-size gradient.
    model = make_model()
    steps: list[int] = []

    class Count(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            steps.append(trainer.batch_in_epoch)

    Trainer(model, TrainConfig(epochs=1, grad_accum=3, quiet=True), step=toy_step, callbacks=[Count()]).fit(
        DataLoader(TRAIN, batch_size=16)
    )
    assert steps == [3, 4]


def test_warmup_then_schedule_values() -> None:
    lrs: list[float] = []

    class Record(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            lrs.append(trainer.optimizer.param_groups[0]["lr"])

    cfg = TrainConfig(epochs=2, lr=0.1, schedule="linear", warmup_steps=4, quiet=True)  # 2 x 4 = 8 steps
    Trainer(make_model(), cfg, step=toy_step, callbacks=[Record()]).fit(DataLoader(TRAIN, batch_size=16))
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.075, 0.05, 0.025])

    cosine = LRSchedule(None, "cosine", warmup_steps=2, total_steps=6)
    assert [cosine.factor(t) for t in range(6)] == pytest.approx([0.5, 1.0, 1.0, 0.853553, 0.5, 0.146447], abs=1e-6)
    wsd = LRSchedule(None, "wsd", warmup_steps=2, total_steps=12)  # 10 steps after warm-up: the last 2 decay
    assert [wsd.factor(t) for t in range(12)] == pytest.approx([0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5])
    assert wsd.factor(4, time_fraction=0.9) == pytest.approx(0.5)  # the clock's progress when it is further along
    constant = LRSchedule(None, "constant", warmup_steps=3, total_steps=6)
    assert [constant.factor(t) for t in range(5)] == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0, 1.0])
    plateau = LRSchedule(None, "plateau", warmup_steps=0, total_steps=None, mode="min", patience=2)
    factors = []
    for value in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8]:
        plateau.on_validation(value)
        factors.append(plateau.factor(10))
    assert factors == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_time_budget_stops_at_the_end_of_the_crossing_step(tmp_path: Path) -> None:
    def slow_step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        time.sleep(0.04)
        return toy_step(model, batch, carry)

    ends: list[float] = []

    class Clock(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            ends.append(trainer.seconds)

    cfg = TrainConfig(epochs=100, time_budget=0.1 / 60, quiet=True)  # 0.1 s
    result = Trainer(make_model(), cfg, step=slow_step, run_dir=tmp_path, callbacks=[Clock()]).fit(
        DataLoader(TRAIN, batch_size=8), DataLoader(VAL, batch_size=32)
    )
    assert result.stopped_reason == "time_budget"
    assert len(ends) == result.steps and ends[-1] >= 0.1 and all(t < 0.1 for t in ends[:-1])
    assert result.history[-1]["step"] == result.steps  # a final validation of the state it stopped in
    assert load_checkpoint(tmp_path / "last.ckpt")["step"] == result.steps


def test_time_budget_anneals_the_learning_rate_with_the_clock() -> None:
    """Epochs allow 400 steps but the budget ends far sooner: the lr must still decay with the time spent.

    The clock is virtual (10 ms per optimizer step), so a loaded machine cannot make one step eat the budget."""

    class VirtualClock(Trainer):
        def _seconds(self) -> float:
            return self.step * 0.01

    seen: list[tuple[float, float]] = []  # (fraction of the budget spent before the step, lr used by the step)

    class Record(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            seen.append((trainer._time_fraction or 0.0, trainer.optimizer.param_groups[0]["lr"]))

    cfg = TrainConfig(epochs=100, lr=0.1, schedule="cosine", time_budget=0.5 / 60, quiet=True)  # 0.5 s: 50 steps
    result = VirtualClock(make_model(), cfg, step=toy_step, callbacks=[Record()]).fit(DataLoader(TRAIN, batch_size=16))
    assert result.stopped_reason == "time_budget" and result.steps == 50
    lrs = [lr for _, lr in seen]
    assert lrs[0] == pytest.approx(0.1)
    assert all(b <= a for a, b in itertools.pairwise(lrs))  # monotone decay
    assert lrs[-1] < 0.01  # near zero at the end of the budget, though only a fraction of the 400 steps ran
    by_steps = LRSchedule(None, "cosine", warmup_steps=0, total_steps=400).factor(result.steps - 1) * 0.1
    assert lrs[-1] < by_steps / 5


def test_max_steps_and_callback_stop() -> None:
    result = Trainer(make_model(), TrainConfig(epochs=100, max_steps=3, quiet=True), step=toy_step).fit(
        DataLoader(TRAIN, batch_size=16)
    )
    assert (result.stopped_reason, result.steps, [e["step"] for e in result.history]) == ("max_steps", 3, [3])

    class StopAt2(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            trainer.should_stop = step == 2

    result = Trainer(make_model(), TrainConfig(epochs=100, quiet=True), step=toy_step, callbacks=[StopAt2()]).fit(
        DataLoader(TRAIN, batch_size=16)
    )
    assert (result.stopped_reason, result.steps) == ("callback", 2)


def test_carry_is_reset_each_epoch_and_detached() -> None:
    seen: list[Any] = []

    def step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        seen.append(carry)
        x, y = batch
        out, h = model.rnn(x, carry)  # h: (1, B, H), the state after this window
        loss = torch.nn.functional.cross_entropy(model.head(out[:, -1]), y)
        return StepOutput(loss=loss, n=len(y), carry=h)

    cfg = TrainConfig(epochs=2, grad_accum=2, quiet=True)
    Trainer(make_model(), cfg, step=step).fit(DataLoader(TRAIN, batch_size=16))  # 4 batches per epoch
    assert [c is None for c in seen] == [True, False, False, False] * 2
    assert all(not c.requires_grad for c in seen if c is not None)


def test_batches_of_dicts_and_bad_step_outputs() -> None:
    def dict_step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        return toy_step(model, (batch["x"], batch["y"]), carry)

    data = [{"x": TRAIN.tensors[0][:16], "y": TRAIN.tensors[1][:16], "ids": "not a tensor"}]
    assert Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=dict_step).fit(data).steps == 1

    trainer = Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=lambda m, b, c: m(b[0]).mean())
    with pytest.raises(TypeError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=16))
    assert str(err.value) == "step must return a rnnkit.train.StepOutput; got Tensor"

    trainer = Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=lambda m, b, c: StepOutput(m(b[0])))
    with pytest.raises(ValueError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=16))
    assert str(err.value) == "StepOutput.loss must be a scalar tensor (the batch mean); got (16, 2)"


def test_amp_on_cpu_trains_in_bfloat16_when_asked() -> None:
    dtypes = []

    def step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
        logits = model.head(batch[0][:, -1, :1].expand(-1, 8))
        dtypes.append(logits.dtype)
        return StepOutput(loss=torch.nn.functional.cross_entropy(logits.float(), batch[1]), n=len(batch[1]))

    Trainer(make_model(), TrainConfig(epochs=1, amp=True, quiet=True), step=step).fit(DataLoader(TRAIN, batch_size=32))
    Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=step).fit(DataLoader(TRAIN, batch_size=32))
    assert dtypes == [torch.bfloat16] * 2 + [torch.float32] * 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "--epochs must be a positive integer; got 0"),
        ({"grad_accum": 1.5}, "--grad_accum must be a positive integer; got 1.5"),
        ({"max_steps": -1}, "--max_steps must be a positive integer; got -1"),
        ({"lr": 0.0}, "--lr must be a positive number; got 0.0"),
        ({"clip_norm": 0}, "--clip_norm must be > 0 or None (no clipping); got 0"),
        ({"time_budget": -2.0}, "--time_budget must be a positive number of minutes or None; got -2.0"),
        ({"mode": "maximum"}, "--mode must be 'min' or 'max'; got 'maximum'"),
        ({"warmup_steps": -1}, "--warmup_steps must be >= 0; got -1"),
        ({"device": "tpu"}, "--device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'tpu'"),
        (
            {"schedule": "step"},
            "--schedule must be one of 'cosine', 'constant', 'linear', 'wsd', 'plateau'; got 'step'",
        ),
        ({"ema": 1.0}, "--ema must be a decay in (0, 1), e.g. 0.98, or None (off); got 1.0"),
    ],
)
def test_config_errors_name_the_flag(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        TrainConfig(**kwargs)
    assert str(err.value) == message


def test_a_learning_rate_left_to_the_application_must_be_filled_in_before_training() -> None:
    with pytest.raises(ValueError, match=r"expected --lr to be a positive number, got None; give --lr"):
        Trainer(make_model(), TrainConfig(lr=None, quiet=True), step=toy_step)  # type: ignore[arg-type]


def test_files_are_written_with_normal_permissions(tmp_path: Path) -> None:
    Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=toy_step, run_dir=tmp_path).fit(
        DataLoader(TRAIN, batch_size=32)
    )
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "last.ckpt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_empty_train_loader_is_an_error() -> None:
    trainer = Trainer(make_model(), TrainConfig(epochs=2, quiet=True), step=toy_step)
    with pytest.raises(ValueError) as err:
        trainer.fit([])
    assert str(err.value) == "the train loader yielded no batches in epoch 0; expected at least one"


def carry_step(model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput:
    """Truncated BPTT: the GRU state flows from one batch to the next (same B in every batch)."""
    x, y = batch
    out, h = model.rnn(x, carry)  # (B, T, H), (1, B, H)
    loss = torch.nn.functional.cross_entropy(model.head(model.drop(out[:, -1])), y)
    return StepOutput(loss=loss, n=len(y), carry=h)


def run_carry(run_dir: Path, callbacks: tuple = (), resume: bool = False) -> tuple:
    model = make_model(dropout=0.2)
    cfg = TrainConfig(epochs=2, checkpoint_every=3, val_every=2, quiet=True)
    trainer = Trainer(model, cfg, step=carry_step, run_dir=run_dir, callbacks=callbacks)
    train = seeded_loader(TRAIN, 8, shuffle=False, seed=0)
    return model, trainer.fit(train, DataLoader(VAL, batch_size=8), resume=resume)


def test_resume_mid_epoch_restores_the_carry(tmp_path: Path) -> None:
    whole, whole_result = run_carry(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):  # 8 steps per epoch; last.ckpt at step 3, carry of batch 3 inside
        run_carry(tmp_path / "cut", callbacks=(InterruptAt(5),))
    assert load_checkpoint(tmp_path / "cut" / "last.ckpt")["ranks"][0]["carry"].shape == (1, 8, 8)
    resumed, resumed_result = run_carry(tmp_path / "cut", resume=True)
    assert states_equal(whole, resumed)
    assert no_time(resumed_result.history) == no_time(whole_result.history)
    assert [e["step"] for e in whole_result.history] == [2, 4, 6, 8, 10, 12, 14, 16]


def test_evaluate_must_return_numbers() -> None:
    trainer = Trainer(make_model(), TrainConfig(epochs=1, quiet=True), step=toy_step, evaluate=lambda m, d: {"cm": [1]})
    with pytest.raises(TypeError) as err:
        trainer.fit(DataLoader(TRAIN, batch_size=32), [None])
    assert str(err.value) == "evaluate must return a dict of metric name -> number; got list for 'cm'"


def test_plateau_schedule_halves_the_lr_in_the_trainer() -> None:
    lrs: list[float] = []

    class Record(Callback):
        def on_validation_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
            lrs.append(trainer.optimizer.param_groups[0]["lr"])

    # early_stopping 8 -> plateau patience 8 // 4 = 2 validations without improvement
    cfg = TrainConfig(epochs=6, lr=0.1, schedule="plateau", early_stopping=8, quiet=True)
    trainer = Trainer(make_model(), cfg, step=toy_step, evaluate=lambda m, d: {"val_loss": 1.0}, callbacks=[Record()])
    trainer.fit(DataLoader(TRAIN, batch_size=64), [None])
    # the lr seen at each validation is the one used by that epoch's step; the halving applies from the next step
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])


def test_loader_without_len_trains_with_a_constant_lr_after_warmup(caplog: pytest.LogCaptureFixture) -> None:
    class Stream:
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(DataLoader(TRAIN, batch_size=16))

    lrs: list[float] = []

    class Record(Callback):
        def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
            lrs.append(trainer.optimizer.param_groups[0]["lr"])

    cfg = TrainConfig(epochs=2, lr=0.1, warmup_steps=2, quiet=True)
    result = Trainer(make_model(), cfg, step=toy_step, callbacks=[Record()]).fit(Stream())
    assert result.steps == 8 and lrs == pytest.approx([0.05] + [0.1] * 7)
    assert "the train loader has no len() and --max_steps is None; lr stays constant" in caplog.text


class RecordWeights(Callback):
    """The raw weights after every optimizer step, in float64."""

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_step_end(self, trainer: Trainer, step: int, output: StepOutput) -> None:
        self.weights.append({k: v.detach().double().clone() for k, v in trainer.model.named_parameters()})


def ema_oracle(weights: list[dict[str, torch.Tensor]], decay: float) -> dict[str, torch.Tensor]:
    """sum_i (1 - d) d^(t-i) w_i / (1 - d^t) over steps i = 1..t, written out in float64."""
    t = len(weights)
    return {
        k: sum((1 - decay) * decay ** (t - i) * w[k] for i, w in enumerate(weights, 1)) / (1 - decay**t)
        for k in weights[0]
    }


@pytest.mark.parametrize("decay", [0.5, 0.9])
def test_ema_validates_keeps_and_returns_the_bias_corrected_average(decay: float) -> None:
    record = RecordWeights()
    model = make_model()
    cfg = TrainConfig(epochs=4, lr=3e-2, ema=decay, early_stopping=None, quiet=True)
    evaluated: list[dict[str, torch.Tensor]] = []

    def evaluate(m: torch.nn.Module, loader: Any) -> dict[str, float]:
        evaluated.append({k: v.detach().double().clone() for k, v in m.named_parameters()})
        x, y = VAL.tensors
        return {"val_loss": float(torch.nn.functional.cross_entropy(m(x), y))}

    trainer = Trainer(model, cfg, step=toy_step, evaluate=evaluate, callbacks=(record,))
    result = trainer.fit(DataLoader(TRAIN, batch_size=16), DataLoader(VAL, batch_size=32))
    assert [e["step"] for e in result.history] == [4, 8, 12, 16]
    for got, step in zip(evaluated, (4, 8, 12, 16)):  # validation saw the average of the steps so far
        want = ema_oracle(record.weights[:step], decay)
        assert all(torch.allclose(got[k], want[k], rtol=0, atol=1e-6) for k in want)
    best = ema_oracle(record.weights[: result.best_step], decay)  # the model ends with the best average
    assert all(torch.allclose(p.double(), best[k], rtol=0, atol=1e-6) for k, p in model.named_parameters())
    raw = record.weights[-1]
    assert any(not torch.allclose(raw[k], best[k], atol=1e-4) for k in raw)  # the average is not the raw weights

    # Without validation the model ends with the average at the last step.
    record, model = RecordWeights(), make_model()
    Trainer(model, cfg, step=toy_step, callbacks=(record,)).fit(DataLoader(TRAIN, batch_size=16))
    last = ema_oracle(record.weights, decay)
    assert all(torch.allclose(p.double(), last[k], rtol=0, atol=1e-6) for k, p in model.named_parameters())


def test_resume_with_ema_is_bitwise_identical(tmp_path: Path) -> None:
    whole, whole_result = run_toy(tmp_path / "whole", "seeded", ema=0.8)
    with pytest.raises(KeyboardInterrupt):
        run_toy(tmp_path / "cut", "seeded", callbacks=(InterruptAt(5),), ema=0.8)
    resumed, resumed_result = run_toy(tmp_path / "cut", "seeded", resume=True, ema=0.8)
    assert states_equal(whole, resumed)
    assert no_time(resumed_result.history) == no_time(whole_result.history)
    plain, _ = run_toy(tmp_path / "plain", "seeded")
    assert not states_equal(whole, plain)
    with pytest.raises(ValueError, match="written without --ema"):
        run_toy(tmp_path / "plain", "seeded", resume=True, ema=0.8)


def test_callbacks_see_each_epoch_end_numbered_from_zero() -> None:
    ends: list[int] = []

    class Record(Callback):
        def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
            ends.append(epoch)

    trainer = Trainer(make_model(), TrainConfig(epochs=3, quiet=True), step=toy_step, callbacks=[Record()])
    trainer.fit(DataLoader(TRAIN, batch_size=16))
    assert ends == [0, 1, 2]
