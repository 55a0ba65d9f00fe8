"""Model files: round trip with identical outputs, and a clear error for every kind of broken file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from train_toy import ToyGRU, make_model

import rnnkit
from rnnkit.train import SavableModel, load_model, register_model, save_model


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return make_model(seed=1).save(tmp_path / "model")


def edit_header(directory: Path, **changes: Any) -> None:
    path = directory / "config.json"
    header = json.loads(path.read_text())
    header.update(changes)
    path.write_text(json.dumps(header))


def rewrite_weights(directory: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Replace the weights and fix up the hash, as a careless hand edit would."""
    save_file(tensors, directory / "model.safetensors")
    edit_header(directory, sha256=hashlib.sha256((directory / "model.safetensors").read_bytes()).hexdigest())


def test_round_trip_gives_identical_predictions(saved: Path) -> None:
    model = make_model(seed=1).eval()
    loaded = load_model(saved)
    # (by name: under pytest's importlib mode train_toy may be imported twice, giving two ToyGRU class objects)
    assert type(loaded).__qualname__ == "ToyGRU" and not loaded.training
    x = torch.randn(5, 7, 3)
    assert torch.equal(loaded(x), model(x))
    header = json.loads((saved / "config.json").read_text())
    assert header == {
        "format": "rnnkit-model",
        "version": 1,
        "rnnkit_version": rnnkit.__version__,
        "kind": "tests.toy_gru",
        "config": {"features": 3, "hidden": 8, "classes": 2, "dropout": 0.0},
        "sha256": hashlib.sha256((saved / "model.safetensors").read_bytes()).hexdigest(),
    }
    assert torch.equal(rnnkit.load(saved)(x), model(x))  # the top-level loader too
    assert save_model(loaded, saved) == saved  # overwrite in place
    assert [p.name for p in saved.iterdir() if p.name.endswith(".tmp")] == []


@register_model("tests.tied")
class Tied(SavableModel, nn.Module):
    """Weight tying (as language models do): two state_dict names, one storage."""

    def __init__(self, vocab: int = 5, dim: int = 4) -> None:
        super().__init__()
        self.vocab, self.dim = vocab, dim
        self.embed = nn.Embedding(vocab, dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(ids))

    def model_config(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "dim": self.dim}

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> Tied:
        return cls(**config)


def test_tied_weights_round_trip(tmp_path: Path) -> None:
    model = Tied()
    loaded = load_model(model.save(tmp_path))
    ids = torch.tensor([[0, 3, 4]])
    assert torch.equal(loaded(ids), model(ids))
    assert loaded.out.weight is loaded.embed.weight


def test_bad_json(saved: Path) -> None:
    (saved / "config.json").write_text('{"format": "rnnkit-model", ')
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'config.json'}: expected JSON, found invalid text (Expecting property name enclosed in double "
        "quotes: line 1 column 28 (char 27))"
    )


def test_not_an_object(saved: Path) -> None:
    (saved / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == f"{saved / 'config.json'}: expected a JSON object, found list"


def test_wrong_format_tag(saved: Path) -> None:
    edit_header(saved, format="keras")
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'config.json'}: not an rnnkit model file (its format is 'keras', expected 'rnnkit-model'); "
        "give the folder an rnnkit command or save() wrote, or import other weights with rnnkit convert"
    )


def test_newer_version(saved: Path) -> None:
    edit_header(saved, version=2, rnnkit_version="9.0")
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == f"{saved / 'config.json'}: expected version 1, found 2 (written by rnnkit 9.0)"


def test_missing_keys(saved: Path) -> None:
    header = json.loads((saved / "config.json").read_text())
    del header["sha256"], header["kind"]
    (saved / "config.json").write_text(json.dumps(header))
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert (
        str(err.value) == f"{saved / 'config.json'}: expected keys 'kind', 'config', 'sha256'; missing 'kind', 'sha256'"
    )


def test_unknown_kind(saved: Path) -> None:
    edit_header(saved, kind="tests.nothing")
    with pytest.raises(ValueError) as err:
        load_model(saved)
    message = str(err.value)
    assert message.startswith(f"{saved / 'config.json'}: unknown model kind 'tests.nothing'; known kinds: ")
    assert "tests.toy_gru" in message and message.endswith("(rnnkit.load registers every kind rnnkit ships)")


