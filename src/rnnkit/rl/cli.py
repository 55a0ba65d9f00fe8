"""``rnnkit rl train | eval``: recurrent PPO from the command line (thin layers over :mod:`rnnkit.rl.ppo` and
:class:`~rnnkit.rl.agent.RecurrentPPO`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.rl.agent import RecurrentPPO
from rnnkit.rl.ppo import PPOConfig, train
from rnnkit.train import write_json


def train_command(cfg: PPOConfig) -> dict[str, Any]:
    """Train, save OUT/model, evaluate it; metrics.json, config.json and learning_curve.png in --out."""
    return train(cfg)[2]


@dataclass
class EvalArgs:
    """Evaluate a trained agent on its environment: mean and std of the return into a JSON file."""

    model: str
    """The model folder (or the run folder rnnkit rl train wrote)."""
    episodes: int = 20
    """Episodes to run."""
    sampled: bool = False
    """Sample actions from the policy instead of taking the most likely one."""
    video: str | None = None
    """Also record one episode as a GIF at this path."""
    out: str | None = None
    """Where to write metrics.json (default: eval_metrics.json beside the model, in its run folder)."""

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"--episodes must be a positive integer; got {self.episodes!r}")


def eval_command(args: EvalArgs) -> dict[str, Any]:
    agent = RecurrentPPO.load(args.model)
    result = agent.evaluate(args.episodes, deterministic=not args.sampled, video=args.video)
    model_dir = Path(args.model)
    run_dir = model_dir.parent if (model_dir / "config.json").is_file() and model_dir.name == "model" else model_dir
    path = Path(args.out) / "metrics.json" if args.out is not None else run_dir / "eval_metrics.json"
    write_json(path, result)
    print(f"return over {args.episodes} episodes: {result['return_mean']:.1f} ± {result['return_std']:.1f} ({path})")
    return result


COMMANDS = {"train": (PPOConfig, train_command), "eval": (EvalArgs, eval_command)}
