"""Recurrent PPO (Schulman et al. 2017) on the engine: the config, the loss, training and evaluation.

PPO's loop is the engine's loop: :class:`~rnnkit.rl.rollout.RolloutLoader` is the training "data", one trainer
epoch is one PPO iteration (a rollout, then ``n_epochs`` passes over its minibatches), and :func:`ppo_step` is the
step function. AdamW (no weight decay, epsilon 1e-5 as sb3 and CleanRL), gradient clipping, the linear
learning-rate annealing, checkpoints, ``--resume``, metrics.jsonl, TensorBoard and the model file all come from
:mod:`rnnkit.train`.
Resuming restores weights, optimizer, normalisers' statistics and RNG, and restarts the environments (their
internal state cannot be saved in general): a resumed run continues training but is not bit-identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.rl.envs import make_env, make_vec_env
from rnnkit.rl.plots import plot_learning_curve
from rnnkit.rl.policy import ActorCritic, cell_choices
from rnnkit.rl.rollout import RolloutLoader, n_minibatches
from rnnkit.train import Callback, FitResult, StepOutput, TrainConfig, Trainer
from rnnkit.train.driver import Fitted, Run, run_training


@dataclass
class PPOConfig(TrainConfig):
    """Train a recurrent PPO agent on a gymnasium environment (rnnkit rl train)."""

    env: str = "CartPole-v1"
    """A registered gymnasium id (CartPole-v1, Pendulum-v1, HalfCheetah-v5, rnnkit/RepeatPrevious-v0, ...)."""
    steps: int = 100_000
    """Environment steps to train for, all environments together (sets --epochs: one epoch is one PPO iteration
    of n_envs * n_steps steps)."""
    n_envs: int = 8
    """Environments stepped together."""
    n_steps: int = 128
    """Steps per environment in each rollout."""
    n_epochs: int = 10
    """Passes over each rollout."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda (bias/variance trade-off of the advantage)."""
    clip_range: float = 0.2
    """PPO's clipping of the probability ratio."""
    clip_anneal: bool = True
    """Anneal --clip_range linearly to 0 over training (as rl-zoo's lin_0.2)."""
    clip_range_vf: float | None = None
    """Clip the value update around the old values by this much (None: no value clipping)."""
    ent_coef: float = 0.0
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value loss weight."""
    normalize_advantage: bool = True
    """Normalise advantages in each minibatch."""
    normalize_obs: bool = True
    """Normalise observations by running statistics (saved with the model)."""
    normalize_reward: bool = True
    """Scale rewards by the running std of the discounted return (training only)."""
    cell: str = "lstm"
    """Recurrent core: any sequence cell of rnnkit.nn's registry (lstm, gru, ln_lstm, mingru, ...; see
    rnnkit.nn.cell_names()), or none (a feed-forward baseline with no memory)."""
    hidden_size: int = 64
    """Units of the recurrent core."""
    num_layers: int = 1
    """Stacked recurrent layers in the core."""
    shared_core: bool = False
    """One recurrent core for actor and critic (default: one each)."""
    net_arch: list[int] = field(default_factory=lambda: [64])
    """Hidden layer widths of the policy and value heads after the core."""
    log_std_init: float = 0.0
    """Initial log standard deviation of Box actions."""
    mask_velocity: bool = False
    """Remove the velocity entries from the observations (the agent must infer them: needs memory)."""
    obs_noise: float = 0.0
    """Standard deviation of Gaussian noise added to observations (0: none)."""
    asynchronous: bool = False
    """Step the environments in worker processes (gymnasium's AsyncVectorEnv) instead of in this process."""
    eval_episodes: int = 20
    """Episodes of the final evaluation (deterministic actions), written to metrics.json."""
    eval_every: int | None = 5_000
    """Evaluate the policy every this many environment steps while training (rounded to whole PPO iterations;
    --val_episodes episodes, deterministic actions, environment seeds apart from the final evaluation's) and keep
    the weights of the best evaluation, as sb3's EvalCallback keeps best_model: PPO can unlearn a solved task late
    in training. None: no evaluation while training; the final weights are kept."""
    val_episodes: int = 10
    """Episodes of each evaluation while training (see --eval_every)."""
    target_return: float | None = None
    """Stop once an evaluation while training reaches this mean return, as sb3's StopTrainingOnRewardThreshold
    (None: train for --steps)."""
    threads: int | None = 1
    out: str = "runs/rl"
    lr: float = 3e-4
    batch_size: int = 256
    weight_decay: float = 0.0
    adam_eps: float = 1e-5
    clip_norm: float | None = 0.5
    schedule: str = "linear"
    early_stopping: int | None = None
    monitor: str = "val_return"
    mode: str = "max"

    def __post_init__(self) -> None:
        for name in (
            "steps", "n_envs", "n_steps", "n_epochs", "hidden_size", "num_layers", "eval_episodes", "val_episodes"
        ):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a positive integer; got {value!r}")
        if self.cell not in cell_choices():
            raise ValueError(f"--cell must be one of {', '.join(cell_choices())}; got {self.cell!r}")
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(
                f"--gamma must be in (0, 1] and --gae_lambda in [0, 1]; got {self.gamma}, {self.gae_lambda}"
            )
        if not self.clip_range > 0:
            raise ValueError(f"--clip_range must be > 0; got {self.clip_range!r}")
        if self.obs_noise < 0:
            raise ValueError(f"--obs_noise must be >= 0; got {self.obs_noise!r}")
        if self.batch_size > self.n_envs * self.n_steps:
            raise ValueError(
                f"--batch_size {self.batch_size} is larger than a rollout (n_envs * n_steps = "
                f"{self.n_envs * self.n_steps}); lower it or collect more steps"
            )
        if self.eval_every is not None and (isinstance(self.eval_every, bool) or self.eval_every < 1):
            raise ValueError(
                f"--eval_every must be a positive number of environment steps or None; got {self.eval_every!r}"
            )
        if self.target_return is not None and self.eval_every is None:
            raise ValueError("--target_return needs evaluations while training: set --eval_every (environment steps)")
        rollout = self.n_envs * self.n_steps
        self.epochs = math.ceil(self.steps / rollout)
        # The engine validates every --val_every optimizer steps: whole PPO iterations of n_epochs * n_minibatches.
        every = None
        if self.eval_every is not None:
            every = max(1, round(self.eval_every / rollout)) * self.n_epochs * n_minibatches(rollout, self.batch_size)
        if self.val_every is not None and self.val_every != every:
            raise ValueError(
                f"rl train evaluates every --eval_every environment steps and sets --val_every from it; got "
                f"--val_every {self.val_every}: leave it unset and set --eval_every instead"
            )
        self.val_every = every
        super().__post_init__()


def ppo_step(cfg: PPOConfig):
    """The PPO loss of one sequence minibatch (see :func:`rnnkit.rl.rollout.minibatch`) as a trainer step."""

    def step(model: ActorCritic, batch: dict[str, Any], carry: Any) -> StepOutput:
        mask = batch["mask"]  # (S, M)
        # One fused kernel call over the padded (S, M) batch, without lengths: the core runs forward in time, so
        # the outputs at a sequence's valid steps do not depend on the padding after them, and the padded steps
        # are masked out of every loss term. (With lengths the layer would cut time at each distinct length.)
        features, values, _ = model.forward_sequence(batch["obs"], batch["state"])
        dist = model.distribution(features[mask])  # over the M' valid steps
        logp = model.log_prob(dist, batch["actions"][mask])
        advantages = batch["advantages"][mask]
        if cfg.normalize_advantage and advantages.numel() > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        ratio = torch.exp(logp - batch["logp"][mask])
        clip = batch["clip"]
        policy_loss = -torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages).mean()
        values, old_values = values[mask], batch["values"][mask]
        if cfg.clip_range_vf is not None:
            values = old_values + (values - old_values).clamp(-cfg.clip_range_vf, cfg.clip_range_vf)
        value_loss = F.mse_loss(values, batch["returns"][mask])
        entropy = model.entropy(dist).mean()
        loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
        with torch.no_grad():
            log_ratio = logp - batch["logp"][mask]
            metrics = {
                "policy_loss": float(policy_loss),
                "value_loss": float(value_loss),
                "entropy": float(entropy),
                "approx_kl": float(((ratio - 1) - log_ratio).mean()),
                "clip_fraction": float(((ratio - 1).abs() > clip).float().mean()),
                **batch["stats"],
            }
        return StepOutput(loss=loss, n=int(mask.sum()), metrics=metrics)

    return step


