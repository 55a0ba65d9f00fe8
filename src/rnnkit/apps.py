"""The applications, in one table: each row names the modules that give its CLI verbs, its demo section and its
model kinds. ``rnnkit.cli`` builds its command groups from it, ``rnnkit demo`` its sections, and ``rnnkit.load``
imports the model modules it names (so their kinds are registered). A new application is a folder plus one row.

>>> [app.group for app in APPS]
['classify', 'text', 'translate', 'forecast', 'video', 'rl', 'convert', 'export']
>>> cli_groups()["forecast"]
'rnnkit.forecast.cli'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class App:
    group: str
    """The CLI group: ``rnnkit GROUP VERB``."""
    cli: str
    """Module with ``COMMANDS = {"verb": (ConfigDataclass, function)}``."""
    demos: tuple[str, ...] = ()
    """Modules with ``section(out, quick)`` for ``rnnkit demo``, one report section each (none: no section)."""
    models: tuple[str, ...] = ()
    """Modules whose import registers the application's model kinds with ``rnnkit.train.register_model``."""


APPS: tuple[App, ...] = (
    App("classify", "rnnkit.classify.cli", ("rnnkit.classify.demo",), ("rnnkit.classify.model",)),
    App(
        "text",
        "rnnkit.text.cli",
        ("rnnkit.text.demo", "rnnkit.text.chat.demo"),
        ("rnnkit.text.lm.model", "rnnkit.text.chat.model", "rnnkit.text.classify.model"),
    ),
    App("translate", "rnnkit.text.translate.cli", (), ("rnnkit.text.translate.model",)),
    App("forecast", "rnnkit.forecast.cli", ("rnnkit.forecast.demo",), ("rnnkit.forecast.models",)),
    App("video", "rnnkit.video.cli", ("rnnkit.video.demo",), ("rnnkit.video.classifier", "rnnkit.video.predictor")),
    App("rl", "rnnkit.rl.cli", ("rnnkit.rl.demo",), ("rnnkit.rl.policy",)),
    App("convert", "rnnkit.interop.convert_cli", (), ("rnnkit.interop.keras_layers",)),
    App("export", "rnnkit.interop.export_cli"),
)


def cli_groups() -> dict[str, str]:
    """CLI group -> module with its COMMANDS; "" is the top level (``rnnkit demo``)."""
    return {"": "rnnkit.demo", **{app.group: app.cli for app in APPS}}


def demo_sections() -> list[str]:
    """Modules providing a demo section, in report order."""
    return [module for app in APPS for module in app.demos]


def import_models() -> None:
    """Import every application's model modules, so that ``load_model`` knows every kind."""
    for app in APPS:
        for module in app.models:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name != module:  # a missing dependency inside it is a real error
                    raise
