"""The RL section of ``rnnkit demo``: CartPole without its velocities, a recurrent agent against a memoryless one.

With the cart's and the pole's velocities removed from the observation, a policy must infer them from the
positions it saw before. The LSTM agent and a feed-forward agent train with the same PPO settings and step budget;
the section shows both learning curves and their evaluation returns.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rnnkit.report import Section, html_table, text_table

log = logging.getLogger(__name__)

SETTINGS: dict[str, Any] = {
    "env": "CartPole-v1",
    "mask_velocity": True,
    "n_envs": 8,
    "n_steps": 32,
    "batch_size": 256,
    "n_epochs": 20,
    "gamma": 0.98,
    "gae_lambda": 0.8,
    "lr": 1e-3,
}


def section(out: Path, quick: bool) -> Section:
    """Train an LSTM and a feed-forward PPO agent on CartPole-v1 without velocities."""
    from rnnkit.rl.plots import plot_learning_curve
    from rnnkit.rl.ppo import PPOConfig, train

    out = Path(out) / "rl"
    steps = 512 if quick else 60_000
    episodes = 2 if quick else 20
    rows, curves = [], {}
    for cell, label in (("lstm", "LSTM"), ("none", "feed-forward")):
        log.info("rl demo: training a %s agent on CartPole-v1 without velocities", label)
        cfg = PPOConfig(**SETTINGS, steps=steps, cell=cell, out=str(out / cell), eval_episodes=episodes, quiet=True)
        _, result, metrics = train(cfg)
        curves[label] = metrics["curve"]
        rows.append([label, metrics["env_steps"], round(result.seconds, 1), round(metrics["eval"]["return_mean"], 1)])
    image = plot_learning_curve(curves, out / "learning_curve.png", "CartPole-v1 without velocities")
    header = ["agent", "env steps", "seconds", f"return ({episodes} episodes, max 500)"]
    intro = (
        "<p>CartPole-v1 with the velocities removed from the observation (the agent sees the cart's position and "
        "the pole's angle only). Both agents: recurrent PPO settings of rl-zoo's CartPoleNoVel task, "
        f"{steps} environment steps{' (quick mode: the numbers mean nothing)' if quick else ''}. "
        "The feed-forward agent has no memory, so it cannot tell which way the pole is moving.</p>"
    )
    return Section(
        title="Reinforcement learning: memory on CartPole without velocities",
        html=intro + html_table(header, rows),
        images=[image],
        summary=text_table(header, rows),
    )
