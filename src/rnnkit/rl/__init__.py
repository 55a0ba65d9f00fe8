"""rnnkit.rl: reinforcement learning with memory, recurrent PPO on gymnasium environments.

:class:`RecurrentPPO` is the Python API (``rnnkit rl train`` / ``rnnkit rl eval`` are thin layers over it);
:mod:`rnnkit.rl.envs` holds the partial-observability wrappers and the memory task, :mod:`rnnkit.rl.policy` the
recurrent actor-critic, :mod:`rnnkit.rl.rollout` experience collection and sequence minibatches, and
:mod:`rnnkit.rl.ppo` the loss on the engine's trainer.

Only the model (:class:`ActorCritic`) is imported eagerly, so ``rnnkit.load`` reads an agent without gymnasium;
the rest needs the ``rl`` extra (``pip install 'rnnkit[rl]'``).
"""

from typing import Any

from rnnkit.rl.policy import ActorCritic

__all__ = ["ActorCritic", "PPOConfig", "RecurrentPPO", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "RecurrentPPO":
        from rnnkit.rl.agent import RecurrentPPO

        return RecurrentPPO
    if name in ("PPOConfig", "evaluate"):
        from rnnkit.rl import ppo

        return getattr(ppo, name)
    raise AttributeError(f"module 'rnnkit.rl' has no attribute {name!r}")