def test_truncated_weights(saved: Path) -> None:
    weights = saved / "model.safetensors"
    blob = weights.read_bytes()
    weights.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError) as err:
        load_model(saved)
    expected = json.loads((saved / "config.json").read_text())["sha256"]
    found = hashlib.sha256(blob[: len(blob) // 2]).hexdigest()
    assert str(err.value) == (
        f"{weights}: sha256 mismatch: config.json expects {expected}, the file has {found} "
        "(truncated or modified after saving)"
    )


def test_tampered_weights(saved: Path) -> None:
    weights = saved / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-3] ^= 0xFF  # one flipped byte inside a tensor: still a valid safetensors file
    weights.write_bytes(bytes(blob))
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value).startswith(f"{weights}: sha256 mismatch: config.json expects ")


def test_garbage_weights_with_matching_hash(saved: Path) -> None:
    weights = saved / "model.safetensors"
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    edit_header(saved, sha256=hashlib.sha256(weights.read_bytes()).hexdigest())
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value).startswith(f"{weights}: expected a safetensors file, found unreadable data (")


def test_missing_and_extra_tensors(saved: Path) -> None:
    tensors = load_file(saved / "model.safetensors")
    tensors["head.scale"] = tensors.pop("head.bias")
    rewrite_weights(saved, tensors)
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'model.safetensors'}: tensor names do not match the 'tests.toy_gru' model built from "
        "config.json: missing ['head.bias'], unexpected ['head.scale']"
    )


def test_wrong_shape_from_an_edited_config(saved: Path) -> None:
    header = json.loads((saved / "config.json").read_text())
    header["config"]["classes"] = 3
    (saved / "config.json").write_text(json.dumps(header))
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'model.safetensors'}: tensor 'head.weight' has shape (2, 8), "
        "the model built from config.json expects (3, 8)"
    )


def test_wrong_dtype(saved: Path) -> None:
    tensors = load_file(saved / "model.safetensors")
    tensors["head.bias"] = tensors["head.bias"].half()
    rewrite_weights(saved, tensors)
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'model.safetensors'}: tensor 'head.bias' has dtype torch.float16, "
        "the model built from config.json expects torch.float32"
    )


def test_config_that_does_not_build_the_model(saved: Path) -> None:
    header = json.loads((saved / "config.json").read_text())
    header["config"]["layers"] = 2
    (saved / "config.json").write_text(json.dumps(header))
    with pytest.raises(ValueError) as err:
        load_model(saved)
    assert str(err.value) == (
        f"{saved / 'config.json'}: its 'config' does not build a 'tests.toy_gru' model "
        "(TypeError: ToyGRU.__init__() got an unexpected keyword argument 'layers')"
    )


def test_missing_files(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_model(tmp_path / "nowhere")
    assert str(err.value) == (
        f"no model directory at {tmp_path / 'nowhere'}: expected a directory with config.json and model.safetensors"
    )
    (saved / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_model(saved)
    assert str(err.value) == f"{saved / 'model.safetensors'} is missing: expected it next to config.json"
    (saved / "config.json").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_model(saved)
    assert (
        str(err.value) == f"{saved / 'config.json'} is missing: expected config.json and model.safetensors in {saved}"
    )


def test_unregistered_models_and_kind_clashes(tmp_path: Path) -> None:
    with pytest.raises(TypeError) as err:
        save_model(nn.Linear(2, 2), tmp_path)
    assert str(err.value) == "save_model needs a model class decorated with @register_model(kind); got Linear"

    with pytest.raises(ValueError) as err:

        @register_model("tests.toy_gru")
        class Other(ToyGRU):
            pass

    message = str(err.value)  # module names depend on pytest's import mode (train_toy or tests.train.train_toy)
    assert message.startswith("model kind 'tests.toy_gru' is already registered by ")
    assert "train_toy.ToyGRU; " in message
    assert message.endswith(".test_unregistered_models_and_kind_clashes.<locals>.Other needs another kind")

    with pytest.raises(TypeError) as err:

        @register_model("tests.incomplete")
        class Incomplete(nn.Module):
            pass

    assert str(err.value) == (
        "@register_model('tests.incomplete'): test_unregistered_models_and_kind_clashes.<locals>.Incomplete "
        "must define model_config()"
    )
