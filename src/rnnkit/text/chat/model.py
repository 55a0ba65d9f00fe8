"""The dialogue model: a :class:`~rnnkit.text.lm.model.LanguageModel` trained on framed turns, which also keeps
who it knows (the speakers of its training data) and whom a chat session speaks as by default.

Shapes: B batch, T time steps, V vocabulary.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from rnnkit.text.chat.dialogue import EOT, SAYS, SPECIALS
from rnnkit.text.lm.model import LanguageModel
from rnnkit.train import register_model


@register_model("chat_model")
class ChatModel(LanguageModel):
    """A language model over ``<bos> NAME <says> TEXT <eot> ...`` streams (see :mod:`rnnkit.text.chat.dialogue`).

    Args:
        chat: ``{"speakers": [...], "as": NAME, "reply_as": NAME, "loss_on": ...}``: the speakers of the training
            data (most turns first) and the session's default speakers.
        **lm: the arguments of :class:`~rnnkit.text.lm.model.LanguageModel`; the tokeniser must have the chat's
            special tokens.

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> tok = build_tokenizer("char", "AB hi", specials=SPECIALS)
    >>> m = ChatModel(vocab_size=tok.vocab_size, embed_size=4, hidden_size=8, num_layers=1,
    ...               tokenizer=tok.to_config(), chat={"speakers": ["A", "B"], "as": "A", "reply_as": "B"})
    >>> m.speakers, m.default_as, m.default_reply_as
    (['A', 'B'], 'A', 'B')
    """

    def __init__(self, *, chat: dict[str, Any], **lm: Any) -> None:
        super().__init__(**lm)
        # The +-0.1 embedding of the chat's measured runs (the language model's untied N(0, 1) is not measured on
        # dialogues yet; the memory tests pin the small one).
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if self.tokenizer is None or any(s not in self.tokenizer.specials for s in SPECIALS):
            raise ValueError(f"ChatModel: expected a tokenizer with the special tokens {', '.join(SPECIALS)}")
        for key in ("speakers", "as", "reply_as"):
            if key not in chat:
                raise ValueError(f"ChatModel: expected chat[{key!r}] (the speakers and the session's defaults)")
        self.args["chat"] = dict(chat)
        self.eot_id = self.tokenizer.token_id(EOT)
        self.says_id = self.tokenizer.token_id(SAYS)

    @property
    def speakers(self) -> list[str]:
        return list(self.args["chat"]["speakers"])

    @property
    def default_as(self) -> str:
        return str(self.args["chat"]["as"])

    @property
    def default_reply_as(self) -> str:
        return str(self.args["chat"]["reply_as"])
