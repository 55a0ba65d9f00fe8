"""``rnnkit rl train | eval``: recurrent PPO from the command line (a thin layer over :class:`RecurrentPPO`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.rl.agent import RecurrentPPO
from rnnkit.rl.plots import plot_learning_curve
from rnnkit.rl.ppo import PPOConfig, evaluate, train
from rnnkit.train import write_json

log = logging.getLogger(__name__)


def train_command(cfg: PPOConfig) -> dict[str, Any]:
    """Train, save the model, evaluate it and write metrics.json and learning_curve.png to --out."""
    out = Path(cfg.out)
    model, result, loader = train(cfg, resume=getattr(cfg, "resume", False))
    model.save(out / "model")
    final = evaluate(model, cfg.eval_episodes)
    seconds = max(result.seconds, 1e-9)
    metrics = {
        "env": cfg.env,
        "cell": cfg.cell,
        "env_steps": loader.env_steps,
        "train_seconds": result.seconds,
        "env_steps_per_second": loader.env_steps / seconds,
        "collect_seconds": loader.collect_seconds,
        "stopped_reason": result.stopped_reason,
        "final_train_return": result.history[-1].get("train_ep_return") if result.history else None,
        "eval": final,
    }
    write_json(out / "metrics.json", metrics)
    plot_learning_curve({cfg.cell: result.history}, cfg.n_envs * cfg.n_steps, out / "learning_curve.png", cfg.env)
    print(
        f"{cfg.env} ({cfg.cell}): {loader.env_steps} env steps in {result.seconds:.0f} s "
        f"({metrics['env_steps_per_second']:.0f}/s); evaluation over {cfg.eval_episodes} episodes: "
        f"{final['return_mean']:.1f} ± {final['return_std']:.1f}; model in {out / 'model'}"
    )
    return metrics


@dataclass
class EvalArgs:
    """Evaluate a trained agent on its environment: mean and std of the return into metrics.json."""

    model: str
    """The model folder (or the run folder rnnkit rl train wrote)."""
    episodes: int = 20
    """Episodes to run."""
    sampled: bool = False
    """Sample actions from the policy instead of taking the most likely one."""
    video: str | None = None
    """Also record one episode as a GIF at this path."""
    out: str | None = None
    """Where to write metrics.json (default: the model's run folder)."""

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"--episodes must be a positive integer; got {self.episodes!r}")


def eval_command(args: EvalArgs) -> dict[str, Any]:
    agent = RecurrentPPO.load(args.model)
    result = agent.evaluate(args.episodes, deterministic=not args.sampled, video=args.video)
    model_dir = Path(args.model)
    out = Path(args.out) if args.out is not None else (model_dir.parent if model_dir.name == "model" else model_dir)
    write_json(out / "eval_metrics.json" if args.out is None else out / "metrics.json", result)
    print(f"return over {args.episodes} episodes: {result['return_mean']:.1f} ± {result['return_std']:.1f}")
    return result


COMMANDS = {"train": (PPOConfig, train_command), "eval": (EvalArgs, eval_command)}