def build_model(cfg: PPOConfig, envs: Any) -> ActorCritic:
    """The actor-critic for ``envs``' spaces, recording how the environment was made."""
    import gymnasium as gym

    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    env = {"id": cfg.env, "mask_velocity": cfg.mask_velocity, "obs_noise": cfg.obs_noise}
    common: dict[str, Any] = {
        "obs_size": int(obs_space.shape[0]),
        "cell": cfg.cell,
        "hidden_size": cfg.hidden_size,
        "num_layers": cfg.num_layers,
        "shared_core": cfg.shared_core,
        "net_arch": cfg.net_arch,
        "log_std_init": cfg.log_std_init,
        "normalize_obs": cfg.normalize_obs,
        "env": env,
    }
    if isinstance(act_space, gym.spaces.Discrete):
        return ActorCritic(n_actions=int(act_space.n), **common)
    return ActorCritic(
        action_size=int(act_space.shape[0]),
        action_low=act_space.low.tolist(),
        action_high=act_space.high.tolist(),
        **common,
    )


def fit_agent(run: Run) -> Fitted:
    """The driver's ``fit`` for RL: environments, model, rollout loader, the engine's trainer, a learning curve."""
    cfg = run.config
    assert isinstance(cfg, PPOConfig)
    envs = make_vec_env(
        cfg.env, cfg.n_envs, asynchronous=cfg.asynchronous, mask_velocity=cfg.mask_velocity, obs_noise=cfg.obs_noise
    )
    try:
        model = build_model(cfg, envs)
        loader = RolloutLoader(
            model,
            envs,
            n_steps=cfg.n_steps,
            n_epochs=cfg.n_epochs,
            batch_size=cfg.batch_size,
            gamma=cfg.gamma,
            gae_lambda=cfg.gae_lambda,
            clip_range=cfg.clip_range,
            clip_anneal=cfg.clip_anneal,
            iterations=cfg.epochs,
            normalize_reward=cfg.normalize_reward,
            seed=cfg.seed,
        )
        curve = Curve(loader, cfg.target_return)
        trainer = Trainer(
            model,
            cfg,
            step=ppo_step(cfg),
            evaluate=_evaluate_while_training,
            run_dir=run.run_dir(),
            run_config=run.resolved,
            callbacks=[curve],
        )
        val = [cfg.val_episodes] if cfg.eval_every is not None else None  # what _evaluate_while_training reads
        result = trainer.fit(_WithStats(loader), val, resume=cfg.resume)
    finally:
        envs.close()
    if curve.points:
        plot_learning_curve({cfg.cell: curve.as_dict()}, run.out / "learning_curve.png", cfg.env)
    metrics = {
        "env": cfg.env,
        "cell": cfg.cell,
        "env_steps": curve.env_steps(result.steps),
        "env_steps_per_second": loader.env_steps / max(result.seconds, 1e-9),
        "collect_seconds": loader.collect_seconds,
        "final_train_return": result.history[-1].get("train_ep_return") if result.history else None,
        "kept": _kept(result, cfg, curve),
        "curve": curve.as_dict(),
    }
    return Fitted(model=model, results=[result], metrics=metrics)


