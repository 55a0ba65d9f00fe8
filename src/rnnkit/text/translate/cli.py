"""``rnnkit translate train|run|eval``: command lines over :class:`~rnnkit.text.translate.estimator.Translator`.

How the held-out test split is drawn (by source sentence, every translation a reference) is explained in
:mod:`rnnkit.text.translate.fit`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.text.loading import eval_out, read_lines
from rnnkit.text.splits import split_indices
from rnnkit.text.tokenize import UNK
from rnnkit.text.translate.data import grouped_references, held_out_split, read_pairs
from rnnkit.text.translate.estimator import Translator
from rnnkit.text.translate.fit import TranslateSettings, translate_all
from rnnkit.text.translate.model import Decoding
from rnnkit.text.translate.score import score

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TranslateTrainConfig(TranslateSettings):
    """Train a recurrent encoder-decoder with attention on sentence pairs (source<TAB>target per line)."""

    pairs: str
    """Pairs file: source<TAB>target[<TAB>ignored] per line, UTF-8 (e.g. Tatoeba/Anki exports)."""
    reverse: bool = False
    """Translate from the second column to the first."""


def train(config: TranslateTrainConfig) -> dict[str, Any]:
    """Train through the engine's driver: OUT/model, metrics.json (BLEU, chrF with signatures), config.json."""
    tr = Translator.from_settings(config)
    tr.fit(Path(config.pairs), reverse=config.reverse, out=config.out, resume=config.resume, record=config)
    return tr.metrics


@dataclass(kw_only=True)
class TranslateRunConfig(Decoding):
    """Translate sentences with a trained model (one per line, from --text, --input or stdin)."""

    model: str
    """Model directory (the --out of `rnnkit translate train`, or its model/ folder)."""
    text: str | None = None
    """Sentence to translate (several: one per line)."""
    input: str | None = None
    """UTF-8 file with one sentence per line. Without --text and --input, sentences are read from stdin."""
    heatmap: str | None = None
    """PNG path for the attention weights of the first sentence."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.text is not None and self.input is not None:
            raise ValueError("give the sentences with --text or with --input, not both")
        if self.text is not None and not self.text.strip():
            raise ValueError("expected a sentence in --text, got an empty string")


def run(config: TranslateRunConfig) -> list[str]:
    tr = Translator.load(config.model)
    texts = read_lines(config.text, config.input, "sentences")
    outs = tr.translate(
        texts, beam_width=config.beam_width, length_penalty=config.length_penalty, max_len=config.max_len
    )
    print("\n".join(outs))
    if config.heatmap is not None:
        _heatmap(tr, texts[0], config, config.heatmap)
    return list(outs)


def _heatmap(tr: Translator, text: str, config: TranslateRunConfig, path: str) -> None:
    from rnnkit.text.translate.plot import plot_attention

    model = tr.fitted
    ids, weights = model.translate_ids([text], config.max_len, config.beam_width, config.length_penalty)[0]
    if weights is None:
        raise ValueError("--heatmap needs a model with attention; this one was trained with --attention none")
    src_ids = model.src_tok.encode(text) or [model.src_tok.token_id(UNK)]
    plot_attention(
        [model.src_tok.decode([i]) for i in src_ids], [model.tgt_tok.decode([i]) for i in ids], weights, path
    )
    log.info("attention heat map -> %s", path)


@dataclass(kw_only=True)
class TranslateEvalConfig(Decoding):
    """Score a model on a pairs file with sacrebleu: BLEU and chrF, with their signatures."""

    model: str
    """Model directory."""
    pairs: str
    """Pairs file (source<TAB>target)."""
    subset: str = "test"
    """test: the held-out pairs the model was not trained on (same file, same split); all: every pair."""
    out: str | None = None
    """Directory for metrics.json, translations.txt and config.json (default: RUN/eval/PAIRS-NAME)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.subset not in ("test", "all"):
            raise ValueError(f"expected --subset test or all, got {self.subset!r}")


def eval_command(config: TranslateEvalConfig) -> dict[str, Any]:
    from rnnkit.train import write_json

    model = Translator.load(config.model).fitted
    meta: dict[str, Any] = model.args["meta"]
    pairs = read_pairs(config.pairs, bool(meta.get("reverse", False)))
    idx = list(range(len(pairs.sources)))
    if config.subset == "test":
        if meta.get("pairs") != len(pairs.sources):
            raise ValueError(
                f"{config.pairs}: has {len(pairs.sources)} pairs but the model was trained on a file with "
                f"{meta.get('pairs')}, so its held-out split cannot be rebuilt; use --subset all"
            )
        if meta.get("split") == "by_source":
            idx = held_out_split(pairs, meta["test_fraction"], meta["split_seed"])[1]
        else:  # models trained before the split by source sentence
            idx = split_indices(len(pairs.sources), meta["test_fraction"], meta["split_seed"])[1]
    sources, references = grouped_references(pairs, idx)
    hyps = translate_all(model, sources, Decoding(config.beam_width, config.length_penalty, config.max_len))
    scores = score(hyps, references)
    out = Path(config.out) if config.out is not None else eval_out(config.model, config.pairs)
    write_json(out / "config.json", {"command": "translate eval", **dataclasses.asdict(config)})
    write_json(out / "metrics.json", {**scores, "subset": config.subset, "beam_width": config.beam_width})
    (out / "translations.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    print(f"BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f}  on {len(sources)} sentences ({config.subset})")
    print(f"  {scores['bleu_signature']}\n  {scores['chrf_signature']}  -> {out / 'metrics.json'}")
    return scores


COMMANDS: dict[str, tuple[type, Any]] = {
    "train": (TranslateTrainConfig, train),
    "run": (TranslateRunConfig, run),
    "eval": (TranslateEvalConfig, eval_command),
}
