"""The training loop: AdamW, warm-up + schedule, gradient clipping and accumulation, bf16 autocast, validation with
early stopping, truncated BPTT carry, checkpoints that resume bit for bit, NaN stop, and data parallelism under
torchrun with ``torch.nn.parallel.DistributedDataParallel`` (each rank trains on its shard; DDP averages the
gradients over ranks during backward).

Resuming mid-epoch: a checkpoint records the epoch, how many batches of it were consumed, and the RNG state both
now and at the start of the epoch. On resume the trainer restores the epoch-start RNG state, builds the epoch's
iterator (so a loader shuffled from the global RNG draws the same order; :func:`seeded_loader` depends only on
(seed, epoch) anyway), skips the consumed batches (they are loaded again, not trained on), then restores the
current RNG state. Checkpoints are written only at optimizer-step boundaries, so no half-accumulated gradient
is ever lost.

DDP only synchronises a backward that follows a forward through its wrapper, and application steps call any
model method (``model.loss(batch)``). So, as PyTorch Lightning does, the wrapped module is
:class:`~rnnkit.train.distributed.StepModule`, whose ``forward(batch, carry)`` runs ``step(model, batch, carry)``:
whatever the step computes with the model's parameters is all-reduced by DDP. With ``--grad_accum`` the micro-batches
before the last of a window run under ``no_sync()`` (gradients accumulate locally; the last backward all-reduces the
sum). Validation, checkpoints and model files use the unwrapped model, so state_dict keys have no ``module.`` prefix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from rnnkit.train.callbacks import Callback
from rnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.train.config import FitResult, StepOutput, TrainConfig
from rnnkit.train.distributed import (
    all_reduce,
    barrier,
    data_parallel,
    init_distributed,
    rank,
    resolve_device,
    set_epoch,
    world_size,
)
from rnnkit.train.ema import WeightAverage
from rnnkit.train.evaluation import BestTracker, accumulate, check_output, numbers, reduce_means, step_sums
from rnnkit.train.guards import check_synced, raise_nonfinite
from rnnkit.train.interrupt import stop_requested
from rnnkit.train.resume import checkpoint_state, rank_state, restore
from rnnkit.train.runlog import RunLog
from rnnkit.train.schedule import LRSchedule, param_groups
from rnnkit.train.seeding import rng_state, seed_everything, set_rng_state
from rnnkit.train.tensors import detach, to_device

log = logging.getLogger(__name__)

StepFn = Callable[[nn.Module, Any, Any], StepOutput]
EvaluateFn = Callable[[nn.Module, Iterable], dict[str, float]]


class Trainer:
    """Train any ``nn.Module`` with a step function ``step(model, batch, carry) -> StepOutput``.

    ``evaluate(model, val_loader) -> {"val_loss": ..., ...}`` runs in eval mode without gradients; without it the
    trainer averages ``step``'s loss and metrics over ``val_loader`` as ``val_loss`` / ``val_<metric>``.

    Under torchrun every rank runs the same loop on its shard of the data (see :func:`seeded_loader`); the trainer
    calls ``step`` as the forward of a ``DistributedDataParallel``-wrapped module, so DDP averages the gradients of
    whatever the step computes (``step`` may call any method of the model; every trainable parameter must get a
    gradient in each step, as DDP's default ``find_unused_parameters=False`` requires). Metrics are all-reduced:
    train means and the default evaluate's are exact (sums of value*n and n); a custom ``evaluate``'s values are
    averaged over ranks, weighted by its optional ``"n"`` entry (item count).

    >>> import torch
    >>> from torch import nn
    >>> data = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(4)]
    >>> def step(model, batch, carry):
    ...     x, y = batch
    ...     return StepOutput(loss=nn.functional.mse_loss(model(x), y), n=len(x))
    >>> trainer = Trainer(nn.Linear(3, 1), TrainConfig(epochs=2, quiet=True), step=step)
    >>> result = trainer.fit(data, val_loader=data[:1])
    >>> result.stopped_reason, result.steps, sorted(result.best_metrics)
    ('epochs', 8, ['epoch', 'lr', 'step', 'time', 'train_loss', 'val_loss', 'validation_time'])
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        *,
        step: StepFn,
        evaluate: EvaluateFn | None = None,
        run_dir: str | Path | None = None,
        run_config: dict[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a rnnkit.train.TrainConfig; got {type(config).__name__}")
        if not callable(step):
            raise TypeError(f"step must be a callable (model, batch, carry) -> StepOutput; got {type(step).__name__}")
        self.config = config
        self.device = resolve_device(config.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.distributed = init_distributed(self.device)
        self.rank, self.world_size = rank(), world_size()
        self.is_main = self.rank == 0
        self.model = model.to(self.device)
        # What training batches go through: step(model, batch, carry) as a module's forward, in DDP under torchrun
        # (DDP copies rank 0's weights to every rank here). Evaluation and checkpoints use self.model itself.
        self._train_module = data_parallel(self.model, step, self.device)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        # The fused kernel (one call for every tensor) where torch has it: 5x faster steps for small models on CPU.
        fused = self.device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in self._params)
        if config.lr is None:  # an application that leaves --lr to be chosen fills it in before it gets here
            raise ValueError("expected --lr to be a positive number, got None; give --lr")
        self.optimizer = torch.optim.AdamW(
            param_groups(self._params),
            lr=config.lr,
            weight_decay=config.weight_decay,
            eps=config.adam_eps,
            fused=fused or None,
        )
        self.step_fn = step
        self.evaluate_fn = evaluate
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.run_config = run_config
        self.callbacks = list(callbacks)
        self.should_stop = False
        self.lr = config.lr  # the learning rate of the last optimizer step
        self.amp = self._amp_supported()
        self.runlog = RunLog(self.run_dir if self.is_main else None, config.monitor)
        self.schedule = LRSchedule(self.optimizer, config.schedule, config.warmup_steps, None, config.mode)
        self._reset_state()

    # ----------------------------------------------------------------------------------------------- setup
    def _amp_supported(self) -> bool:
        if not self.config.amp:
            return False
        if self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            log.warning("--amp: this GPU has no bf16 support; training in float32")
            return False
        return self.device.type in ("cuda", "cpu")

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _reset_state(self) -> None:
        self.step = 0  # optimizer steps done
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # batches of the current epoch consumed
        self.carry: Any = None
        self.history: list[dict[str, Any]] = []
        self.tracker = BestTracker(self.config.monitor, self.config.mode, self.config.early_stopping)
        self.last_val_step = -1
        self.last_checkpoint: Path | None = None
        self._checkpoint_step = -1
        self._epoch_rng: dict[str, Any] | None = None
        self._seconds0 = 0.0
        self._t0 = time.perf_counter()
        self._sums: dict[str, float] = {}
        self._synced = True  # whether the last backward all-reduced (under DDP; always True in one process)
        self._time_fraction: float | None = None  # of --time_budget spent, as of the last stop check
        self._val_seconds = 0.0  # of the training time, spent validating (summed over resumed segments)
        self._ema = WeightAverage(self._params, self.config.ema) if self.config.ema else None  # --ema

    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / "last.ckpt" if self.run_dir is not None else None

    def _seconds(self) -> float:
        return self._seconds0 + time.perf_counter() - self._t0

    @property
    def seconds(self) -> float:
        """Training time so far, summed over resumed segments (what --time_budget is compared with)."""
        return self._seconds()

    # ------------------------------------------------------------------------------------------------- fit
    def fit(
        self, train_loader: Iterable, val_loader: Iterable | None = None, *, resume: bool | None = None
    ) -> FitResult:
        """Train until --epochs, --max_steps, --time_budget, early stopping, a callback or Ctrl-C stops it.

        With ``resume=True`` (default: the config's --resume) it continues from ``run_dir/last.ckpt`` (or starts
        fresh, with a warning, if there is none yet). At the end the model holds the best weights by --monitor when
        validation ran, else the last. Inside :func:`~rnnkit.train.interrupt.graceful_interrupts` a Ctrl-C/SIGTERM
        stops at the next step boundary with ``stopped_reason == "interrupted"``, after writing last.ckpt.
        """
        cfg = self.config
        self._begin(train_loader, val_loader, cfg.resume if resume is None else resume)
        bar = self._progress_bar()
        try:
            reason = self._stop_reason()
            while reason is None:
                if self.epoch >= cfg.epochs:
                    reason = "epochs"
                    break
                reason = self._run_epoch(train_loader, bar)
            bar.close()
            self._finish(reason)
        finally:
            bar.close()
            self.runlog.close()
        result = self._result(reason)
        log.debug("training stopped (%s) after %d steps, %.1f s", reason, self.step, result.seconds)
        for cb in self.callbacks:
            cb.on_fit_end(self, result)
        return result

    def _begin(self, train_loader: Iterable, val_loader: Iterable | None, resume: bool) -> None:
        """Fresh state, or the checkpoint's with ``resume``; seeds a fresh run; the run directory's config/log."""
        cfg = self.config
        self._t0 = time.perf_counter()  # reset again just before the first step
        self._reset_state()
        self._val_loader = val_loader
        self._batches_per_epoch = _length(train_loader)
        self.schedule.total_steps = self._total_steps()
        self.schedule.patience = max(1, cfg.early_stopping // 4) if cfg.early_stopping else 5
        restored = False
        if resume:
            if self.checkpoint_path is None:
                raise ValueError("fit(resume=True) needs the Trainer's run_dir (where last.ckpt is)")
            if self.checkpoint_path.is_file():
                restore(self, load_checkpoint(self.checkpoint_path, map_location="cpu"))
                restored = True
            else:
                log.warning("resume: no checkpoint at %s yet; starting from scratch", self.checkpoint_path)
        if not restored:
            seed_everything(cfg.seed + self.rank)
        self.runlog.write_config(self.run_config if self.run_config is not None else dataclasses.asdict(cfg))
        self.runlog.restart(self.history)
        self._val_seconds = float(self.history[-1].get("validation_time", 0.0)) if self.history else 0.0
        self.model.train()
        for cb in self.callbacks:
            cb.on_fit_start(self)
        self._last_plot = self._t0 = time.perf_counter()

    def _progress_bar(self) -> Any:
        """A live bar on rank 0 when --progress asks for it (by default: only when stderr is a terminal)."""
        from tqdm.auto import tqdm

        return tqdm(
            total=self.schedule.total_steps,
            initial=self.step,
            desc="train",
            unit="step",
            disable=not (self.is_main and self.config.show_progress()),
            dynamic_ncols=True,
        )

    def _finish(self, reason: str) -> None:
        """The final event and checkpoint; the model gets the best weights (or the final --ema average)."""
        if reason != "interrupted" and self.step > 0 and self.last_val_step != self.step:
            self._log_event()  # the final state gets a validation (or a train-only event)
        if self.run_dir is not None and (self.last_checkpoint is None or self._checkpoint_step != self.step):
            self._checkpoint()
        if self.tracker.weights is not None:
            self.model.load_state_dict(self.tracker.weights)
        elif self._ema is not None and self.step > 0:  # no validation: the final average
            with self.averaged_weights():
                final = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(final)
        self.runlog.plot(self.history)

    def _result(self, reason: str) -> FitResult:
        last = self.history[-1] if self.history else {}
        best = self.tracker.event
        return FitResult(
            best_metrics=dict(best if best is not None else last),
            best_step=self.tracker.step if best is not None else self.step,
            history=list(self.history),
            stopped_reason=reason,
            seconds=self._seconds(),
            steps=self.step,
        )

    def _total_steps(self) -> int | None:
        cfg = self.config
        total = None
        if self._batches_per_epoch is not None:
            total = cfg.epochs * math.ceil(self._batches_per_epoch / cfg.grad_accum)
        if cfg.max_steps is not None:
            total = cfg.max_steps if total is None else min(total, cfg.max_steps)
        if total is None and cfg.schedule in ("cosine", "linear", "wsd"):
            log.warning(
                "--schedule %s: the train loader has no len() and --max_steps is None; lr stays constant", cfg.schedule
            )
        return total

    def _stop_reason(self) -> str | None:
        cfg = self.config
        flags = torch.tensor([float(self.should_stop), self._seconds(), float(stop_requested())], dtype=torch.float64)
        if self.distributed:  # every rank must stop at the same step, and anneal the same learning rate
            flags = all_reduce(flags.to(self.device), "max").cpu()
        if cfg.time_budget is not None:
            self._time_fraction = min(1.0, float(flags[1]) / (cfg.time_budget * 60))
        if flags[2]:  # Ctrl-C/SIGTERM on any rank; checked first, so a resumed run continues from here
            return "interrupted"
        if cfg.max_steps is not None and self.step >= cfg.max_steps:
            return "max_steps"
        if self.tracker.stopped:
            return "early_stopping"
        if self._time_fraction is not None and self._time_fraction >= 1.0:
            return "time_budget"
        if flags[0]:
            return "callback"
        return None

    # ---------------------------------------------------------------------------------------------- epochs
    def _epoch_iterator(self, loader: Iterable) -> Iterator:
        set_epoch(loader, self.epoch)
        if self.batch_in_epoch == 0:
            self._epoch_rng = rng_state()
            self.carry = None
            return iter(loader)
        # Resumed mid-epoch: replay the epoch's start so its order is the same, skip what was done.
        now = rng_state()
        if self._epoch_rng is not None:
            set_rng_state(self._epoch_rng)
        it = iter(loader)
        for _ in range(self.batch_in_epoch):
            next(it, None)
        set_rng_state(now)
        return it

    def _run_epoch(self, loader: Iterable, bar: Any) -> str | None:
        cfg = self.config
        it = self._epoch_iterator(loader)
        window = 0  # batches accumulated towards the next optimizer step
        out: StepOutput | None = None
        nonfinite: str | None = None
        for batch in it:
            self.batch_in_epoch += 1
            # All-reduce only on a window's last micro-batch; without len(loader) the epoch's last is unknown, so
            # every micro-batch syncs (same result: all-reducing the accumulated grad again adds the new mean).
            ends_window = window + 1 == cfg.grad_accum or self.batch_in_epoch == self._batches_per_epoch
            out, bad = self._forward_backward(batch, sync=ends_window or self._batches_per_epoch is None)
            nonfinite = nonfinite or bad
            window += 1
            if window == cfg.grad_accum:
                window = 0
                reason = self._after_window(cfg.grad_accum, out, nonfinite, bar)
                nonfinite = None
                if reason is not None:
                    return reason
        if out is None and self.batch_in_epoch == 0:
            raise ValueError(f"the train loader yielded no batches in epoch {self.epoch}; expected at least one")
        if window and out is not None:  # the epoch's last, partial window
            reason = self._after_window(window, out, nonfinite, bar)
            if reason is not None:
                return reason
        self.epoch += 1
        self.batch_in_epoch = 0
        self.carry = None
        if cfg.val_every is None:
            self._log_event()
        for cb in self.callbacks:
            cb.on_epoch_end(self, self.epoch - 1)
        if cfg.checkpoint_every is None and (cfg.val_every is None or self._val_loader is None):
            self._checkpoint()
        return self._stop_reason()

    def _after_window(self, window: int, out: StepOutput, nonfinite: str | None, bar: Any) -> str | None:
        cfg = self.config
        loss = self._optimizer_step(window, nonfinite)
        bar.update(1)
        if self.is_main and not cfg.quiet:
            postfix = {"loss": f"{loss:.4g}"}
            if self.tracker.best is not None:
                postfix[f"best {cfg.monitor}"] = f"{self.tracker.best:.4g}"
            bar.set_postfix(postfix, refresh=False)
        self.runlog.scalar("train_loss_step", loss, self.step)
        if cfg.val_every is not None and self.step % cfg.val_every == 0:
            self._log_event()
            if cfg.checkpoint_every is None:
                self._checkpoint()
        if cfg.checkpoint_every is not None and self.step % cfg.checkpoint_every == 0:
            self._checkpoint()
        for cb in self.callbacks:
            cb.on_step_end(self, self.step, out)
        return self._stop_reason()

    # ----------------------------------------------------------------------------------------------- steps
    def _forward_backward(self, batch: Any, sync: bool) -> tuple[StepOutput, str | None]:
        batch = to_device(batch, self.device)
        module = self._train_module
        ddp = module if isinstance(module, nn.parallel.DistributedDataParallel) else None
        with ddp.no_sync() if ddp is not None and not sync else contextlib.nullcontext():
            with self._autocast():
                out = module(batch, self.carry)  # = step(model, batch, carry), through DDP under torchrun
            loss = check_output(out)
            (loss / self.config.grad_accum if self.config.grad_accum > 1 else loss).backward()
        self._synced = ddp is None or sync
        # Detach after every backward: the next batch's graph must stop here (the previous one is freed).
        self.carry = detach(out.carry)
        value = float(loss.detach())
        accumulate(self._sums, value, out)
        return out, (None if math.isfinite(value) else f"non-finite loss ({value})")

    def _optimizer_step(self, window: int, nonfinite: str | None) -> float:
        cfg = self.config
        flag = torch.tensor([float(nonfinite is not None)])
        if self.distributed:
            flag = all_reduce(flag.to(self.device), "max").cpu()
        if flag[0]:
            raise_nonfinite(self, nonfinite or "non-finite loss on another rank")
        if self.distributed:
            check_synced(self)
        if window < cfg.grad_accum:  # partial window: the loss was divided by grad_accum, not by window
            for p in self._params:
                if p.grad is not None:
                    p.grad.mul_(cfg.grad_accum / window)
        self.lr = self.schedule.set_lr(self.step, self._time_fraction)
        if cfg.clip_norm is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(self._params, cfg.clip_norm))
            if not math.isfinite(norm):
                raise_nonfinite(self, f"non-finite gradient norm ({norm})")
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        if self._ema is not None:
            self._ema.update()
        return self._sums.get("train_loss", 0.0) / max(self._sums.get("n", 1.0), 1e-12)

    # ------------------------------------------------------------------------------------------ validation
    def averaged_weights(self) -> contextlib.AbstractContextManager:
        """Within the block the model holds the --ema average of its weights (the raw ones without --ema or before
        the first step); the raw weights come back after it."""
        return self._ema.applied(self.step) if self._ema is not None else contextlib.nullcontext()

    def _log_event(self) -> None:
        """One history/metrics.jsonl event: train means since the last event, plus a validation if possible."""
        event: dict[str, Any] = {
            "step": self.step,
            "epoch": self.epoch,
            "lr": self.lr,
        }
        event.update(self._train_means())
        with self.averaged_weights():  # validated and kept as the best: the average under --ema
            if self._val_loader is not None:
                start = time.perf_counter()
                event.update(self.validate(self._val_loader))
                self._val_seconds += time.perf_counter() - start
            event["time"] = round(self._seconds(), 3)
            event["validation_time"] = round(self._val_seconds, 3)
            self.history.append(event)
            self.runlog.event(event)
            self.last_val_step = self.step
            if self._val_loader is not None:
                self._track_best(event)
            for cb in self.callbacks:
                cb.on_validation_end(self, event)
        if self.is_main and time.perf_counter() - self._last_plot > 60:
            self.runlog.plot(self.history)
            self._last_plot = time.perf_counter()

    def _train_means(self) -> dict[str, float]:
        sums, self._sums = self._sums, {}
        return reduce_means(sums, self.device, self.distributed)

    @torch.no_grad()
    def validate(self, loader: Iterable) -> dict[str, float]:
        """Run ``evaluate`` (or the default: ``step``'s loss and metrics averaged over ``loader``) in eval mode."""
        self.model.eval()
        try:
            with self._autocast():
                if self.evaluate_fn is not None:
                    metrics = numbers(self.evaluate_fn(self.model, loader))
                    weight = metrics.get("n", 1.0)  # optional: how many items this rank's values average over
                    sums = {k: v * weight for k, v in metrics.items() if k != "n"}
                    sums["n"] = weight
                else:
                    sums = step_sums(self.step_fn, self.model, loader, self.device)
        finally:
            self.model.train()
        return reduce_means(sums, self.device, self.distributed)  # each rank saw its shard

    def _track_best(self, event: dict[str, Any]) -> None:
        if self.tracker.update(event, self.step, self.model) and self.is_main and self.run_dir is not None:
            best = {"model": self.tracker.weights, "step": self.step, "metrics": dict(event)}
            save_checkpoint(best, self.run_dir / "best.ckpt")
        self.schedule.on_validation(float(event[self.config.monitor]))

    # ----------------------------------------------------------------------------------------- checkpoints
    def _checkpoint(self) -> None:
        """Write run_dir/last.ckpt (rank 0), with every rank's RNG state and carry; barrier so all agree."""
        if self.run_dir is None:
            return
        ranks = [rank_state(self)]
        if self.distributed:
            gathered: list[Any] = [None] * self.world_size
            dist.all_gather_object(gathered, ranks[0])
            ranks = gathered
        path = self.run_dir / "last.ckpt"
        if self.is_main:
            save_checkpoint(checkpoint_state(self, ranks), path)
        barrier()
        self.last_checkpoint, self._checkpoint_step = path, self.step
        for cb in self.callbacks:
            cb.on_checkpoint(self, path if self.is_main else None)


def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None
