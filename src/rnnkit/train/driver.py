"""One driver for every training command: the run folder, seeding, config.json, fit, the best model saved on rank 0,
metrics.json, a short summary for people, and Ctrl-C/SIGTERM that lose nothing. Plus one helper for seed ensembles
under a shared ``--time_budget``.

An application writes its command's config as a subclass of :class:`~rnnkit.train.TrainConfig` and a ``fit``
function that builds the model and trains it with the :class:`~rnnkit.train.Trainer` in ``run.run_dir(k)``::

    @dataclass
    class TrainArgs(TrainConfig):
        hidden_size: int = 64
        \"\"\"Hidden units.\"\"\"
        out: str = "runs/myapp"        # an engine field re-declared only to change its default: no docstring
        epochs: int = 30

    def train(args: TrainArgs) -> dict:
        data = load(...)                                         # before the driver: a bad file fails fast
        return run_training(args, lambda run: fit(run, data), command="myapp train",
                            evaluate=lambda model: {"test_acc": ...},
                            headline=lambda m: f"test acc {m['test_acc']:.3f}")

Runnable, with a tiny model (``fit`` gets a :class:`Run` and returns a :class:`Fitted`):

>>> import tempfile, torch
>>> from torch import nn
>>> from rnnkit.train import StepOutput, TrainConfig, Trainer
>>> from rnnkit.train.modelfile import SavableModel, register_model
>>> @register_model("doc.driver_linear")
... class Linear(SavableModel, nn.Linear):
...     def model_config(self): return {"in_features": 3, "out_features": 1}
...     @classmethod
...     def from_model_config(cls, config): return cls(**config)
>>> data = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(4)]
>>> def step(model, batch, carry):
...     x, y = batch
...     return StepOutput(loss=nn.functional.mse_loss(model(x), y), n=len(x))
>>> def fit_member(k, config, run_dir):                      # one seed of the ensemble
...     model = Linear(3, 1)                                  # the driver/ensemble seeded torch with config.seed
...     return model, Trainer(model, config, step=step, run_dir=run_dir).fit(data, data[:1])
>>> def fit(run):
...     models, results = fit_ensemble(fit_member, run.config, members=2, run_dir=run.out)
...     return Fitted(model=models[0], results=results, metrics={"members": len(models)})
>>> out = tempfile.mkdtemp() + "/run"
>>> metrics = run_training(TrainConfig(out=out, epochs=2, quiet=True), fit, command="doc train")
>>> metrics["members"], metrics["steps"], metrics["stopped_reason"], sorted(p.name for p in Path(out).iterdir())
(2, [8, 8], ['epochs', 'epochs'], ['config.json', 'member0', 'member1', 'metrics.json', 'model'])
>>> run_training(TrainConfig(out=out, epochs=2, quiet=True), fit, command="doc train")
Traceback (most recent call last):
...
ValueError: --out .../run holds a finished run (metrics.json); continue it with --resume or choose another --out

Interrupts: inside :func:`run_training` the first Ctrl-C or SIGTERM makes the trainer stop at the next optimizer
step and write last.ckpt; the driver then saves the best weights so far to OUT/model, writes metrics.json with
``"interrupted": true`` and raises :class:`TrainingInterrupted` (the CLI prints its one line and exits 130).
``--resume`` continues every member from its checkpoint to the result of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from rnnkit.train.config import FitResult, TrainConfig
from rnnkit.train.distributed import is_main_process
from rnnkit.train.interrupt import graceful_interrupts
from rnnkit.train.runlog import write_json
from rnnkit.train.seeding import seed_everything

log = logging.getLogger(__name__)

# Files that make a folder hold a run: finished (metrics.json) or interrupted (a checkpoint, maybe in member<k>/).
_FINISHED = "metrics.json"
_CHECKPOINT = "last.ckpt"


class TrainingInterrupted(Exception):
    """Ctrl-C/SIGTERM stopped training; the best weights so far are in ``model_dir``. ``str()`` is the one line
    the CLI prints before exiting with 130."""

    def __init__(self, step: int, model_dir: Path) -> None:
        self.step, self.model_dir = step, model_dir
        super().__init__(f"interrupted at step {step}; best model saved to {model_dir}; continue with --resume")


@dataclass
class Run:
    """What the driver hands an application's ``fit``: the resolved config and the prepared run folder."""

    config: TrainConfig
    out: Path
    resolved: dict[str, Any] = field(default_factory=dict)
    """``{"command": ..., **config}``: what OUT/config.json holds; pass it as the Trainer's ``run_config``."""

    def run_dir(self, member: int = 0, members: int = 1) -> Path:
        """The trainer's folder for ensemble member ``member``: OUT itself for one model, else OUT/member<k>."""
        return member_dir(self.out, member, members)


