"""rnnkit.text.chat: a conversational model whose memory is its recurrent state.

- :mod:`~rnnkit.text.chat.dialogue`: conversations from scripts, CSV and JSONL files; framing as one token stream;
- :class:`ChatModel`: the language model over framed turns; :class:`Chatbot`: ``.fit(dialogues)``, ``.session()``,
  ``.evaluate(dialogues)``;
- :class:`ChatSession`: ``.reply(message)``, ``.stream(message)``, ``.reset()``, ``.save(file)``, ``.load(file)``;
- ``rnnkit text chat-train|chat|chat-eval``.
"""

from rnnkit.text.chat.dialogue import Turn, read_dialogues
from rnnkit.text.chat.estimator import Chatbot
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.chat.session import ChatSession

__all__ = ["ChatModel", "ChatSession", "Chatbot", "Turn", "read_dialogues"]
