"""Model files: a directory with ``config.json`` and ``model.safetensors``. Saving never pickles; loading never
unpickles, and checks everything it can before building a model, so a truncated, tampered or mismatched file raises
a ``ValueError`` that says what was expected and what was found.

``config.json``::

    {"format": "rnnkit-model", "version": 1, "rnnkit_version": "0.1.0", "kind": "classify.sequence_classifier",
     "config": {...model_config()...}, "sha256": "<hex digest of model.safetensors>"}
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

from safetensors import SafetensorError
from safetensors.torch import load, save
from torch import nn

from rnnkit.train.checkpoint import atomic_write

FORMAT = "rnnkit-model"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

_REGISTRY: dict[str, Any] = {}  # kind -> model class
T = TypeVar("T", bound=type)


def register_model(kind: str) -> Callable[[T], T]:
    """Class decorator: make a model class loadable by :func:`load_model` under the name ``kind``.

    The class provides ``model_config(self) -> dict`` (JSON-able constructor arguments and preprocessing such as
    scalers, vocabularies, labels) and ``@classmethod from_model_config(cls, config) -> model``.

    >>> @register_model("doc.linear")
    ... class Linear(SavableModel, nn.Linear):
    ...     def model_config(self):
    ...         return {"in_features": self.in_features, "out_features": self.out_features}
    ...     @classmethod
    ...     def from_model_config(cls, config):
    ...         return cls(**config)
    >>> Linear.model_kind
    'doc.linear'
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"register_model needs a non-empty kind string; got {kind!r}")

    def decorate(cls: T) -> T:
        for method in ("model_config", "from_model_config"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"@register_model({kind!r}): {cls.__qualname__} must define {method}()")
        old = _REGISTRY.get(kind)
        if old is not None and _identity(old) != _identity(cls):
            raise ValueError(
                f"model kind {kind!r} is already registered by {old.__module__}.{old.__qualname__}; "
                f"{cls.__module__}.{cls.__qualname__} needs another kind"
            )
        _REGISTRY[kind] = cls
        cls.model_kind = kind  # type: ignore[attr-defined]
        return cls

    return decorate


def _identity(cls: type) -> tuple[str, str]:
    """(source file, qualified name): the same class even when its module was imported under two names."""
    module = sys.modules.get(cls.__module__)
    return (str(getattr(module, "__file__", None) or cls.__module__), cls.__qualname__)


def model_class(kind: str) -> Any:
    """The class registered under ``kind`` (for models made of other models, such as ensembles)."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(registered_kinds()) or 'none'}")
    return _REGISTRY[kind]


def registered_kinds() -> list[str]:
    """The model kinds :func:`load_model` knows, sorted."""
    return sorted(_REGISTRY)


class SavableModel:
    """Mixin giving a registered model ``.save(directory)``: ``class MyModel(SavableModel, nn.Module)``."""

    def save(self, directory: str | Path) -> Path:
        """Write ``directory/config.json`` and ``directory/model.safetensors``; returns the directory."""
        return save_model(self, directory)  # type: ignore[arg-type]


def _version() -> str:
    """The installed rnnkit's version (read here, not from the package root: the engine imports nothing above it)."""
    try:
        return version("rnnkit")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+unknown"


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def save_model(model: nn.Module, directory: str | Path) -> Path:
    """Save a registered model as ``directory/model.safetensors`` + ``directory/config.json`` (each atomically).

    The weights are written first and the config (which holds their sha256) last, so an interrupted save
    leaves a directory that :func:`load_model` rejects rather than a silently mixed model.

    >>> import tempfile
    >>> @register_model("doc.affine")
    ... class Affine(SavableModel, nn.Linear):
    ...     def model_config(self):
    ...         return {"in_features": self.in_features, "out_features": self.out_features}
    ...     @classmethod
    ...     def from_model_config(cls, config):
    ...         return cls(**config)
    >>> d = Affine(3, 2).save(tempfile.mkdtemp())
    >>> sorted(p.name for p in d.iterdir())
    ['config.json', 'model.safetensors']
    """
    model = _unwrap(model)
    kind = getattr(type(model), "model_kind", None)
    if kind is None or kind not in _REGISTRY or _identity(_REGISTRY[kind]) != _identity(type(model)):
        raise TypeError(
            f"save_model needs a model class decorated with @register_model(kind); got {type(model).__qualname__}"
        )
    config = model.model_config()  # type: ignore[operator]
    try:
        config_text = json.dumps(config)
    except TypeError as err:
        raise TypeError(f"{type(model).__qualname__}.model_config() must return JSON-able values: {err}") from err
    # clone(): tied weights share storage, which safetensors refuses; each name gets its own copy on disk and
    # load_state_dict copies both back into the one shared parameter.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    blob = save(tensors, metadata={"format": FORMAT})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(directory / WEIGHTS_FILE, "wb") as f:
        f.write(blob)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "rnnkit_version": _version(),
        "kind": kind,
        "config": json.loads(config_text),
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    with atomic_write(directory / CONFIG_FILE, "w") as f:
        json.dump(header, f, indent=2)
        f.write("\n")
    return directory


