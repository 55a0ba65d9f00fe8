"""Every application's model classes in one namespace (``rnnkit.models.SequenceClassifier``, ...).

Like ``cli.py``, this module only re-exports; the models live in their application folders.
Importing it registers every model kind with :func:`rnnkit.train.load_model`.
"""

from rnnkit.classify.model import SequenceClassifier

__all__ = ["SequenceClassifier"]
