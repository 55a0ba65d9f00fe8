"""Recurrent PPO: GAE by hand, state resets at episode starts, sequence training equal to step-by-step rollout
log-probs and values, seeded repeatability, and the wrappers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("gymnasium", reason="rnnkit.rl needs the rl extra (gymnasium)")

from rnnkit.rl.envs import MaskVelocity, RepeatPrevious, make_env, make_vec_env
from rnnkit.rl.policy import ActorCritic, RunningNorm
from rnnkit.rl.ppo import PPOConfig, build_model, ppo_step, train
from rnnkit.rl.rollout import RolloutLoader, gae, minibatch, sequences


def test_gae_matches_a_hand_computed_example():
    # Two environments, three steps. Env 0 ends its episode after step 1 (a new one starts at step 2);
    # env 1 runs on, and its last step bootstraps from last_value.
    gamma, lam = 0.5, 0.5
    rewards = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    values = torch.tensor([[0.5, 1.0], [1.0, 1.0], [2.0, 0.0]])
    starts = torch.tensor([[True, True], [False, False], [True, False]])
    last_value, last_start = torch.tensor([4.0, 2.0]), torch.tensor([False, False])
    adv, ret = gae(rewards, values, starts, last_value, last_start, gamma, lam)
    # env 0: t=2: d=0+0.5*4-2=0, A=0. t=1 (episode ends): d=2-1=1, A=1. t=0: d=1+0.5*1-0.5=1, A=1+0.25*1=1.25
    # env 1: t=2: d=1+0.5*2-0=2, A=2. t=1: d=1+0.5*0-1=0, A=0+0.25*2=0.5. t=0: d=0+0.5*1-1=-0.5, A=-0.5+0.25*0.5
    expected = torch.tensor([[1.25, -0.375], [1.0, 0.5], [0.0, 2.0]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + values)


def test_sequences_cut_at_episode_starts_and_environment_changes():
    starts = torch.zeros(6, 2, dtype=torch.bool)
    starts[0] = True
    starts[4, 0] = True
    batches = sequences(starts, torch.tensor([1, 0]), offset=3, n_minibatches=3)
    flat = [seq for batch in batches for seq in batch]
    assert sum(n for _, _, n in flat) == 12  # every step exactly once
    covered = sorted((e, t0 + i) for e, t0, n in flat for i in range(n))
    assert covered == sorted((e, t) for e in range(2) for t in range(6))
    for env, t0, n in flat:  # no sequence crosses an episode start
        assert not starts[t0 + 1 : t0 + n, env].any()
    assert all(sum(n for _, _, n in b) == 4 for b in batches)


def _loader(cell: str, n_envs: int = 4, n_steps: int = 24, batch_size: int = 24) -> RolloutLoader:
    cfg = PPOConfig(
        env="rnnkit/RepeatPrevious-v0",
        steps=1000,
        n_envs=n_envs,
        n_steps=n_steps,
        cell=cell,
        hidden_size=16,
        batch_size=batch_size,
    )
    envs = make_vec_env(cfg.env, n_envs, env_kwargs={"k": 3, "delay": 2, "length": 7})
    torch.manual_seed(0)
    model = build_model(cfg, envs)
    return RolloutLoader(
        model,
        envs,
        n_steps=n_steps,
        n_epochs=1,
        batch_size=batch_size,
        gamma=0.9,
        gae_lambda=0.9,
        clip_range=0.2,
        clip_anneal=False,
        iterations=10,
        normalize_reward=True,
        seed=0,
    )


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "ln_lstm"])
def test_sequence_training_equals_the_step_by_step_rollout(cell):
    loader = _loader(cell)
    loader.collect()
    rollout = loader.collect()  # the second rollout starts mid-episode, from carried states
    assert rollout.starts[1:].any(), "episodes of 7 steps must end inside a 24-step rollout"
    for seqs in sequences(rollout.starts, torch.randperm(4), offset=5, n_minibatches=4):
        batch = minibatch(rollout, seqs, clip=0.2)
        features, values, _ = loader.model.forward_sequence(batch["obs"], batch["state"], batch["lengths"])
        mask = batch["mask"]
        logp = loader.model.log_prob(loader.model.distribution(features[mask]), batch["actions"][mask])
        torch.testing.assert_close(logp, batch["logp"][mask], atol=1e-5, rtol=0)
        torch.testing.assert_close(values[mask], batch["values"][mask], atol=1e-5, rtol=0)


def test_state_is_reset_at_every_episode_start():
    loader = _loader("lstm")
    loader.collect()
    rollout = loader.collect()
    t, env = torch.nonzero(rollout.starts, as_tuple=True)
    assert len(t) > 0
    for s in rollout.states:  # (T, L, N, H): the state the policy used at each step
        assert s[t, :, env].abs().max() == 0
    # A leak would show as different actions' log-probs from a carried state vs a fresh one at episode starts.
    model = loader.model
    x = torch.randn(3, model.config["obs_size"])
    carried = tuple(torch.randn_like(s) for s in model.initial_state(3))
    _, _, v_reset, _ = model.act(x, carried, torch.ones(3, dtype=torch.bool))
    _, _, v_fresh, _ = model.act(x, model.initial_state(3), torch.zeros(3, dtype=torch.bool))
    torch.testing.assert_close(v_reset, v_fresh)
    _, _, v_carried, _ = model.act(x, carried, torch.zeros(3, dtype=torch.bool))
    assert not torch.allclose(v_carried, v_fresh)


def test_ppo_step_loss_is_finite_and_has_gradients_for_every_parameter():
    loader = _loader("lstm")
    rollout = loader.collect()
    batch = minibatch(rollout, sequences(rollout.starts, torch.arange(4), 0, 1)[0], clip=0.2)
    batch["stats"] = loader.stats
    out = ppo_step(PPOConfig(ent_coef=0.01))(loader.model, batch, None)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert out.n == 4 * 24
    missing = [n for n, p in loader.model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_a_seed_reproduces_a_short_run(tmp_path):
    def run(out):
        cfg = PPOConfig(
            env="CartPole-v1",
            mask_velocity=True,
            steps=256,
            n_envs=4,
            n_steps=32,
            batch_size=64,
            n_epochs=2,
            cell="gru",
            hidden_size=16,
            out=str(out),
            quiet=True,
            seed=3,
        )
        model, result, _ = train(cfg)
        return model.state_dict(), result.history[-1]

    weights_a, last_a = run(tmp_path / "a")
    weights_b, last_b = run(tmp_path / "b")
    for key in weights_a:
        torch.testing.assert_close(weights_a[key], weights_b[key], atol=0, rtol=0)
    assert last_a["train_ep_return"] == last_b["train_ep_return"]


def test_mask_velocity_keeps_positions_only():
    env = make_env("CartPole-v1", mask_velocity=True)
    obs, _ = env.reset(seed=0)
    state = np.asarray(env.unwrapped.state, dtype=np.float32)
    np.testing.assert_allclose(obs, state[[0, 2]])
    assert isinstance(env, MaskVelocity) and env.observation_space.shape == (2,)
    cheetah = make_env("HalfCheetah-v5", mask_velocity=True)
    assert cheetah.observation_space.shape == (8,)  # 17 entries: 8 positions, then 9 velocities


def test_repeat_previous_rewards_exactly_the_delayed_symbol():
    env = RepeatPrevious(k=3, delay=2, length=10)
    obs, _ = env.reset(seed=1)
    shown, total = [int(obs.argmax())], 0.0
    for t in range(10):
        answer = shown[t - 2] if t >= 2 else 0
        obs, reward, terminated, truncated, _ = env.step(answer)
        total += reward
        shown.append(int(obs.argmax()))
    assert total == 8 and truncated and not terminated


def test_running_norm_matches_numpy_over_several_updates():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(300, 4))
    norm = RunningNorm(4)
    for chunk in np.split(data, 3):
        norm.update(torch.as_tensor(chunk))
    np.testing.assert_allclose(norm.mean.numpy(), data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(norm.var.numpy(), data.var(0), rtol=1e-3)


def test_box_actions_are_clipped_to_the_space_and_log_probs_sum_over_dimensions():
    model = ActorCritic(obs_size=3, action_size=2, action_low=[-1, -2], action_high=[1, 2], cell="gru", hidden_size=8)
    dist = model.distribution(torch.zeros(5, 64))
    actions = torch.full((5, 2), 10.0)
    assert model.log_prob(dist, actions).shape == (5,)
    assert model.env_action(actions).max(0).tolist() == [1.0, 2.0]


def test_the_best_evaluation_while_training_is_kept_and_a_target_return_stops(tmp_path):
    from rnnkit.rl.ppo import evaluate

    settings = dict(
        env="CartPole-v1", mask_velocity=True, n_envs=4, n_steps=32, batch_size=64, n_epochs=2, hidden_size=16,
        eval_episodes=2, val_episodes=3, eval_every=128, lr=3e-3, quiet=True, seed=1,
    )  # fmt: skip
    model, result, metrics = train(PPOConfig(**settings, steps=128 * 6, out=str(tmp_path / "best")))
    evals = metrics["curve"]["eval_return"]
    assert metrics["curve"]["eval_env_steps"] == [128 * k for k in range(1, 7)]  # one evaluation per iteration
    assert evals[-1] < max(evals)  # this seed unlearns at the end: keeping the last weights would be caught
    assert evaluate(model, 3, seed=20_000)["return_mean"] == max(evals)  # the weights of the best evaluation
    assert result.best_metrics["val_return"] == max(evals) and "best evaluation" in metrics["kept"]
    assert len(metrics["curve"]["env_steps"]) == 6 and result.stopped_reason == "epochs"

    target = min(evals[1:])  # reached by the second evaluation at the latest (same seed, same run so far)
    _, result, metrics = train(PPOConfig(**settings, steps=128 * 6, target_return=target, out=str(tmp_path / "t")))
    assert result.stopped_reason == "callback" and metrics["curve"]["eval_return"][-1] >= target
    assert len(metrics["curve"]["eval_return"]) < 6
    assert metrics["env_steps"] == metrics["curve"]["eval_env_steps"][-1] == 128 * len(metrics["curve"]["env_steps"])


def test_evaluation_settings_are_checked():
    with pytest.raises(ValueError, match="--val_every 7: leave it unset and set --eval_every instead"):
        PPOConfig(val_every=7)
    with pytest.raises(ValueError, match="--target_return needs evaluations while training"):
        PPOConfig(eval_every=None, target_return=100.0)
    assert PPOConfig(n_envs=8, n_steps=32, batch_size=128, n_epochs=5, eval_every=1000).val_every == 4 * 5 * 2
    assert PPOConfig(eval_every=None).val_every is None
