"""Experience for recurrent PPO: collection, generalised advantage estimation and sequence minibatches.

Shapes: T rollout steps per environment (``n_steps``), N environments, D observation size, S sequences in a
minibatch, M the longest of them, L core layers, H hidden size.

Memory done right (the three things sb3-contrib users trip over):

1. The recurrent state is reset inside a rollout at every episode start, before the policy sees the new episode's
   first observation (:meth:`ActorCritic.act`).
2. The state *before* every step is stored, so a training sequence can start anywhere with the exact state the
   policy had there.
3. Training runs whole sequence chunks: each minibatch is a contiguous run of steps cut at episode starts, padded
   to (S, M) with ``lengths``, and the fused recurrent layer runs over it in one call per layer.

:class:`RolloutLoader` is what :class:`rnnkit.train.Trainer` consumes: each pass over it collects one rollout with
the current policy, then yields ``n_epochs`` x ``n_minibatches`` minibatches. One trainer "epoch" is one PPO
iteration, so checkpoints, logging, schedules and resume are the engine's own.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.rl.policy import ActorCritic, State


def gae(
    rewards: Tensor, values: Tensor, starts: Tensor, last_value: Tensor, last_start: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) over a (T, N) rollout.

    ``starts[t]`` marks that an episode began at step t (the previous one ended at t-1); ``last_value``/``last_start``
    are the value and start flag of the observation after the last step. Returns (advantages, returns).

    >>> r = torch.tensor([[1.0], [1.0]]); v = torch.tensor([[0.5], [0.5]])
    >>> adv, ret = gae(r, v, torch.tensor([[True], [False]]), torch.tensor([0.5]), torch.tensor([True]), 0.9, 1.0)
    >>> [round(a, 4) for a in adv.flatten().tolist()]  # the episode ends after step 1: no bootstrap
    [1.4, 0.5]
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    for t in reversed(range(steps)):
        next_value = last_value if t == steps - 1 else values[t + 1]
        next_start = last_start if t == steps - 1 else starts[t + 1]
        nonterminal = (~next_start).to(rewards.dtype)
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        running = delta + gamma * lam * nonterminal * running
        advantages[t] = running
    return advantages, advantages + values


@dataclass
class Rollout:
    """One rollout of T steps in N environments (all (T, N, ...) tensors)."""

    obs: Tensor  # (T, N, D) normalised, as the policy saw it
    actions: Tensor  # (T, N) or (T, N, A)
    logp: Tensor  # (T, N)
    values: Tensor  # (T, N)
    advantages: Tensor  # (T, N)
    returns: Tensor  # (T, N)
    starts: Tensor  # (T, N) bool: an episode begins at this step (state reset before it)
    states: State  # each (T, L, N, H): the state before each step, after the reset


def sequences(starts: Tensor, order: Tensor, offset: int, n_minibatches: int) -> list[list[tuple[int, int, int]]]:
    """Cut the steps, environment after environment in ``order`` and rotated by ``offset``, into ``n_minibatches``
    contiguous slices of equal size, and each slice into sequences at episode starts and environment changes.

    Returns, per minibatch, (env, t0, length) triples.

    >>> starts = torch.tensor([[True, True], [False, False], [True, False], [False, False]])
    >>> sequences(starts, torch.tensor([0, 1]), 0, 2)
    [[(0, 0, 2), (0, 2, 2)], [(1, 0, 4)]]
    """
    steps, _ = starts.shape
    begins = starts.cpu().numpy().T.tolist()  # (N, T) Python bools: indexing a tensor per step is slow
    flat = [(int(env), t) for env in order for t in range(steps)]
    flat = flat[offset:] + flat[:offset]
    size = len(flat) // n_minibatches
    batches = []
    for b in range(n_minibatches):
        chunk = flat[b * size : (b + 1) * size if b < n_minibatches - 1 else len(flat)]
        seqs: list[tuple[int, int, int]] = []
        for i, (env, t) in enumerate(chunk):
            new = i == 0 or env != chunk[i - 1][0] or t != chunk[i - 1][1] + 1 or begins[env][t]
            if new:
                seqs.append((env, t, 1))
            else:
                e, t0, n = seqs[-1]
                seqs[-1] = (e, t0, n + 1)
        batches.append(seqs)
    return batches


def minibatch(rollout: Rollout, seqs: list[tuple[int, int, int]], clip: float) -> dict[str, Any]:
    """Pad the sequences of one minibatch to (S, M) tensors, with their lengths, mask and initial states."""
    steps, n_envs = rollout.starts.shape
    longest = max(n for _, _, n in seqs)
    env = torch.tensor([e for e, _, _ in seqs])
    t0 = torch.tensor([t for _, t, _ in seqs])
    lengths = torch.tensor([n for _, _, n in seqs])
    offsets = torch.arange(longest)
    mask = offsets[None, :] < lengths[:, None]  # (S, M)
    t = torch.where(mask, t0[:, None] + offsets[None, :], t0[:, None])  # padding repeats a valid step
    index = t * n_envs + env[:, None]  # into the flattened (T * N) arrays

    def take(x: Tensor) -> Tensor:
        return x.reshape(steps * n_envs, *x.shape[2:])[index]

    return {
        "obs": take(rollout.obs),
        "actions": take(rollout.actions),
        "logp": take(rollout.logp),
        "values": take(rollout.values),
        "advantages": take(rollout.advantages),
        "returns": take(rollout.returns),
        "mask": mask,
        "lengths": lengths,
        "state": tuple(s[t0, :, env].transpose(0, 1).contiguous() for s in rollout.states),  # each (L, S, H)
        "clip": torch.tensor(clip),
    }


def n_minibatches(rollout_steps: int, batch_size: int) -> int:
    """Minibatches per pass over a rollout of ``rollout_steps`` steps (n_envs * n_steps): at least one."""
    return max(1, rollout_steps // batch_size)


class RewardScaler:
    """Divide rewards by the running standard deviation of the discounted return (as sb3's VecNormalize)."""

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0) -> None:
        self.gamma, self.clip = gamma, clip
        self.ret = np.zeros(n_envs)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.ret = self.ret * self.gamma + rewards
        n, batch_mean, batch_var = len(self.ret), float(self.ret.mean()), float(self.ret.var())
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total
        self.ret[dones] = 0.0
        return np.clip(rewards / np.sqrt(self.var + 1e-8), -self.clip, self.clip)


