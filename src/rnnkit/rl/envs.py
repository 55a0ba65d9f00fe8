"""Environments for recurrent RL: gymnasium vector environments, partial-observability wrappers and a memory task.

- :func:`make_vec_env` builds a ``gymnasium`` vector environment (sync or async) of any registered id, with the
  wrappers below, and ``SAME_STEP`` autoreset (a finished episode's last observation is in ``info["final_obs"]``
  and the returned observation already starts the next episode), which is what rollouts with recurrent state need.
- :class:`MaskVelocity` removes the velocity entries from the observation (CartPole, Pendulum, LunarLander,
  Acrobot, MountainCar and the MuJoCo locomotion tasks whose observation is positions then velocities), so the
  agent has to infer them from what it saw before: the classic test of memory (rl-zoo's "NoVel" tasks).
- :class:`ObservationNoise` adds Gaussian noise to each observation.
- ``rnnkit/RepeatPrevious-v0`` (:class:`RepeatPrevious`): a memory task. Each step shows one of ``k`` symbols; the
  reward is +1 when the action names the symbol shown ``delay`` steps earlier, else 0. A memoryless policy scores
  ``1/k`` per step at best; a recurrent one can score 1 (as POPGym's RepeatPrevious).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import gymnasium as gym
except ModuleNotFoundError as err:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError("rnnkit.rl needs gymnasium: pip install 'rnnkit[rl]'", name=err.name) from err

# Observation indices that are velocities, for the classic-control and Box2D tasks.
VELOCITY_INDICES: dict[str, tuple[int, ...]] = {
    "CartPole": (1, 3),  # x, x_dot, theta, theta_dot
    "Pendulum": (2,),  # cos theta, sin theta, theta_dot
    "LunarLander": (2, 3, 5),  # x, y, vx, vy, angle, angular velocity, leg contacts
    "Acrobot": (4, 5),  # cos/sin of both joints, both joint velocities
    "MountainCar": (1,),  # position, velocity
    "MountainCarContinuous": (1,),
}
# MuJoCo tasks whose observation is (positions without the root's x[, y]) followed by all nv joint velocities.
MUJOCO_POSITIONS_THEN_VELOCITIES = ("HalfCheetah", "Hopper", "Walker2d", "Swimmer", "InvertedPendulum")


def _family(env_id: str) -> str:
    """``"CartPole-v1"`` -> ``"CartPole"``; ``"ALE/Pong-v5"`` -> ``"Pong"``."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0]


def velocity_indices(env: gym.Env, env_id: str) -> tuple[int, ...]:
    """The observation entries of ``env`` that are velocities, or a ValueError naming the supported tasks."""
    family = _family(env_id)
    if family in VELOCITY_INDICES:
        return VELOCITY_INDICES[family]
    if family in MUJOCO_POSITIONS_THEN_VELOCITIES:
        nv = int(env.unwrapped.model.nv)  # type: ignore[attr-defined]
        size = int(np.prod(env.observation_space.shape))  # type: ignore[arg-type]
        return tuple(range(size - nv, size))
    known = ", ".join([*VELOCITY_INDICES, *MUJOCO_POSITIONS_THEN_VELOCITIES])
    raise ValueError(f"--mask_velocity: the velocity entries of {env_id} are not known; supported tasks: {known}")


