"""The Python API of chat: ``Chatbot().fit(dialogues)`` -> ``.session()`` -> ``session.reply("Good morrow!")``.

``rnnkit text chat-train|chat|chat-eval`` are thin layers over this class: the same settings
(:class:`~rnnkit.text.chat.fit.ChatSettings`), the same code path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.text.chat.dialogue import ASSISTANT, USER, Dialogue, Turn, read_dialogues
from rnnkit.text.chat.fit import ChatSettings, fit_chat, headline, prepare
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.chat.score import memory_figures
from rnnkit.text.chat.session import ChatSession
from rnnkit.text.running import Estimator, check_out, train


def dialogues_from(data: Any) -> tuple[list[Dialogue], str]:
    """Conversations and a name for messages, from a file's path, a list of conversations (lists of
    :class:`Turn`) or a list of (message, reply) pairs.

    >>> dialogues_from([("Hello", "Hi there")])[0]
    [[Turn(speaker='user', text='Hello', reply=False), Turn(speaker='assistant', text='Hi there', reply=True)]]
    """
    if isinstance(data, (str, os.PathLike)):
        return read_dialogues(Path(data)), str(data)
    if not isinstance(data, Sequence) or not data:
        raise TypeError(
            "expected the dialogue as a file's path, a list of conversations (lists of Turn) or a list of "
            f"(message, reply) pairs; got {type(data).__name__}"
        )
    dialogues: list[Dialogue] = []
    for i, item in enumerate(data):
        if isinstance(item, (tuple, list)) and item and all(isinstance(t, Turn) for t in item):
            dialogues.append(list(item))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(t, str) and t.strip() for t in item):
            dialogues.append([Turn(USER, item[0].strip(), reply=False), Turn(ASSISTANT, item[1].strip(), reply=True)])
        else:
            raise TypeError(
                f"item {i} of the dialogue should be a (message, reply) pair of non-empty strings or a list of Turn; "
                f"got {item!r:.60}"
            )
    return dialogues, "the dialogue"


class Chatbot(Estimator[ChatModel]):
    """A dialogue model you fit on conversations, then talk to (estimator style).

    Args:
        **settings: any field of :class:`~rnnkit.text.chat.fit.ChatSettings` (the flags of
            ``rnnkit text chat-train``); the same defaults as the command line.

    >>> pairs = [("hello", "hi there"), ("how are you", "well, thank you")] * 20
    >>> bot = Chatbot(embed_size=8, hidden_size=16, num_layers=1, bptt=16, batch_size=4, max_steps=5,
    ...               quiet=True).fit(pairs)
    >>> sorted(bot.metrics["memory"])
    ['carried', 'first_tokens', 'fresh', 'previous_turn', 'reply_tokens']
    >>> isinstance(bot.session(seed=0, max_new_tokens=10).reply("hello"), str)
    True
    """

    settings_class = ChatSettings
    model_class = ChatModel
    what, fit_hint, train_hint = "a chat model", ".fit(dialogues)", "rnnkit text chat-train --data FILE --out DIR"
    settings: ChatSettings

    def fit(self, data: Any, *, out: str | Path | None = None, resume: bool = False, record: Any = None) -> Chatbot:
        """Train on ``data``: a script, CSV or JSONL file (:func:`~rnnkit.text.chat.dialogue.read_dialogues`),
        a list of conversations, or a list of (message, reply) pairs. The last ``val_fraction`` of the turns is
        held out; metrics.json gets the held-out reply perplexity with and without the carried state.

        ``out``, ``resume`` and ``record`` as :meth:`rnnkit.text.TextGenerator.fit`."""
        check_out(out, resume)
        dialogues, source = dialogues_from(data)
        prepared = prepare(self.settings, dialogues, source)  # before the driver: bad data fails fast
        resolved = {"bptt": prepared.settings.bptt, "batch_size": prepared.settings.batch_size}
        model, self.metrics = train(
            prepared.settings,
            lambda run_dir, run_config: fit_chat(prepared.settings, prepared, run_dir, run_config),
            command="text chat-train",
            out=out,
            resume=resume,
            record=dataclasses.replace(record, **resolved) if record is not None else None,  # config.json: resolved
            headline=headline,
        )
        self.model = model  # type: ignore[assignment]
        return self

    def session(self, **options: Any) -> ChatSession:
        """A new conversation; ``options`` as :class:`~rnnkit.text.chat.session.ChatSession` takes them."""
        return ChatSession(self.fitted, **options)

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Reply perplexity on ``data`` (every conversation in it) with the conversation carried in the state,
        with only the previous turn, and from a fresh state (:mod:`rnnkit.text.chat.score`)."""
        dialogues, _ = dialogues_from(data)
        return memory_figures(self.fitted, dialogues)
