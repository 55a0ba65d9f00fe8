"""Every application's model classes in one namespace (``rnnkit.models.SequenceClassifier``, ...).

Like ``cli.py``, this module only re-exports; the models live in their application folders.
Importing it registers every model kind with :func:`rnnkit.train.load_model`.
"""

from rnnkit.classify.model import SequenceClassifier
from rnnkit.forecast.models import AutoregressiveRNN, DirectRNN, ForecastEnsemble, SegRNN
from rnnkit.interop.keras_layers import KerasSequence
from rnnkit.rl.policy import ActorCritic
from rnnkit.text.chat.model import ChatModel
from rnnkit.text.classify.model import TextClassifier
from rnnkit.text.lm.model import LanguageModel
from rnnkit.text.translate.model import Seq2Seq
from rnnkit.video.classifier import VideoClassifier
from rnnkit.video.predictor import FramePredictor

__all__ = [
    "ActorCritic",
    "AutoregressiveRNN",
    "ChatModel",
    "DirectRNN",
    "ForecastEnsemble",
    "FramePredictor",
    "KerasSequence",
    "LanguageModel",
    "SegRNN",
    "Seq2Seq",
    "SequenceClassifier",
    "TextClassifier",
    "VideoClassifier",
]
