"""Time-series classification: :class:`Classifier` from Python, ``rnnkit classify train|predict|eval`` from the
command line (a thin layer over the same code and defaults)."""

from rnnkit.classify.estimator import Classifier, ClassifierOptions

__all__ = ["Classifier", "ClassifierOptions"]
