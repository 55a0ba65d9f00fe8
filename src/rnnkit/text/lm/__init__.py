"""Language models: :class:`TextGenerator` (the Python API) over :class:`LanguageModel` (the ``nn.Module``).

- :mod:`.model`: the recurrent language model, streamed negative log-likelihood and its metrics;
- :mod:`.data`: contiguous token streams for truncated BPTT;
- :mod:`.generation`: sampling (temperature, top-k, top-p, repetition penalty), streaming and beam search;
- :mod:`.fit`: the settings and the training pieces; :mod:`.estimator`: :class:`TextGenerator`;
- :mod:`.cli`: ``rnnkit text train|generate|eval``.
"""

from rnnkit.text.lm.estimator import TextGenerator
from rnnkit.text.lm.fit import LMSettings
from rnnkit.text.lm.generation import Generation, Sampling, beam_search, generate, stream
from rnnkit.text.lm.model import LanguageModel, lm_metrics, stream_nll

__all__ = [
    "Generation",
    "LMSettings",
    "LanguageModel",
    "Sampling",
    "TextGenerator",
    "beam_search",
    "generate",
    "lm_metrics",
    "stream",
    "stream_nll",
]
