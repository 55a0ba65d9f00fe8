"""Recurrent PPO: rnnkit against sb3-contrib's RecurrentPPO, and learning curves on tasks that need memory.

``python benchmarks/rl.py cartpole`` (issue must-show 1 and 3): CartPole-v1 with the velocities removed, with
rl-zoo's tuned CartPoleNoVel settings for sb3-contrib's RecurrentPPO (8 envs, n_steps 32, batch 256, 20 epochs,
gamma 0.98, GAE lambda 0.8, lr 1e-3 and clip 0.2 both annealed linearly, LSTM 64 for actor and critic, heads of
64 ReLU, observation and reward normalisation, 100k steps). rnnkit runs the same settings with an LSTM core, a
GRU core and no core (feed-forward: shows that memory is needed). Every run: one process, sequentially, 1 torch
thread, final evaluation over 20 episodes with deterministic actions. Wall time is training alone (fit), and
environment steps per second are env steps / that time. rnnkit evaluates while training (its default) and stops at
``--target`` (475); sb3-contrib runs as rl-zoo runs it (100k steps) and, for parity, with sb3's own EvalCallback and
StopTrainingOnRewardThreshold at the same frequency and target (``--sb3 plain stop``).

``python benchmarks/rl.py tasks`` (must-show 2): Pendulum-v1 without velocity, the RepeatPrevious memory task,
InvertedPendulum-v5 and HalfCheetah-v5 without velocities (MuJoCo), each with LSTM, GRU and feed-forward cores;
learning curves to benchmarks/rl_<task>.png and final returns. Step budgets are short (CPU), stated in the table:
the curves show which cores learn, not asymptotic scores.

Each part appends its table and the machine to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, markdown_table
from rnnkit.rl.demo import SETTINGS as CARTPOLE_NOVEL
from rnnkit.rl.envs import make_env
from rnnkit.rl.plots import plot_learning_curve
from rnnkit.rl.ppo import PPOConfig, train

# rl-zoo's CartPoleNoVel settings (the demo uses the same), at the zoo's 100k steps; clip 0.2, no entropy bonus,
# LSTM 64 and heads of 64 are PPOConfig's defaults.
ZOO_CARTPOLE = {**CARTPOLE_NOVEL, "steps": 100_000}


def run_rnnkit(settings: dict[str, Any], cell: str, seed: int, out: Path, episodes: int = 20) -> dict[str, Any]:
    cfg = PPOConfig(
        **settings,
        cell=cell,
        seed=seed,
        out=str(out / f"{settings['env'].replace('/', '_')}_{cell}_{seed}"),
        quiet=True,
        threads=1,
        eval_episodes=episodes,
    )
    _, result, metrics = train(cfg)
    seconds, final = result.seconds, metrics["eval"]
    return {
        "who": f"rnnkit {cell}",
        "seed": seed,
        "seconds": seconds,
        "steps": metrics["env_steps"],
        "steps_per_s": metrics["env_steps_per_second"],
        "return": final["return_mean"],
        "std": final["return_std"],
        "curve": metrics["curve"],
        "kept": metrics["kept"],
    }


def run_sb3(seed: int, episodes: int = 20, target: float | None = None) -> dict[str, Any]:
    """sb3-contrib RecurrentPPO with rl-zoo's CartPoleNoVel hyper-parameters, on the same masked environment.

    ``target``: also give it what rnnkit's run gets, sb3's own way: an EvalCallback every 5,000 environment steps
    (10 episodes, deterministic, 10 environments), keeping best_model, and StopTrainingOnRewardThreshold(target);
    the kept best model is the one evaluated (with the training run's final observation statistics: sb3 saves
    none with best_model)."""
    import tempfile

    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import EvalCallback, StopTrainingOnRewardThreshold
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize

    def lin(value: float):
        return lambda progress: progress * value

    def masked() -> Any:
        return make_env("CartPole-v1", mask_velocity=True)

    torch.set_num_threads(1)
    envs = VecNormalize(make_vec_env(masked, n_envs=8, seed=seed), gamma=0.98)
    model = RecurrentPPO(
        "MlpLstmPolicy",
        envs,
        n_steps=32,
        batch_size=256,
        n_epochs=20,
        gamma=0.98,
        gae_lambda=0.8,
        learning_rate=lin(1e-3),
        clip_range=lin(0.2),
        ent_coef=0.0,
        seed=seed,
        verbose=0,
        policy_kwargs={
            "ortho_init": False,
            "activation_fn": torch.nn.ReLU,
            "lstm_hidden_size": 64,
            "enable_critic_lstm": True,
            "net_arch": {"pi": [64], "vf": [64]},
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        callback = None
        if target is not None:
            eval_envs = VecNormalize(
                make_vec_env(masked, n_envs=10, seed=seed + 20_000), gamma=0.98, training=False, norm_reward=False
            )
            callback = EvalCallback(
                eval_envs,
                callback_on_new_best=StopTrainingOnRewardThreshold(target, verbose=0),
                n_eval_episodes=10,
                eval_freq=5_000 // 8,
                deterministic=True,
                best_model_save_path=tmp,
                verbose=0,
            )
        began = time.perf_counter()
        model.learn(100_000, callback=callback)
        seconds = time.perf_counter() - began
        steps = model.num_timesteps
        if target is not None and Path(tmp, "best_model.zip").is_file():
            model = RecurrentPPO.load(Path(tmp, "best_model.zip"), device="cpu")
    envs.training, envs.norm_reward = False, False
    mean, std = evaluate_policy(model, envs, n_eval_episodes=episodes, deterministic=True)
    return {
        "who": "sb3-contrib RecurrentPPO (LSTM)" + (f", best eval, stop at {target:g}" if target is not None else ""),
        "seed": seed,
        "seconds": seconds,
        "steps": steps,
        "steps_per_s": steps / seconds,
        "return": float(mean),
        "std": float(std),
    }


def cartpole(args: argparse.Namespace) -> None:
    out = Path(args.out)
    target = args.target
    rnnkit_settings = {**ZOO_CARTPOLE, "target_return": target}
    rows, runs = [], []
    for seed in args.seeds:
        for cell in args.cells:
            runs.append(run_rnnkit(rnnkit_settings, cell, seed, out))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "curve"}), flush=True)
        for kind in args.sb3:
            runs.append(run_sb3(seed, target=target if kind == "stop" else None))
            print(json.dumps(runs[-1]), flush=True)
    plain = {r["seed"]: r["seconds"] for r in runs if r["who"] == "sb3-contrib RecurrentPPO (LSTM)"}
    stop = {r["seed"]: r["seconds"] for r in runs if r["who"].startswith("sb3") and "stop at" in r["who"]}
    for r in runs:
        rows.append(
            [
                r["who"].replace("rnnkit none", "rnnkit feed-forward"),
                r["seed"],
                f"{r['return']:.1f} ± {r['std']:.1f}",
                "yes" if r["return"] >= target else "no",
                r["steps"],
                f"{r['seconds']:.0f}",
                f"{r['steps_per_s']:.0f}",
                f"{plain[r['seed']] / r['seconds']:.1f}x" if r["seed"] in plain else "",
                f"{stop[r['seed']] / r['seconds']:.1f}x" if r["seed"] in stop else "",
            ]
        )
    header = [
        "agent", "seed", "return (20 episodes)", f">= {target:g}", "env steps", "train s", "env steps/s",
        "sb3 s / this s", "sb3 (same stop rule) s / this s",
    ]  # fmt: skip
    table = markdown_table(header, rows)
    print(table)
    first = [r for r in runs if "curve" in r and r["seed"] == args.seeds[0]]
    curves = {r["who"].replace("none", "feed-forward"): r["curve"] for r in first}
    plot_learning_curve(curves, Path(__file__).with_name("rl_cartpole_novel.png"), "CartPole-v1, no velocities")
    command = (
        f"python benchmarks/rl.py cartpole --cells {' '.join(args.cells)} --seeds {' '.join(map(str, args.seeds))}"
    )
    command += f" --sb3 {' '.join(args.sb3)}" if args.sb3 else " --sb3"
    command += f" --target {target:g}"
    kept = "; ".join(f"{r['who']} seed {r['seed']}: {r['kept']}" for r in runs if "kept" in r)
    append_results(
        "RL: CartPole-v1 without velocities, rnnkit vs sb3-contrib RecurrentPPO",
        table,
        command,
        "rl-zoo's CartPoleNoVel settings for both (8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98, lambda 0.8, "
        "lr 1e-3 and clip 0.2 annealed over 100k steps, LSTM 64 actor and critic, heads 64 ReLU, obs + reward "
        "normalisation); 1 torch thread each, one run after the other. rnnkit runs with its defaults for evaluation "
        f"while training (every 5,000 env steps, 10 episodes, deterministic; the best kept) and --target_return "
        f"{target:g} (stops once an evaluation reaches it; else 100k steps). 'sb3' is sb3-contrib as rl-zoo runs it "
        "(100k steps, final weights); 'sb3 (same stop rule)' adds sb3's own EvalCallback (every 5,000 steps, 10 "
        f"episodes, deterministic, best_model kept) and StopTrainingOnRewardThreshold({target:g}). Train s: the "
        "training call alone (evaluations while training included); return: 20 episodes on other environment seeds, "
        f"deterministic, of the weights kept. Curves: benchmarks/rl_cartpole_novel.png. Kept: {kept}.",
    )


TASKS = {
    "pendulum": {  # rl-zoo's Pendulum-v1 PPO settings (constant lr and clip), without gSDE, minibatches of 128
        "env": "Pendulum-v1",
        "mask_velocity": True,
        "steps": 100_000,
        "n_envs": 4,
        "n_steps": 1024,
        "batch_size": 128,
        "n_epochs": 10,
        "gamma": 0.9,
        "gae_lambda": 0.95,
        "lr": 1e-3,
        "schedule": "constant",
        "clip_anneal": False,
    },
    "repeat": {
        "env": "rnnkit/RepeatPrevious-v0",
        "steps": 100_000,
        "n_envs": 8,
        "n_steps": 64,
        "batch_size": 256,
        "n_epochs": 10,
        "gamma": 0.9,
        "lr": 1e-3,
        "ent_coef": 0.01,
    },
    "halfcheetah": {
        "env": "HalfCheetah-v5",
        "mask_velocity": True,
        "steps": 100_000,
        "n_envs": 8,
        "n_steps": 256,
        "batch_size": 512,
        "n_epochs": 10,
        "lr": 3e-4,
    },
}


# The Pendulum settings, gamma 0.99 (episodes of up to 1000 steps): a MuJoCo task short enough to learn on a CPU.
TASKS["invertedpendulum"] = {**TASKS["pendulum"], "env": "InvertedPendulum-v5", "gamma": 0.99}


def tasks(args: argparse.Namespace) -> None:
    out = Path(args.out)
    rows = []
    for name in args.tasks:
        settings = dict(TASKS[name], steps=args.steps or TASKS[name]["steps"])
        curves = {}
        for cell in args.cells:
            r = run_rnnkit(settings, cell, args.seeds[0], out, episodes=10)
            label = "feed-forward" if cell == "none" else cell.upper()
            curves[label] = r["curve"]
            rows.append(
                [
                    settings["env"] + (" (no velocity)" if settings.get("mask_velocity") else ""),
                    label,
                    settings["steps"],
                    f"{r['return']:.1f} ± {r['std']:.1f}",
                    f"{r['seconds']:.0f}",
                ]
            )
            print(rows[-1], flush=True)
        plot_learning_curve(curves, Path(__file__).with_name(f"rl_{name}.png"), settings["env"])
    table = markdown_table(["task", "core", "env steps", "return (10 episodes)", "train s"], rows)
    print(table)
    append_results(
        "RL: learning curves with LSTM, GRU and feed-forward cores",
        table,
        f"python benchmarks/rl.py tasks --tasks {' '.join(args.tasks)} --cells {' '.join(args.cells)}"
        + (f" --steps {args.steps}" if args.steps else ""),
        "Curves: benchmarks/rl_<task>.png. 1 torch thread, seed 0; return: 10 episodes with deterministic actions "
        "of the weights kept (the best evaluation while training, every 5,000 env steps, 10 episodes). Settings: "
        + "; ".join(f"{name}: {TASKS[name]}" for name in args.tasks)
        + ".",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["cartpole", "tasks"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="runs/bench_rl")
    parser.add_argument(
        "--sb3",
        nargs="*",
        default=["plain", "stop"],
        choices=["plain", "stop"],
        help="sb3-contrib runs per seed: plain (rl-zoo's 100k steps) and/or stop (with the same stop rule); none: "
        "--sb3 with no value",
    )
    parser.add_argument("--target", type=float, default=475.0, help="cartpole: the return to reach (--target_return)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "none"], help="rnnkit cores for cartpole")
    parser.add_argument("--steps", type=int, default=None, help="override every task's step budget")
    args = parser.parse_args()
    cartpole(args) if args.part == "cartpole" else tasks(args)


if __name__ == "__main__":
    main()
