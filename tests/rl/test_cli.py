"""`rnnkit rl train | eval` end to end on tiny runs, the Python API against the CLI, and bad input's messages."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("gymnasium", reason="rnnkit.rl needs the rl extra (gymnasium)")

import rnnkit
from rnnkit.cli import main
from rnnkit.rl import RecurrentPPO

TINY = [
    "--steps",
    "256",
    "--n_envs",
    "4",
    "--n_steps",
    "32",
    "--batch_size",
    "64",
    "--n_epochs",
    "2",
    "--hidden_size",
    "16",
    "--eval_episodes",
    "2",
    "--val_episodes",
    "2",
    "--quiet",
    "true",
]


def test_train_then_eval_writes_the_model_metrics_and_curve(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "rl",
                "train",
                "--env",
                "CartPole-v1",
                "--mask_velocity",
                "true",
                "--cell",
                "gru",
                "--out",
                str(out),
                *TINY[:-2],
            ]
        )
        == 0
    )  # not --quiet: the summary line is printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["env_steps"] == 256 and metrics["eval"]["episodes"] == 2
    assert (out / "learning_curve.png").stat().st_size > 0 and (out / "config.json").is_file()
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert " over 2 episodes, " in summary and summary.endswith(f"model saved to {out / 'model'}")
    model = rnnkit.load(out / "model")
    assert model.config["env"] == {"id": "CartPole-v1", "mask_velocity": True, "obs_noise": 0.0}
    assert main(["rl", "eval", "--model", str(out), "--episodes", "3"]) == 0
    assert json.loads((out / "eval_metrics.json").read_text())["episodes"] == 3


def test_python_api_and_cli_train_the_same_agent(tmp_path):
    assert (
        main(
            [
                "rl",
                "train",
                "--env",
                "CartPole-v1",
                "--cell",
                "lstm",
                "--out",
                str(tmp_path / "cli"),
                "--seed",
                "5",
                *TINY,
            ]
        )
        == 0
    )
    agent = RecurrentPPO(
        "CartPole-v1",
        cell="lstm",
        out=str(tmp_path / "api"),
        seed=5,
        steps=256,
        n_envs=4,
        n_steps=32,
        batch_size=64,
        n_epochs=2,
        hidden_size=16,
        eval_episodes=2,
        quiet=True,
    ).fit()
    cli_weights = RecurrentPPO.load(tmp_path / "cli").model.state_dict()
    for key, value in agent.model.state_dict().items():
        torch.testing.assert_close(value, cli_weights[key], atol=0, rtol=0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "NoSuchEnv-v0"], "rnnkit rl train: error: --env: cannot make 'NoSuchEnv-v0'"),
        (["--env", "Blackjack-v1"], "rnnkit rl train: error: Blackjack-v1: rnnkit rl needs a flat Box observation"),
        (
            ["--env", "Ant-v5", "--mask_velocity", "true"],
            "rnnkit rl train: error: --mask_velocity: the velocity entries of Ant-v5 are not known; supported",
        ),
        (["--env", "Taxi-v4"], "rnnkit rl train: error: Taxi-v4: rnnkit rl needs a flat Box observation"),
        (["--cell", "transformer"], "rnnkit rl train: error: --cell must be one of rnn, lstm, gru, ln_lstm"),
        (["--batch_size", "4096"], "rnnkit rl train: error: --batch_size 4096 is larger than a rollout"),
        (["--eval_every", "0"], "rnnkit rl train: error: --eval_every must be a positive number of environment steps"),
        (
            ["--target_return", "400", "--eval_every", "None"],
            "rnnkit rl train: error: --target_return needs evaluations while training: set --eval_every",
        ),
        (["--val_every", "7"], "rnnkit rl train: error: rl train evaluates every --eval_every environment steps"),
    ],
)
def test_bad_input_gets_one_line(tmp_path, capsys, args, message):
    assert main(["rl", "train", "--out", str(tmp_path), *TINY, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err


def test_a_missing_simulator_package_is_named(tmp_path, capsys, monkeypatch):
    # A mock stands in for an uninstalled MuJoCo: it is installed here, and uninstalling it in a test is not possible.
    import gymnasium as gym

    def make(env_id, **kwargs):
        raise ModuleNotFoundError("No module named 'mujoco'", name="mujoco")

    monkeypatch.setattr(gym, "make", make)
    assert main(["rl", "train", "--env", "Hopper-v5", "--out", str(tmp_path), *TINY]) == 2
    assert "it needs the package 'mujoco'" in capsys.readouterr().err


def test_eval_of_a_model_that_is_not_an_agent_says_so(tmp_path, capsys):
    assert main(["rl", "eval", "--model", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("rnnkit rl eval: error: ")


def test_ctrl_c_keeps_the_model_and_resume_finishes_the_run(tmp_path):
    """A real `rnnkit rl train` process gets SIGINT mid-training: one line, exit 130, the model so far saved; then
    --resume continues from the checkpoint to the full number of steps (environments restart: see rnnkit.rl.ppo)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    args = ["rl", "train", "--env", "CartPole-v1", "--out", str(out), *TINY, "--steps", "8192"]  # the last wins
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit.cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while not (out / "last.ckpt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    line = err.strip().splitlines()[-1]
    assert line.startswith("interrupted at step ") and line.endswith(
        f"best model saved to {out / 'model'}; continue with --resume"
    )
    assert json.loads((out / "metrics.json").read_text())["interrupted"] is True
    assert rnnkit.load(out / "model").config["env"]["id"] == "CartPole-v1"
    assert main([*args, "--resume", "true"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["env_steps"] == 8192 and "interrupted" not in metrics