class MaskVelocity(gym.ObservationWrapper):
    """Drop the velocity entries of a flat Box observation (see :data:`VELOCITY_INDICES`)."""

    def __init__(self, env: gym.Env, env_id: str) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"--mask_velocity needs a flat Box observation; {env_id} has {space}")
        drop = set(velocity_indices(env, env_id))
        self.keep = np.array([i for i in range(space.shape[0]) if i not in drop])
        self.observation_space = gym.spaces.Box(space.low[self.keep], space.high[self.keep], dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[self.keep]


class ObservationNoise(gym.ObservationWrapper):
    """Add N(0, std^2) noise to every observation entry, drawn from the environment's seeded generator."""

    def __init__(self, env: gym.Env, std: float) -> None:
        super().__init__(env)
        self.std = std

    def observation(self, observation: np.ndarray) -> np.ndarray:
        noise = self.np_random.normal(0.0, self.std, size=np.shape(observation))
        return (observation + noise).astype(self.observation_space.dtype)


class RepeatPrevious(gym.Env):
    """Say which of ``k`` symbols was shown ``delay`` steps ago (one-hot observations, reward 1 when right).

    Episodes last ``length`` steps; the first ``delay`` steps have no answer and give no reward. The best
    possible return is ``length - delay``; a policy without memory expects ``(length - delay) / k``.

    >>> env = RepeatPrevious(k=4, delay=2, length=10)
    >>> obs, _ = env.reset(seed=0)
    >>> obs.shape, int(env.action_space.n)
    ((4,), 4)
    """

    metadata = {"render_modes": []}  # noqa: RUF012  (gymnasium declares it an instance variable)

    def __init__(self, k: int = 4, delay: int = 4, length: int = 64, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        if not (k >= 2 and 1 <= delay < length):
            raise ValueError(f"RepeatPrevious needs k >= 2 and 1 <= delay < length; got k={k}, delay={delay}")
        self.k, self.delay, self.length = k, delay, length
        self.observation_space = gym.spaces.Box(0.0, 1.0, (k,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(k)
        self._symbols = np.zeros(length, dtype=np.int64)
        self._t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.k, dtype=np.float32)
        obs[self._symbols[self._t]] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._symbols = self.np_random.integers(0, self.k, size=self.length)
        self._t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        answer = self._t - self.delay
        reward = float(answer >= 0 and int(action) == self._symbols[answer])
        self._t += 1
        done = self._t >= self.length
        if done:
            self._t = self.length - 1  # the final observation is never acted on
        return self._obs(), reward, False, done, {}


gym.register("rnnkit/RepeatPrevious-v0", entry_point="rnnkit.rl.envs:RepeatPrevious")


def make_env(
    env_id: str,
    *,
    mask_velocity: bool = False,
    obs_noise: float = 0.0,
    render_mode: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> gym.Env:
    """One environment with the partial-observability wrappers, or a one-line error for a bad id."""
    try:
        env = gym.make(env_id, render_mode=render_mode, **(env_kwargs or {}))
    except gym.error.Error as err:
        raise ValueError(f"--env: cannot make {env_id!r}: {err}") from None
    except ModuleNotFoundError as err:
        raise ValueError(
            f"--env {env_id}: it needs the package {err.name!r}, which is not installed "
            "(MuJoCo tasks: pip install 'gymnasium[mujoco]'; Box2D: pip install 'gymnasium[box2d]')"
        ) from None
    if mask_velocity:
        env = MaskVelocity(env, env_id)
    if obs_noise > 0:
        env = ObservationNoise(env, obs_noise)
    check_spaces(env, env_id)
    return env


def check_spaces(env: gym.Env, env_id: str) -> None:
    """Observations must be flat boxes; actions Discrete or Box. Anything else: a ValueError saying so."""
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Box) or len(obs.shape) != 1:
        raise ValueError(f"{env_id}: rnnkit rl needs a flat Box observation space (a vector); got {obs}")
    if not isinstance(act, gym.spaces.Discrete | gym.spaces.Box) or (
        isinstance(act, gym.spaces.Box) and len(act.shape) != 1
    ):
        raise ValueError(f"{env_id}: rnnkit rl supports Discrete and 1-D Box action spaces; got {act}")


def make_vec_env(
    env_id: str,
    n_envs: int,
    *,
    asynchronous: bool = False,
    mask_velocity: bool = False,
    obs_noise: float = 0.0,
    env_kwargs: dict[str, Any] | None = None,
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``env_id`` in a vector environment with SAME_STEP autoreset."""
    make_env(env_id, mask_velocity=mask_velocity, obs_noise=obs_noise, env_kwargs=env_kwargs).close()  # fail early

    def thunk() -> gym.Env:
        return make_env(env_id, mask_velocity=mask_velocity, obs_noise=obs_noise, env_kwargs=env_kwargs)

    fns: list[Callable[[], gym.Env]] = [thunk] * n_envs
    mode = gym.vector.AutoresetMode.SAME_STEP
    if asynchronous:
        return gym.vector.AsyncVectorEnv(fns, autoreset_mode=mode)
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=mode)