def read_model_config(directory: str | Path) -> dict[str, Any]:
    """Read and check ``directory/config.json`` (format, version, keys); returns the whole header, without
    reading the weights (e.g. to show a model's labels or vocabulary).

    >>> read_model_config("no/such/dir")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no model directory at no/such/dir: expected a directory with config.json and model.safetensors
    """
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise FileNotFoundError(
            f"no model directory at {directory}: expected a directory with {CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: expected {CONFIG_FILE} and {WEIGHTS_FILE} in {directory}")
    try:
        header = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: expected JSON, found invalid text ({err})") from err
    if not isinstance(header, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(header).__name__}")
    if header.get("format") != FORMAT:
        raise ValueError(
            f"{path}: not an rnnkit model file (its format is {header.get('format')!r}, expected {FORMAT!r}); "
            "give the folder an rnnkit command or save() wrote, or import other weights with rnnkit convert"
        )
    if header.get("version") != VERSION:
        raise ValueError(
            f"{path}: expected version {VERSION}, found {header.get('version')!r} "
            f"(written by rnnkit {header.get('rnnkit_version', '?')})"
        )
    missing = [k for k in ("kind", "config", "sha256") if k not in header]
    if missing:
        raise ValueError(f"{path}: expected keys 'kind', 'config', 'sha256'; missing {', '.join(map(repr, missing))}")
    return header


def load_model(directory: str | Path) -> nn.Module:
    """Load a model saved by :func:`save_model`, in eval mode, after checking format, kind, sha256, tensor names
    and shapes. Model kinds must be registered first (``rnnkit.load`` imports every application's models).

    >>> import tempfile, torch
    >>> @register_model("doc.dense")
    ... class Dense(SavableModel, nn.Linear):
    ...     def model_config(self):
    ...         return {"in_features": self.in_features, "out_features": self.out_features}
    ...     @classmethod
    ...     def from_model_config(cls, config):
    ...         return cls(**config)
    >>> m = Dense(3, 2); x = torch.randn(4, 3)
    >>> torch.equal(load_model(m.save(tempfile.mkdtemp()))(x), m(x))
    True
    """
    directory = Path(directory)
    header = read_model_config(directory)
    kind = header["kind"]
    cls = _REGISTRY.get(kind)
    if cls is None:
        known = ", ".join(registered_kinds()) or "none"
        raise ValueError(
            f"{directory / CONFIG_FILE}: unknown model kind {kind!r}; known kinds: {known} "
            "(rnnkit.load registers every kind rnnkit ships)"
        )
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing: expected it next to {CONFIG_FILE}")
    blob = weights.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != header["sha256"]:
        raise ValueError(
            f"{weights}: sha256 mismatch: config.json expects {header['sha256']}, the file has {digest} "
            "(truncated or modified after saving)"
        )
    try:
        tensors = load(blob)  # the bytes that were hashed, not a second read of a file that may have changed
    except SafetensorError as err:
        raise ValueError(f"{weights}: expected a safetensors file, found unreadable data ({err})") from err
    try:
        model = cls.from_model_config(header["config"])
    except (TypeError, KeyError, ValueError) as err:
        raise ValueError(
            f"{directory / CONFIG_FILE}: its 'config' does not build a {kind!r} model ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(model, nn.Module):
        raise TypeError(f"{cls.__qualname__}.from_model_config returned {type(model).__name__}, expected an nn.Module")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{weights}: tensor names do not match the {kind!r} model built from config.json: "
            f"missing {missing}, unexpected {extra}"
        )
    for name, value in expected.items():
        if tuple(tensors[name].shape) != tuple(value.shape):
            raise ValueError(
                f"{weights}: tensor {name!r} has shape {tuple(tensors[name].shape)}, "
                f"the model built from config.json expects {tuple(value.shape)}"
            )
        if tensors[name].dtype != value.dtype:
            raise ValueError(
                f"{weights}: tensor {name!r} has dtype {tensors[name].dtype}, "
                f"the model built from config.json expects {value.dtype}"
            )
    model.load_state_dict(tensors, strict=True)
    return model.eval()
