"""Text classification: :class:`TextCategorizer` (the Python API) over :class:`TextClassifier` (the ``nn.Module``).

- :mod:`.model`: embeddings -> bidirectional recurrent encoder -> masked mean+max pooling -> Linear;
- :mod:`.data`: (text, label) rows from CSV, TSV or JSONL and length-bucketed batches;
- :mod:`.metrics`: accuracy, macro-F1, confusion; :mod:`.fit`: the settings and the training pieces;
- :mod:`.estimator`: :class:`TextCategorizer`; :mod:`.cli`: ``rnnkit text classify-train|classify-predict``.
"""

from rnnkit.text.classify.data import read_labelled
from rnnkit.text.classify.estimator import TextCategorizer
from rnnkit.text.classify.fit import ClassifySettings
from rnnkit.text.classify.metrics import classification_metrics
from rnnkit.text.classify.model import TextClassifier

__all__ = ["ClassifySettings", "TextCategorizer", "TextClassifier", "classification_metrics", "read_labelled"]
