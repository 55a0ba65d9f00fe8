"""rnnkit.text: tokenisers, recurrent language models with generation, translation and text classification.

- :mod:`~rnnkit.text.tokenize`: char, word and byte-level BPE tokenisers, saved inside each model's config;
- :class:`~rnnkit.text.lm.LanguageModel` trained with truncated BPTT, :func:`~rnnkit.text.generate.generate`
  (sampling, streaming, batches) and :func:`~rnnkit.text.generate.beam_search`;
- :class:`~rnnkit.text.seq2seq.Seq2Seq` (encoder-decoder with Bahdanau / Luong attention);
- :class:`~rnnkit.text.classify.TextClassifier`;
- command lines: ``rnnkit text train|generate|eval|classify-train`` and ``rnnkit translate train|run|eval``.
"""

from rnnkit.text.classify import TextClassifier
from rnnkit.text.generate import beam_search, generate
from rnnkit.text.lm import LanguageModel
from rnnkit.text.seq2seq import Seq2Seq
from rnnkit.text.tokenize import build_tokenizer, read_text, tokenizer_from_config

__all__ = [
    "LanguageModel",
    "Seq2Seq",
    "TextClassifier",
    "beam_search",
    "build_tokenizer",
    "generate",
    "read_text",
    "tokenizer_from_config",
]
