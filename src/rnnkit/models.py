"""Every application's model classes in one namespace (``rnnkit.models.SequenceClassifier``, ...).

Like ``cli.py``, this module only re-exports; the models live in their application folders.
Importing it registers every model kind with :func:`rnnkit.train.load_model`.
"""

from rnnkit.classify.model import SequenceClassifier
from rnnkit.forecast.models import AutoregressiveRNN, DirectRNN, ForecastEnsemble, SegRNN
from rnnkit.rl.policy import ActorCritic
from rnnkit.text.classify import TextClassifier
from rnnkit.text.lm import LanguageModel
from rnnkit.text.seq2seq import Seq2Seq

__all__ = [
    "ActorCritic",
    "AutoregressiveRNN",
    "DirectRNN",
    "ForecastEnsemble",
    "LanguageModel",
    "SegRNN",
    "Seq2Seq",
    "SequenceClassifier",
    "TextClassifier",
]