@dataclass
class Fitted:
    """What an application's ``fit`` returns to the driver."""

    model: nn.Module
    """The trained model (best weights), saved to OUT/model on rank 0 (it needs ``.save(dir)``)."""
    results: list[FitResult]
    """The engine's result per ensemble member (one for a single model)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """The application's own figures for metrics.json (parameters, classes, ...)."""


def member_dir(out: Path, member: int, members: int) -> Path:
    """OUT for a single model, OUT/member<k> for ensemble member k."""
    return out if members == 1 else out / f"member{member}"


def prepare_run_dir(out: str | Path, resume: bool) -> Path:
    """Check the run folder before anything is trained: never overwrite a run silently.

    A folder holding a finished run (metrics.json) or an interrupted one (last.ckpt) is refused unless ``resume``;
    ``resume`` with no checkpoint in it is refused too. Errors are one-line ``ValueError``s naming --out.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} is a file; expected a folder for the run (model/, metrics.json, ...)")
    checkpoints = sorted(path.glob(f"**/{_CHECKPOINT}")) if path.is_dir() else []
    if resume:
        if not checkpoints:
            raise ValueError(
                f"--resume: no checkpoint to continue from in {path} (expected {path / _CHECKPOINT}); "
                "run without --resume to start"
            )
        return path
    finished = path / _FINISHED
    if finished.is_file() and not (checkpoints and _was_interrupted(finished)):
        what = f"a finished run ({_FINISHED})"
    elif checkpoints:
        what = f"an interrupted run ({checkpoints[0].relative_to(path)})"
    else:
        return path
    raise ValueError(f"--out {path} holds {what}; continue it with --resume or choose another --out")


def _was_interrupted(metrics: Path) -> bool:
    try:
        return bool(json.loads(metrics.read_text(encoding="utf-8")).get("interrupted"))
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then restore the previous value (None: no change).

    >>> before = torch.get_num_threads()
    >>> with cpu_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_training(
    config: TrainConfig,
    fit: Callable[[Run], Fitted],
    *,
    command: str,
    evaluate: Callable[[nn.Module], dict[str, Any]] | None = None,
    headline: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """Train one run of an application and return its metrics (also written to OUT/metrics.json).

    Order: check --out (:func:`prepare_run_dir`), seed (``config.seed``) and set ``config.threads``, write
    OUT/config.json (``{"command": command, **config}``), ``fit(run)`` under :func:`graceful_interrupts`, save
    ``fitted.model`` to OUT/model (rank 0), ``evaluate(model)`` (e.g. test-set figures; skipped when interrupted),
    write OUT/metrics.json, print the summary (unless --quiet). ``headline(metrics)`` adds the application's
    figures to the summary line (e.g. ``"test accuracy 0.91"``).
    """
    start = time.perf_counter()
    out = prepare_run_dir(config.out, config.resume)
    main = is_main_process()
    resolved = {"command": command, **dataclasses.asdict(config)}
    with cpu_threads(config.threads), graceful_interrupts():
        seed_everything(config.seed)
        if main:
            write_json(out / "config.json", resolved)
        fitted = fit(Run(config=config, out=out, resolved=resolved))
        if main:  # again: a trainer running in OUT itself may have written its own
            write_json(out / "config.json", resolved)
        interrupted = any(r.stopped_reason == "interrupted" for r in fitted.results)
        model_dir = out / "model"
        if main:
            fitted.model.save(model_dir)  # type: ignore[operator]
        metrics = summarize(fitted.results)
        metrics.update(fitted.metrics)
        if interrupted:
            metrics["interrupted"] = True
        elif evaluate is not None:
            metrics.update(evaluate(fitted.model))
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    if main:
        write_json(out / _FINISHED, metrics)
    if interrupted:
        steps = [r.steps for r in fitted.results if r.stopped_reason == "interrupted"]
        raise TrainingInterrupted(steps[0], model_dir)
    if main and not config.quiet:
        print(summary_line(metrics, config.monitor, model_dir, headline(metrics) if headline else None))
    return metrics


def summarize(results: list[FitResult]) -> dict[str, Any]:
    """The engine's figures of a run for metrics.json (full precision; lists with one entry per member)."""
    return {
        "members": len(results),
        "steps": [r.steps for r in results],
        "stopped_reason": [r.stopped_reason for r in results],
        "train_seconds": sum(r.seconds for r in results),
        "val_seconds": sum(float(r.history[-1].get("validation_time", 0.0)) if r.history else 0.0 for r in results),
        "best_step": [r.best_step for r in results],
        "best_val": [{k: v for k, v in r.best_metrics.items() if k.startswith("val_")} for r in results],
        "final_train_loss": [r.history[-1].get("train_loss") if r.history else None for r in results],
    }


