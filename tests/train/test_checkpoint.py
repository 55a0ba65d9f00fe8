"""Atomic files, RNG state capture, and checkpoint loading without unpickling."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.train import load_checkpoint, save_checkpoint, seed_everything
from rnnkit.train.checkpoint import atomic_write
from rnnkit.train.seeding import rng_state, set_rng_state


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint({"step": 1}, path)
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"half a checkp")
        raise RuntimeError("killed mid-write")
    assert load_checkpoint(path) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path: Path) -> None:
    seed_everything(11)
    random.random(), np.random.normal(), torch.randn(3)
    save_checkpoint({"rng": rng_state()}, tmp_path / "c.ckpt")
    expected = (random.random(), np.random.normal(), torch.randn(3))
    seed_everything(99)
    set_rng_state(load_checkpoint(tmp_path / "c.ckpt")["rng"])
    got = (random.random(), np.random.normal(), torch.randn(3))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_loading_refuses_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"payload": pickle.loads(pickle.dumps(Path("/etc")))}, path)  # an arbitrary class instance
    with pytest.raises(ValueError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"{path}: not a readable rnnkit checkpoint (UnpicklingError: ")

    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError) as err:
        load_checkpoint(tmp_path / "junk.ckpt")
    assert str(err.value).startswith(f"{tmp_path / 'junk.ckpt'}: not a readable rnnkit checkpoint (")

    with pytest.raises(FileNotFoundError) as err:
        load_checkpoint(tmp_path / "none.ckpt")
    assert str(err.value) == f"no checkpoint at {tmp_path / 'none.ckpt'}"


def test_seed_everything_rejects_non_integers() -> None:
    with pytest.raises(TypeError) as err:
        seed_everything(1.5)  # type: ignore[arg-type]
    assert str(err.value) == "seed must be an int; got float"
