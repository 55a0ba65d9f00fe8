"""The recurrent actor-critic: observation normaliser, recurrent core(s), policy and value heads.

Shapes: B batch (environments or sequences), T time, D observation size, H hidden size, L core layers,
A action size (continuous) or number of actions (discrete).

The core is any rnnkit recurrent layer from the registry, by name (``lstm``, ``gru``, ``ln_lstm``, ``mingru``,
... see :func:`rnnkit.nn.sequence_cell_names`; ``none`` is a feed-forward baseline of the same width). By default
the actor and the critic have a core each (as sb3-contrib's ``enable_critic_lstm=True``); ``shared_core=True``
gives them one. The state is a flat tuple of (L, B, H) tensors: the actor core's, then the critic core's (an LSTM
contributes h and c, a GRU h, ``none`` nothing).

The same fused layer runs one step at a time while collecting experience (:meth:`ActorCritic.act`) and whole
padded sequence chunks while training (:meth:`ActorCritic.forward_sequence`), so no Python loop over time
runs during training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Normal

import rnnkit.nn as rnn
from rnnkit.train import SavableModel, register_model

State = tuple[Tensor, ...]


def cell_choices() -> tuple[str, ...]:
    """Core names: every registered sequence cell (:func:`rnnkit.nn.sequence_cell_names`) and ``none``."""
    return (*rnn.sequence_cell_names(), "none")


class RunningNorm(nn.Module):
    """Running mean and variance of observations (parallel Welford), applied as (x - mean) / std, clipped.

    The statistics are buffers: saved with the model and in checkpoints, used unchanged at evaluation.

    >>> norm = RunningNorm(2)
    >>> norm.update(torch.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> [round(m, 2) for m in norm.mean.tolist()]
    [2.0, 20.0]
    """

    mean: Tensor
    var: Tensor
    count: Tensor

    def __init__(self, size: int, clip: float = 10.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.clip, self.eps = clip, eps
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor) -> None:  # x (N, D)
        x = x.to(torch.float64)
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var.copy_((self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total)
        self.count.copy_(total)

    def forward(self, x: Tensor) -> Tensor:
        z = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + self.eps)
        return z.clamp(-self.clip, self.clip)


def _mlp(size: int, layers: Sequence[int]) -> tuple[nn.Sequential, int]:
    modules: list[nn.Module] = []
    for width in layers:
        modules += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*modules), size


class Core(nn.Module):
    """One recurrent layer (batch first) or, for ``cell="none"``, a Linear + ReLU with an empty state."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        choices = cell_choices()
        if cell not in choices:
            raise ValueError(f"--cell must be one of {', '.join(choices)}; got {cell!r}")
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self._tuple_state = False
        self._state_shapes: list[tuple[int, ...]] = []  # each state tensor's shape without the batch dimension
        if cell == "none":
            self.layer: nn.Module = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ReLU())
        else:
            self.layer = rnn.make_layer(cell, input_size, hidden_size, num_layers=num_layers, batch_first=True)
            with torch.no_grad():  # the state's structure, as the layer returns it: a tensor or a tuple of them
                _, h_n = self.layer(torch.zeros(1, 1, input_size))
            self._tuple_state = isinstance(h_n, tuple | list)
            tensors = list(h_n) if self._tuple_state else [h_n]
            self._state_shapes = [(t.shape[0], *t.shape[2:]) for t in tensors]  # (L*D, B, H...) without B
        self.state_size = len(self._state_shapes)

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        return tuple(torch.zeros((s[0], batch, *s[1:]), device=device) for s in self._state_shapes)

    def forward(self, x: Tensor, state: State, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        # x (B, T, I) -> features (B, T, H) and the state after each sequence's last valid step
        if self.cell == "none":
            return self.layer(x), ()
        hx: Any = tuple(state) if self._tuple_state else state[0]
        y, h_n = self.layer(x, hx, lengths=lengths)
        return y, (tuple(h_n) if self._tuple_state else (h_n,))


@register_model("rl.actor_critic")
class ActorCritic(SavableModel, nn.Module):
    """A recurrent actor-critic for a flat Box observation and a Discrete or 1-D Box action space.

    ``env`` (JSON) records how the environment was made (id, wrappers), so a saved model can be evaluated alone.

    >>> model = ActorCritic(obs_size=2, n_actions=3, cell="gru", hidden_size=8)
    >>> state = model.initial_state(4)
    >>> action, logp, value, state = model.act(torch.zeros(4, 2), state, torch.ones(4, dtype=torch.bool))
    >>> action.shape, value.shape, len(state)
    (torch.Size([4]), torch.Size([4]), 2)
    """

    def __init__(
        self,
        obs_size: int,
        n_actions: int | None = None,
        action_size: int | None = None,
        action_low: Sequence[float] | None = None,
        action_high: Sequence[float] | None = None,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        shared_core: bool = False,
        net_arch: Sequence[int] = (64,),
        log_std_init: float = 0.0,
        normalize_obs: bool = True,
        env: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if (n_actions is None) == (action_size is None):
            raise ValueError("ActorCritic needs n_actions (Discrete) or action_size (Box), exactly one")
        self.config: dict[str, Any] = {
            "obs_size": obs_size,
            "n_actions": n_actions,
            "action_size": action_size,
            "action_low": list(action_low) if action_low is not None else None,
            "action_high": list(action_high) if action_high is not None else None,
            "cell": cell,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "shared_core": shared_core,
            "net_arch": list(net_arch),
            "log_std_init": log_std_init,
            "normalize_obs": normalize_obs,
            "env": dict(env or {}),
        }
        self.discrete = n_actions is not None
        self.obs_norm = RunningNorm(obs_size) if normalize_obs else None
        self.actor_core = Core(cell, obs_size, hidden_size, num_layers)
        self.critic_core = None if shared_core else Core(cell, obs_size, hidden_size, num_layers)
        self.pi_net, pi_size = _mlp(hidden_size, net_arch)
        self.vf_net, vf_size = _mlp(hidden_size, net_arch)
        self.action_head = nn.Linear(pi_size, n_actions if n_actions is not None else action_size)  # type: ignore[arg-type]
        self.value_head = nn.Linear(vf_size, 1)
        self.log_std = nn.Parameter(torch.full((action_size,), float(log_std_init))) if action_size else None

    # ---- model file -----------------------------------------------------------------------------------
    def model_config(self) -> dict[str, Any]:
        return dict(self.config)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> ActorCritic:
        return cls(**config)

    # ---- state ----------------------------------------------------------------------------------------
    def _cores(self) -> list[Core]:
        return [self.actor_core] if self.critic_core is None else [self.actor_core, self.critic_core]

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        """Zeros for every core: a tuple of (L, B, H) tensors."""
        return tuple(t for core in self._cores() for t in core.initial_state(batch, device))

    def _split(self, state: State) -> list[State]:
        parts, i = [], 0
        for core in self._cores():
            parts.append(tuple(state[i : i + core.state_size]))
            i += core.state_size
        return parts

    @staticmethod
    def reset_state(state: State, starts: Tensor) -> State:
        """Zero the state of the batch entries whose episode starts now (``starts`` (B,) bool)."""
        if not state:
            return state
        keep = (~starts).to(state[0].dtype)[None, :, None]
        return tuple(s * keep for s in state)

    # ---- forward --------------------------------------------------------------------------------------
    def normalize(self, obs: Tensor) -> Tensor:
        """Raw observations -> the network's input (normalised if ``normalize_obs``), float32."""
        obs = obs.to(torch.float32)
        return self.obs_norm(obs) if self.obs_norm is not None else obs

    def forward_sequence(self, x: Tensor, state: State, lengths: Tensor | None = None) -> tuple[Tensor, Tensor, State]:
        """Normalised inputs (B, T, D) from ``state`` -> policy features (B, T, F), values (B, T), final state."""
        parts = self._split(state)
        actor, actor_state = self.actor_core(x, parts[0], lengths)
        if self.critic_core is None:
            critic, new_state = actor, actor_state
        else:
            critic, critic_state = self.critic_core(x, parts[1], lengths)
            new_state = actor_state + critic_state
        values = self.value_head(self.vf_net(critic)).squeeze(-1)
        return self.pi_net(actor), values, new_state

    def distribution(self, features: Tensor) -> Distribution:
        """The action distribution for policy features (..., F)."""
        out = self.action_head(features)
        # validate_args=False: the parameters come from the network, and checking them costs a tenth of a step
        if self.discrete:
            return Categorical(logits=out, validate_args=False)
        assert self.log_std is not None
        return Normal(out, self.log_std.exp().expand_as(out), validate_args=False)

    def log_prob(self, dist: Distribution, actions: Tensor) -> Tensor:
        """Log-probability of ``actions`` (summed over action dimensions for Box spaces)."""
        logp = dist.log_prob(actions)
        return logp if self.discrete else logp.sum(-1)

    def entropy(self, dist: Distribution) -> Tensor:
        ent = dist.entropy()
        return ent if self.discrete else ent.sum(-1)

    @torch.no_grad()
    def act(
        self, x: Tensor, state: State, starts: Tensor, deterministic: bool = False
    ) -> tuple[Tensor, Tensor, Tensor, State]:
        """One step for B environments: normalised obs (B, D) -> action, log-prob (B,), value (B,), new state.

        The state of environments whose episode starts at this step (``starts`` (B,) bool) is reset first.
        """
        state = self.reset_state(state, starts)
        features, values, new_state = self.forward_sequence(x[:, None], state)
        dist = self.distribution(features[:, 0])
        if deterministic:
            action = dist.probs.argmax(-1) if self.discrete else dist.mean  # type: ignore[attr-defined]
        else:
            action = dist.sample()
        return action, self.log_prob(dist, action), values[:, 0], new_state

    @torch.no_grad()
    def value(self, x: Tensor, state: State) -> Tensor:
        """Values (B,) of normalised observations (B, D) seen from ``state`` (no reset)."""
        return self.forward_sequence(x[:, None], state)[1][:, 0]

    def env_action(self, action: Tensor) -> Any:
        """A sampled action as the environment takes it (Box actions clipped to the space's bounds)."""
        a = action.cpu().numpy()
        if self.discrete:
            return a
        low, high = self.config["action_low"], self.config["action_high"]
        import numpy as np

        return np.clip(a, np.asarray(low, dtype=a.dtype), np.asarray(high, dtype=a.dtype))
