"""``rnnkit text ...``: the verbs of the language models (``train``, ``generate``, ``eval``), of chat
(``chat-train``, ``chat``, ``chat-eval``) and of the text classifier (``classify-train``, ``classify-predict``), each
defined in its application's ``cli.py``."""

from __future__ import annotations

from typing import Any

from rnnkit.text.chat.cli import COMMANDS as CHAT
from rnnkit.text.classify.cli import COMMANDS as CLASSIFY
from rnnkit.text.lm.cli import COMMANDS as LM

COMMANDS: dict[str, tuple[type, Any]] = {
    **LM,
    **CHAT,
    **{f"classify-{verb}": command for verb, command in CLASSIFY.items()},
}