class RolloutLoader:
    """Collect a rollout with the current policy at each pass, then yield its PPO minibatches.

    ``len(loader)`` is ``n_epochs * n_minibatches`` (the optimizer steps per iteration). Episode statistics of
    the raw environment rewards are in :attr:`stats`.
    """

    def __init__(
        self,
        model: ActorCritic,
        envs: Any,
        *,
        n_steps: int,
        n_epochs: int,
        batch_size: int,
        gamma: float,
        gae_lambda: float,
        clip_range: float,
        clip_anneal: bool,
        iterations: int,
        normalize_reward: bool,
        seed: int,
    ) -> None:
        self.model, self.envs = model, envs
        self.n_envs = envs.num_envs
        self.n_steps, self.n_epochs = n_steps, n_epochs
        self.n_minibatches = n_minibatches(n_steps * self.n_envs, batch_size)
        self.gamma, self.lam = gamma, gae_lambda
        self.clip_range, self.clip_anneal, self.iterations = clip_range, clip_anneal, iterations
        self.reward_scaler = RewardScaler(self.n_envs, gamma) if normalize_reward else None
        self.seed = seed
        self.iteration = 0
        self._obs: np.ndarray | None = None  # the next observation of every environment (raw)
        self._starts = torch.ones(self.n_envs, dtype=torch.bool)
        self._state: State = ()
        self._running = np.zeros(self.n_envs)
        self._lengths = np.zeros(self.n_envs, dtype=np.int64)
        self.finished: deque[tuple[float, int]] = deque(maxlen=20)  # (return, length) of the last episodes
        self.env_steps = 0
        self.collect_seconds = 0.0

    def __len__(self) -> int:
        return self.n_epochs * self.n_minibatches

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer: the PPO iteration about to run (for clip annealing, also after a resume)."""
        self.iteration = epoch

    @property
    def stats(self) -> dict[str, float]:
        """Mean return and length of the last 20 finished episodes (before any finishes: of the running ones)."""
        if self.finished:
            returns, lengths = zip(*self.finished)
            return {"ep_return": float(np.mean(returns)), "ep_length": float(np.mean(lengths))}
        return {"ep_return": float(self._running.mean()), "ep_length": float(self._lengths.mean())}

    def __iter__(self):
        rollout = self.collect()
        progress = min(1.0, self.iteration / max(1, self.iterations))
        clip = self.clip_range * (1.0 - progress) if self.clip_anneal else self.clip_range
        clip = max(clip, 1e-3)
        for _ in range(self.n_epochs):
            order = torch.randperm(self.n_envs)
            offset = int(torch.randint(self.n_steps * self.n_envs, ()).item())
            for seqs in sequences(rollout.starts, order, offset, self.n_minibatches):
                yield minibatch(rollout, seqs, clip)

    @torch.no_grad()
    def collect(self) -> Rollout:
        began = time.perf_counter()
        model = self.model
        device = next(model.parameters()).device
        if self._obs is None:
            self._obs, _ = self.envs.reset(seed=self.seed)
            self._state = model.initial_state(self.n_envs, device)
        n_steps, n_envs = self.n_steps, self.n_envs
        obs_list, act_list, logp_list, val_list, rew_list, start_list = [], [], [], [], [], []
        state_list: list[State] = []
        for _ in range(n_steps):
            raw = torch.as_tensor(self._obs, dtype=torch.float32, device=device)
            if model.obs_norm is not None:
                model.obs_norm.update(raw)
            x = model.normalize(raw)
            starts = self._starts.to(device)
            state = model.reset_state(self._state, starts)
            action, logp, value, new_state = model.act(x, state, torch.zeros_like(starts))
            next_obs, reward, terminated, truncated, info = self.envs.step(model.env_action(action))
            reward = np.asarray(reward, dtype=np.float64)
            self._episode_stats(reward, terminated | truncated)
            if self.reward_scaler is not None:
                reward = self.reward_scaler(reward, terminated | truncated)
            reward = self._bootstrap_truncated(reward, truncated & ~terminated, info, new_state)
            obs_list.append(x)
            act_list.append(action)
            logp_list.append(logp)
            val_list.append(value)
            rew_list.append(torch.as_tensor(reward, dtype=torch.float32, device=device))
            start_list.append(starts)
            state_list.append(state)
            self._obs = next_obs
            self._starts = torch.as_tensor(terminated | truncated)
            self._state = new_state
        x_last = model.normalize(torch.as_tensor(self._obs, dtype=torch.float32, device=device))
        last_start = self._starts.to(device)
        last_value = model.value(x_last, model.reset_state(self._state, last_start))
        values, starts, rewards = torch.stack(val_list), torch.stack(start_list), torch.stack(rew_list)
        advantages, returns = gae(rewards, values, starts, last_value, last_start, self.gamma, self.lam)
        states = tuple(torch.stack([s[i] for s in state_list]) for i in range(len(self._state)))  # (T, L, N, H)
        self.env_steps += n_steps * n_envs
        self.collect_seconds += time.perf_counter() - began
        return Rollout(
            obs=torch.stack(obs_list),
            actions=torch.stack(act_list),
            logp=torch.stack(logp_list),
            values=values,
            advantages=advantages,
            returns=returns,
            starts=starts,
            states=states,
        )

    def _episode_stats(self, reward: np.ndarray, done: np.ndarray) -> None:
        self._running += reward
        self._lengths += 1
        for i in np.flatnonzero(done):
            self.finished.append((float(self._running[i]), int(self._lengths[i])))
        self._running[done] = 0.0
        self._lengths[done] = 0

    def _bootstrap_truncated(self, reward: np.ndarray, truncated: np.ndarray, info: dict, state: State) -> np.ndarray:
        """A time-limit end is not a real end: add gamma * V(final observation) to its reward (as sb3 does)."""
        if not truncated.any():
            return reward
        idx = np.flatnonzero(truncated)
        final = np.stack([info["final_obs"][i] for i in idx])
        model = self.model
        device = next(model.parameters()).device
        x = model.normalize(torch.as_tensor(final, dtype=torch.float32, device=device))
        sub = tuple(s[:, torch.as_tensor(idx, device=device)] for s in state)
        reward = reward.copy()
        reward[idx] += self.gamma * model.value(x, sub).cpu().numpy()
        return reward