def _evaluate_while_training(model: nn.Module, val: Any) -> dict[str, float]:
    """The trainer's validation: ``val[0]`` episodes with deterministic actions, environment seeds from 20,000 (the
    final evaluation's start at 10,000), the same every time so that evaluations compare like with like."""
    assert isinstance(model, ActorCritic)
    result = evaluate(model, int(val[0]), seed=20_000)
    return {"val_return": result["return_mean"], "val_return_std": result["return_std"]}


def _kept(result: FitResult, cfg: PPOConfig, curve: Curve) -> str:
    """Which weights the model holds, for metrics.json."""
    if cfg.eval_every is None:
        return "final weights (no evaluation while training)"
    best = result.best_metrics
    return (
        f"the best evaluation while training: mean return {best.get('val_return', float('nan')):.6g} over "
        f"{cfg.val_episodes} episodes after {curve.env_steps(result.best_step)} environment steps (optimizer step "
        f"{result.best_step})"
    )


class Curve(Callback):
    """The learning curve, one point per PPO iteration (mean return of the last 20 training episodes), the
    evaluations while training, and the --target_return stop."""

    def __init__(self, loader: RolloutLoader, target: float | None) -> None:
        self.loader, self.target = loader, target
        self.steps_per_epoch = loader.n_envs * loader.n_steps
        self.points: list[tuple[int, float]] = []
        self.evals: list[tuple[int, float]] = []

    def on_fit_start(self, trainer: Trainer) -> None:  # after a resume: the points the history has kept
        for e in trainer.history:
            if "train_ep_return" in e:
                self._point(self.env_steps(e["step"]), float(e["train_ep_return"]))
            self.on_validation_end(trainer, e)

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        self.points.append(((epoch + 1) * self.steps_per_epoch, self.loader.stats["ep_return"]))

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:  # stopped before its iteration's end
        if result.steps:
            self._point(self.env_steps(result.steps), self.loader.stats["ep_return"])

    def _point(self, env_steps: int, value: float) -> None:
        if not self.points or self.points[-1][0] < env_steps:
            self.points.append((env_steps, value))

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if "val_return" not in metrics:
            return
        self.evals.append((self.env_steps(metrics["step"]), float(metrics["val_return"])))
        if self.target is not None and metrics["val_return"] >= self.target:
            trainer.should_stop = True

    def env_steps(self, optimizer_steps: int) -> int:
        """Environment steps collected by the time of ``optimizer_steps`` (each PPO iteration: one rollout, then
        len(loader) optimizer steps; exact after a resume too, and when a stop comes at an iteration's last step)."""
        return math.ceil(optimizer_steps / len(self.loader)) * self.steps_per_epoch

    def as_dict(self) -> dict[str, list]:
        return {
            "env_steps": [p[0] for p in self.points],
            "train_return": [p[1] for p in self.points],
            "eval_env_steps": [p[0] for p in self.evals],
            "eval_return": [p[1] for p in self.evals],
        }