def summary_line(metrics: dict[str, Any], monitor: str, model_dir: Path, extra: str | None = None) -> str:
    """One line for people: why it stopped, steps, time, best validation figure (rounded), where the model is.

    >>> m = {"members": 1, "steps": [1700], "stopped_reason": ["early_stopping"], "train_seconds": 83.25,
    ...      "best_val": [{"val_loss": 0.123456789}]}
    >>> print(summary_line(m, "val_loss", Path("runs/x/model"), "test accuracy 0.912"))
    stopped by early_stopping after 1700 steps in 83.2 s; best val_loss 0.1235; test accuracy 0.912; model saved to
    runs/x/model

    Members fitted without steps (``stopped_reason`` "closed_form", e.g. a ridge readout) are counted apart:

    >>> m = {"members": 3, "steps": [0, 0, 0], "stopped_reason": ["closed_form"] * 3, "train_seconds": 1.5}
    >>> print(summary_line(m, "val_loss", Path("m")))
    fitted in closed form (3 members) in 1.5 s; model saved to m
    """
    closed = metrics["stopped_reason"].count("closed_form")
    reasons = sorted(set(metrics["stopped_reason"]) - {"closed_form"})
    members = metrics["members"]
    steps = sum(metrics["steps"])
    head = f"stopped by {', '.join(reasons)} after {steps} steps" if reasons else "fitted in closed form"
    if reasons and closed:
        head += f", {closed} more fitted in closed form"
    parts = [
        head
        + (f" ({members} members)" if members > 1 else "")
        + f" in {metrics['train_seconds']:.1f} s"
        + (f" ({metrics['val_seconds']:.1f} s of it validating)" if metrics.get("val_seconds") else "")
    ]
    best = [b[monitor] for b in metrics.get("best_val", []) if monitor in b]
    if best:
        shown = ", ".join(f"{v:.4g}" for v in best)
        parts.append(f"best {monitor} {shown}")
    if extra:
        parts.append(extra)
    parts.append(f"model saved to {model_dir}")
    return "; ".join(parts)


def fit_ensemble(
    fit_member: Callable[[int, TrainConfig, Path], tuple[nn.Module, FitResult]],
    config: TrainConfig,
    members: int,
    *,
    run_dir: str | Path,
    share: Literal["equal", "rest"] = "equal",
    fill_budget: bool = False,
) -> tuple[list[nn.Module], list[FitResult]]:
    """Train ``members`` models from seeds ``config.seed``, ``config.seed + 1``, ... under one ``--time_budget``.

    ``fit_member(k, member_config, member_run_dir) -> (model, result)`` trains member k; the helper seeds every RNG
    with the member's seed before calling it, and gives it ``config`` with that seed and its share of the budget:

    - ``share="equal"``: each member gets ``time_budget / members`` (classify's policy);
    - ``share="rest"``: member k gets what is left, divided among the members still to train, so members that stop
      early leave time for the later ones (forecast's policy); time spent is the members' training time, summed
      over resumed segments, so a resumed ensemble shares the same budget.
    - ``fill_budget`` (with a budget and ``members > 1``): while the time left is at least what a member took on
      average, train one more member (seeds continuing), given all that is left.

    Runs live in RUN_DIR (one member) or RUN_DIR/member<k>. Stops after a member that was interrupted (Ctrl-C),
    returning the members so far. Returns the models (on CPU) and their results.
    """
    if members < 1:
        raise ValueError(f"--ensemble must be a positive integer; got {members!r}")
    budget = config.time_budget
    models: list[nn.Module] = []
    results: list[FitResult] = []

    def left() -> float:  # minutes of the budget not yet spent by the finished members
        assert budget is not None
        return budget - sum(r.seconds for r in results) / 60

    def more() -> bool:
        if not (fill_budget and members > 1 and budget is not None):
            return False
        took = sum(r.seconds for r in results) / 60 / len(results)
        return left() >= took

    k = 0
    while k < members or more():
        share_k = None
        if budget is not None:
            if share == "equal" and k < members:
                share_k = budget / members
            else:
                share_k = max(left(), 1e-3) / max(members - k, 1)
        member_config = dataclasses.replace(config, seed=config.seed + k, time_budget=share_k)
        seed_everything(member_config.seed)
        model, result = fit_member(k, member_config, member_dir(Path(run_dir), k, members))
        models.append(model.cpu())
        results.append(result)
        k += 1
        if result.stopped_reason == "interrupted":
            break
    if len(models) > members:
        log.info("%d members trained (--ensemble %d) in the --time_budget", len(models), members)
    return models, results


def interrupted_exit(err: TrainingInterrupted | KeyboardInterrupt) -> int:
    """The CLI's answer to an interrupt: one line on stderr, exit status 130 (as a shell reports SIGINT)."""
    line = str(err) if isinstance(err, TrainingInterrupted) else "interrupted"
    print(line, file=sys.stderr)
    return 130
