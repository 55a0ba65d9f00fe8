"""The Python API of text classification: ``TextCategorizer().fit(texts, labels).predict(texts)``.

``rnnkit text classify-train|classify-predict`` are thin layers over this class (same settings, same code path).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.text.classify.fit import ClassifySettings, check_labels, fit_classifier, headline, split
from rnnkit.text.classify.metrics import classification_metrics
from rnnkit.text.classify.model import TextClassifier
from rnnkit.text.loading import string_list
from rnnkit.text.running import Estimator, check_out, train


class TextCategorizer(Estimator[TextClassifier]):
    """A bidirectional recurrent text classifier you fit on (text, label) pairs, then predict, score or save.

    Named ``TextCategorizer`` (spaCy's name for the same job) because :class:`rnnkit.models.TextClassifier` is the
    ``nn.Module`` inside it (``.model``); this object adds the tokeniser fitting, the training settings and the
    checks on its inputs.

    Args:
        **settings: any field of :class:`~rnnkit.text.classify.fit.ClassifySettings` (the flags of
            ``rnnkit text classify-train``); the same defaults as the command line.

    >>> texts = ["great film", "loved it", "awful film", "boring plot", "great fun", "awful acting"] * 4
    >>> labels = ["pos", "pos", "neg", "neg", "pos", "neg"] * 4
    >>> clf = TextCategorizer(embed_size=8, hidden_size=8, batch_size=4, epochs=3, quiet=True).fit(texts, labels)
    >>> clf.classes
    ['neg', 'pos']
    >>> clf.predict(["great acting", "boring film"])[0] in clf.classes
    True
    >>> clf.predict_proba(["great acting"]).shape
    (1, 2)
    """

    settings_class = ClassifySettings
    model_class = TextClassifier
    what, fit_hint = "a text classifier", ".fit(texts, labels)"
    train_hint = "rnnkit text classify-train --train FILE --test FILE --out DIR"
    settings: ClassifySettings

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Any],
        *,
        test: tuple[Sequence[str], Sequence[Any]] | None = None,
        out: str | Path | None = None,
        resume: bool = False,
        record: Any = None,
    ) -> TextCategorizer:
        """Train on ``texts`` (a list of str) and ``labels`` (one str or int per text, at least two classes).

        ``val_fraction`` of the rows (drawn with ``seed``) picks the best epoch. ``test=(texts, labels)`` is scored
        after training (``.metrics``: accuracy, macro-F1, confusion). Without ``out`` nothing is written; with
        ``out`` the engine's driver runs it as ``rnnkit text classify-train --out`` does (run folder, no silent
        overwrite, Ctrl-C that saves the best model, ``resume=True``); ``record`` is the config that config.json
        records (default: these settings).
        """
        check_out(out, resume)
        texts = string_list(texts, "the texts")
        labels = list(labels) if not isinstance(labels, str) else [labels]
        classes = check_labels(texts, labels)
        split(self.settings, len(texts))  # before the driver: too few rows fail before any training
        s = self.settings

        def evaluate(model: Any) -> dict[str, Any]:
            return {} if test is None else {**scores(model, *test), "test_texts": len(test[0])}

        model, self.metrics = train(
            s,
            lambda run_dir, run_config: fit_classifier(s, texts, labels, classes, run_dir, run_config),
            command="text classify-train",
            out=out,
            resume=resume,
            record=record,
            evaluate=evaluate,
            headline=headline,
        )
        self.model = model  # type: ignore[assignment]
        return self

    @property
    def classes(self) -> list[Any]:
        """The labels, in the order of :meth:`predict_proba`'s columns."""
        return list(self.fitted.labels)

    def predict(self, texts: str | Sequence[str]) -> list[Any]:
        """The most likely label of each text (a list, also for one str)."""
        return self.fitted.predict(string_list(texts, "the texts"))

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Class probabilities, a float32 array (N, C) with columns in the order of :attr:`classes`."""
        return self.fitted.predict_proba(string_list(texts, "the texts")).numpy()

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
        """Accuracy, macro-F1 and the confusion matrix (rows: true, columns: predicted) on labelled texts."""
        return scores(self.fitted, texts, labels)


def scores(model: TextClassifier, texts: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix of ``model`` on labelled texts, and its labels."""
    texts = string_list(texts, "the texts")
    labels = list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
    classes = list(model.labels)
    unknown = sorted({str(y) for y in labels if y not in classes})
    if unknown:
        raise ValueError(f"labels {unknown} do not occur in the training data (its labels: {classes})")
    predicted = model.predict(texts)
    metrics = classification_metrics(
        [classes.index(y) for y in labels], [classes.index(p) for p in predicted], len(classes)
    )
    return {**metrics, "labels": classes}
