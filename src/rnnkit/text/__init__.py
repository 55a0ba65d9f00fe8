"""rnnkit.text: three text applications side by side, each in its own folder, sharing the tokenisers.

- :mod:`rnnkit.text.lm`: language models; the Python API is :class:`TextGenerator`
  (``.fit(text)`` -> ``.generate(prompt)``, ``.evaluate(text)``, ``.perplexity(text)``), the module
  :class:`LanguageModel`; ``rnnkit text train|generate|eval``;
- :mod:`rnnkit.text.chat`: chat; :class:`Chatbot` (``.fit(dialogues)`` -> ``.session()``) over :class:`ChatModel`,
  and :class:`ChatSession` (``.reply(message)``, the conversation kept in the recurrent state);
  ``rnnkit text chat-train|chat|chat-eval``;
- :mod:`rnnkit.text.translate`: translation; :class:`Translator` (``.fit(pairs)`` -> ``.translate(sentences)``,
  ``.evaluate(pairs)``) over :class:`Seq2Seq`; ``rnnkit translate train|run|eval``;
- :mod:`rnnkit.text.classify`: text classification; :class:`TextCategorizer` (``.fit(texts, labels)`` ->
  ``.predict(texts)``, ``.predict_proba``, ``.evaluate``) over :class:`TextClassifier`;
  ``rnnkit text classify-train|classify-predict``;
- :mod:`rnnkit.text.tokenize`: char, word and byte-level BPE tokenisers, saved inside each model's config.

Every estimator has ``.save(dir)`` and ``Estimator.load(dir)`` (``dir`` may be the ``--out`` of the training
command or its ``model/`` folder), and takes the same settings, with the same defaults, as its command line.
"""

from rnnkit.text.chat import Chatbot, ChatModel, ChatSession
from rnnkit.text.classify import TextCategorizer, TextClassifier
from rnnkit.text.lm import LanguageModel, TextGenerator, beam_search, generate
from rnnkit.text.tokenize import build_tokenizer, read_text, tokenizer_from_config
from rnnkit.text.translate import Seq2Seq, Translator

__all__ = [
    "ChatModel",
    "ChatSession",
    "Chatbot",
    "LanguageModel",
    "Seq2Seq",
    "TextCategorizer",
    "TextClassifier",
    "TextGenerator",
    "Translator",
    "beam_search",
    "build_tokenizer",
    "generate",
    "read_text",
    "tokenizer_from_config",
]