def train(cfg: PPOConfig) -> tuple[ActorCritic, FitResult, dict[str, Any]]:
    """Train as ``cfg`` says into ``cfg.out`` through the engine's driver (run folder checks, config.json, Ctrl-C,
    --resume, model/, metrics.json with a final evaluation); returns the model, the fit result and the metrics."""
    fitted: list[Fitted] = []

    def fit(run: Run) -> Fitted:
        fitted.append(fit_agent(run))
        return fitted[-1]

    def final(model: nn.Module) -> dict[str, Any]:
        assert isinstance(model, ActorCritic)
        return {"eval": evaluate(model, cfg.eval_episodes)}

    metrics = run_training(cfg, fit, command="rl train", evaluate=final, headline=_headline)
    model = fitted[-1].model
    assert isinstance(model, ActorCritic)
    return model, fitted[-1].results[0], metrics


def _headline(metrics: dict[str, Any]) -> str:
    ev = metrics["eval"]
    return (
        f"return {ev['return_mean']:.1f} ± {ev['return_std']:.1f} over {ev['episodes']} episodes, "
        f"{metrics['env_steps_per_second']:.0f} env steps/s"
    )


class _WithStats:
    """The loader, with the episode statistics and the environment steps per second added to every batch."""

    def __init__(self, loader: RolloutLoader) -> None:
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __iter__(self):
        for batch in self.loader:
            batch["stats"] = {**self.loader.stats, "env_steps": float(self.loader.env_steps)}
            yield batch


def evaluate(
    model: ActorCritic,
    episodes: int = 20,
    *,
    deterministic: bool = True,
    seed: int = 10_000,
    video: str | Path | None = None,
) -> dict[str, Any]:
    """Run ``episodes`` episodes of the model's environment (one per parallel copy); their returns' mean and std.

    ``video``: also record one episode (the first copy's) as a GIF at that path.
    """
    env_spec = model.config["env"]
    envs = make_vec_env(
        env_spec["id"], episodes, mask_velocity=env_spec["mask_velocity"], obs_noise=env_spec["obs_noise"]
    )
    model.eval()
    try:
        obs, _ = envs.reset(seed=seed)
        state = model.initial_state(episodes)
        starts = torch.ones(episodes, dtype=torch.bool)
        returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
        running = np.ones(episodes, dtype=bool)
        while running.any():
            x = model.normalize(torch.as_tensor(obs, dtype=torch.float32))
            action, _, _, state = model.act(x, state, starts, deterministic=deterministic)
            obs, reward, terminated, truncated, _ = envs.step(model.env_action(action))
            returns += np.where(running, reward, 0.0)
            lengths += running
            running &= ~(terminated | truncated)
            starts = torch.as_tensor(terminated | truncated)
    finally:
        envs.close()
    result: dict[str, Any] = {
        "episodes": episodes,
        "deterministic": deterministic,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "length_mean": float(lengths.mean()),
        "returns": returns.tolist(),
    }
    if video is not None:
        result["video"] = str(record_episode(model, video, deterministic=deterministic, seed=seed))
    return result


@torch.no_grad()
def record_episode(model: ActorCritic, path: str | Path, *, deterministic: bool = True, seed: int = 0) -> Path:
    """Render one episode to a GIF (needs the environment's ``rgb_array`` rendering)."""
    from PIL import Image

    spec = model.config["env"]
    env = make_env(
        spec["id"], mask_velocity=spec["mask_velocity"], obs_noise=spec["obs_noise"], render_mode="rgb_array"
    )
    frames = []
    try:
        obs, _ = env.reset(seed=seed)
        state, start, done = model.initial_state(1), torch.ones(1, dtype=torch.bool), False
        while not done:
            frames.append(Image.fromarray(np.asarray(env.render())))
            x = model.normalize(torch.as_tensor(obs, dtype=torch.float32)[None])
            action, _, _, state = model.act(x, state, start, deterministic=deterministic)
            obs, _, terminated, truncated, _ = env.step(model.env_action(action)[0])
            start, done = torch.zeros(1, dtype=torch.bool), terminated or truncated
    finally:
        env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=33, loop=0)
    return path
