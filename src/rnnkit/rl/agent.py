"""The Python API of the RL application: :class:`RecurrentPPO`, the object ``rnnkit rl train`` is a thin layer over."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.rl.policy import ActorCritic, State
from rnnkit.rl.ppo import PPOConfig, evaluate, train
from rnnkit.train import FitResult, load_model


class RecurrentPPO:
    """Recurrent PPO with any rnnkit core, as sb3-contrib's ``RecurrentPPO`` but trained on whole sequences.

    Settings are :class:`~rnnkit.rl.ppo.PPOConfig`'s fields (the same defaults as ``rnnkit rl train``).

    >>> agent = RecurrentPPO("CartPole-v1", mask_velocity=True, cell="gru", steps=256, n_steps=32,
    ...                      batch_size=128, n_epochs=1, out=str(getfixture("tmp_path")), quiet=True)
    >>> agent = agent.fit()
    >>> action, state = agent.predict(np.zeros((1, 2), dtype=np.float32))
    >>> action.shape
    (1,)
    >>> agent.evaluate(episodes=2)["episodes"]
    2
    """

    def __init__(self, env: str = "CartPole-v1", **settings: Any) -> None:
        self.config = PPOConfig(env=env, **settings)
        self.model: ActorCritic | None = None
        self.result: FitResult | None = None
        self.metrics: dict[str, Any] = {}

    def fit(self, steps: int | None = None, *, resume: bool = False) -> RecurrentPPO:
        """Train for ``steps`` environment steps (default: the config's) into ``config.out`` (which must not hold a
        run already, unless ``resume``), as ``rnnkit rl train`` does; ``self.metrics`` holds its metrics.json."""
        changes: dict[str, Any] = {"resume": resume}
        if steps is not None:
            changes["steps"] = steps
        self.config = replace(self.config, **changes)
        self.model, self.result, self.metrics = train(self.config)
        return self

    learn = fit  # the name sb3 users know

    def _require_model(self) -> ActorCritic:
        if self.model is None:
            raise ValueError("this RecurrentPPO has no model yet: call fit() first, or RecurrentPPO.load(dir)")
        return self.model

    @torch.no_grad()
    def predict(
        self,
        observation: Any,
        state: State | None = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, State]:
        """Actions for a batch of raw observations (B, D) and the new recurrent state, as sb3's ``predict``.

        Pass the returned state back with the next observations; ``episode_start`` (B,) bools reset it.
        """
        model = self._require_model()
        obs = torch.as_tensor(np.asarray(observation), dtype=torch.float32)
        if obs.dim() == 1:
            obs = obs[None]
        expected = model.config["obs_size"]
        if obs.dim() != 2 or obs.shape[1] != expected:
            raise ValueError(f"predict: expected observations of shape (B, {expected}), got {tuple(obs.shape)}")
        batch = obs.shape[0]
        if state is None:
            state = model.initial_state(batch)
        starts = torch.zeros(batch, dtype=torch.bool)
        if episode_start is not None:
            starts = torch.as_tensor(np.asarray(episode_start), dtype=torch.bool).reshape(batch)
        model.eval()
        action, _, _, state = model.act(model.normalize(obs), state, starts, deterministic=deterministic)
        return model.env_action(action), state

    def evaluate(self, episodes: int = 20, *, deterministic: bool = True, video: str | None = None) -> dict[str, Any]:
        """Mean and std of the return over ``episodes`` episodes of the model's environment."""
        return evaluate(self._require_model(), episodes, deterministic=deterministic, video=video)

    def save(self, directory: str | Path) -> Path:
        """Write the model (weights, normaliser statistics, environment spec) as safetensors + JSON."""
        return self._require_model().save(directory)

    @classmethod
    def load(cls, directory: str | Path) -> RecurrentPPO:
        """A trained agent from a model folder (or the run folder ``rnnkit rl train`` wrote)."""
        directory = Path(directory)
        if (directory / "model" / "config.json").is_file():  # the run folder
            directory = directory / "model"
        model = load_model(directory)
        if not isinstance(model, ActorCritic):
            raise ValueError(f"{directory} holds a {type(model).__name__}, not an RL agent (rl.actor_critic)")
        agent = cls(model.config["env"]["id"])
        agent.model = model
        return agent

    def get_config(self) -> dict[str, Any]:
        return asdict(self.config)
