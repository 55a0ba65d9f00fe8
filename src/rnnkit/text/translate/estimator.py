"""The Python API of translation: ``Translator().fit(pairs).translate(sentences)``.

``rnnkit translate train|run|eval`` are thin layers over this class: the same settings
(:class:`~rnnkit.text.translate.fit.TranslateSettings`), the same decoding defaults
(:class:`~rnnkit.text.translate.model.Decoding`: beam 5), the same code path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rnnkit.text.loading import string_list
from rnnkit.text.running import Estimator, check_out, train
from rnnkit.text.translate.data import Pairs, grouped_references, read_pairs
from rnnkit.text.translate.fit import (
    TranslateSettings,
    fit_translate,
    headline,
    held_out_scores,
    split_pairs,
    translate_all,
)
from rnnkit.text.translate.model import Decoding, Seq2Seq
from rnnkit.text.translate.score import score


def as_pairs(pairs: Any, reverse: bool = False) -> tuple[Pairs, str]:
    """(Pairs, name for messages) from a ``source<TAB>target`` file's path or an iterable of (source, target)."""
    if isinstance(pairs, (str, os.PathLike)):
        return read_pairs(Path(pairs), reverse), str(pairs)
    if not isinstance(pairs, Iterable):
        raise TypeError(
            f"expected pairs as a file path or a list of (source, target) str pairs, got {type(pairs).__name__}"
        )
    sources, targets = [], []
    for i, pair in enumerate(pairs):
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(x, str) and x.strip() for x in pair)
        ):
            raise ValueError(f"expected (source, target) pairs of non-empty str; pair {i} is {pair!r}")
        src, tgt = pair[0].strip(), pair[1].strip()
        sources.append(tgt if reverse else src)
        targets.append(src if reverse else tgt)
    if not sources:
        raise ValueError("expected at least one (source, target) pair, got none")
    return Pairs(sources, targets, []), "the pairs"


class Translator(Estimator[Seq2Seq]):
    """A recurrent encoder-decoder with attention you fit on sentence pairs, then translate, score or save.

    ``fit`` holds out ``test_fraction`` of the distinct source sentences (never trained on) and scores them with
    BLEU and chrF (``.metrics``), exactly as ``rnnkit translate train`` does.

    Args:
        **settings: any field of :class:`~rnnkit.text.translate.fit.TranslateSettings` (the flags of
            ``rnnkit translate train``); the same defaults as the command line.

    >>> pairs = [("I am cold.", "J'ai froid."), ("I am here.", "Je suis ici."), ("You are late.", "Tu es en retard."),
    ...          ("We are here.", "Nous sommes ici."), ("I am late.", "Je suis en retard."),
    ...          ("You are cold.", "Tu as froid.")] * 4
    >>> tr = Translator(embed_size=8, hidden_size=8, batch_size=8, max_steps=4, test_fraction=0.2,
    ...                 val_fraction=0.25, quiet=True).fit(pairs)
    >>> sorted(tr.metrics)[:3]
    ['attention', 'beam_width', 'best_step']
    >>> out = tr.translate(["I am cold.", "We are late."])
    >>> len(out), out == tr.translate(["I am cold.", "We are late."])
    (2, True)
    """

    settings_class = TranslateSettings
    model_class = Seq2Seq
    what, fit_hint, train_hint = "a translation model", ".fit(pairs)", "rnnkit translate train --pairs FILE --out DIR"
    settings: TranslateSettings

    def fit(
        self,
        pairs: str | Path | Iterable[tuple[str, str]],
        *,
        reverse: bool = False,
        out: str | Path | None = None,
        resume: bool = False,
        record: Any = None,
    ) -> Translator:
        """Train on ``pairs``: a list of (source, target) str pairs, or the path of a ``source<TAB>target`` file
        (``reverse=True`` swaps the sides). The splits are checked before training starts.

        Without ``out`` nothing is written. With ``out`` the engine's driver runs it as ``rnnkit translate train
        --out`` does (run folder, no silent overwrite, Ctrl-C that saves the best model, ``resume=True``);
        ``record`` is the config that config.json records (default: these settings).
        """
        s = self.settings
        check_out(out, resume)
        data, source = as_pairs(pairs, reverse)
        split = split_pairs(data, s, source)  # before the driver: too small a file fails before any training
        meta = {
            "pairs_file": source,
            "pairs": len(data.sources),
            "reverse": reverse,
            "test_fraction": s.test_fraction,
            "split_seed": s.split_seed,
            "split": "by_source",
        }
        model, self.metrics = train(
            s,
            lambda run_dir, run_config: fit_translate(s, data, split, meta, run_dir, run_config),
            command="translate train",
            out=out,
            resume=resume,
            record=record,
            evaluate=lambda model: held_out_scores(model, data, split.test, s.decoding)[0],  # type: ignore[arg-type]
            headline=headline,
        )
        self.model = model  # type: ignore[assignment]
        return self

    def translate(
        self,
        sentences: str | Iterable[str],
        *,
        beam_width: int = Decoding.beam_width,
        length_penalty: float = Decoding.length_penalty,
        max_len: int = Decoding.max_len,
    ) -> str | list[str]:
        """Translate one sentence (a str comes back) or several (a list); beam search of width 5 by default."""
        d = Decoding(beam_width, length_penalty, max_len)
        texts = string_list(sentences, "the sentences")
        out = translate_all(self.fitted, texts, d)
        return out[0] if isinstance(sentences, str) else out

    def evaluate(
        self, pairs: str | Path | Iterable[tuple[str, str]], *, beam_width: int = Decoding.beam_width
    ) -> dict[str, Any]:
        """BLEU and chrF (sacrebleu) of every pair's source against all the targets it has in ``pairs``."""
        data, _ = as_pairs(pairs)
        sources, refs = grouped_references(data, list(range(len(data.sources))))
        return score(translate_all(self.fitted, sources, Decoding(beam_width)), refs)
