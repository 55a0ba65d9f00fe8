"""``rnnkit translate ...``: train, run and eval a sequence-to-sequence model on ``source<TAB>target`` pairs.

The held-out test split is ``--test_fraction`` of the distinct source sentences (drawn with ``--split_seed``),
with every pair that has such a source: a held-out sentence is never seen in training, not even under another
translation, and all its translations in the file are its references (multi-reference BLEU and chrF, as sacrebleu
computes them). Tatoeba-style files list many sentences with several translations ("Run!": "Cours !", "Courez !"),
so a split by pair would both leak most test sentences into training and score a correct translation as wrong
when the one reference kept happens to be another. The split is fixed by the file and the seed and stored with
the model, so ``translate eval`` scores the same sentences. A further ``--val_fraction`` of the training sources
(again by sentence) picks the best checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.text.data import Pairs, read_pairs, split_by_key, split_indices
from rnnkit.text.seq2seq import ATTENTIONS, CELLS, PairBatches, Seq2Seq, plot_attention, seq2seq_loss
from rnnkit.text.tokenize import BOS, EOS, PAD, UNK, build_tokenizer

log = logging.getLogger(__name__)
SPECIALS = (PAD, UNK, BOS, EOS)


@dataclass
class TranslateTrainConfig:
    """Train a recurrent encoder-decoder with attention on sentence pairs (source<TAB>target per line)."""

    pairs: str
    """Pairs file: source<TAB>target[<TAB>ignored] per line, UTF-8 (e.g. Tatoeba/Anki exports)."""
    out: str
    """Output directory: model/, metrics.json (BLEU, chrF), config.json, logs and checkpoints."""
    reverse: bool = False
    """Translate from the second column to the first."""
    test_fraction: float = 0.1
    """Source sentences held out, with all their translations, for the final BLEU/chrF (never trained on)."""
    val_fraction: float = 0.05
    """Of the remaining source sentences, held out to pick the best checkpoint."""
    split_seed: int = 0
    """Seed of the held-out split."""
    max_tokens: int = 40
    """Skip training pairs longer than this many tokens on either side."""
    attention: str = "general"
    """bahdanau (additive), dot, general (Luong) or none."""
    cell: str = "gru"
    """gru or lstm."""
    embed_size: int = 128
    """Embedding size."""
    hidden_size: int = 256
    """Hidden units (per direction in the encoder)."""
    num_layers: int = 1
    """Layers in the encoder and in the decoder."""
    dropout: float = 0.2
    """Dropout on embeddings and before the output layer."""
    lowercase_source: bool = True
    """Lowercase the source side (the target keeps its case, so BLEU compares with the real references)."""
    label_smoothing: float = 0.1
    """Label smoothing of the training loss (the validation loss is plain cross-entropy)."""
    batch_size: int = 64
    """Pairs per batch."""
    lr: float = 3e-3
    """Peak learning rate (AdamW)."""
    epochs: int = 30
    """Passes over the training pairs (upper bound)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps."""
    time_budget: float | None = None
    """Minutes of training; stops cleanly and keeps the best checkpoint by validation loss."""
    early_stopping: int | None = 4
    """Stop after this many epochs without improvement of the validation loss."""
    beam_width: int = 5
    """Beam width for the final BLEU on the test split (1 = greedy)."""
    seed: int = 0
    """Random seed of the training run."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quiet: bool = False
    """No progress bar."""

    def __post_init__(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(f"expected --attention to be one of {', '.join(ATTENTIONS)}, got {self.attention!r}")
        if self.cell not in CELLS:
            raise ValueError(f"expected --cell to be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("test_fraction", "val_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"expected --{name} in (0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"expected --label_smoothing in [0, 1), got {self.label_smoothing}")
        if self.beam_width < 1 or self.max_tokens < 1:
            raise ValueError(
                f"expected --beam_width >= 1 and --max_tokens >= 1, got {self.beam_width}, {self.max_tokens}"
            )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def score(hypotheses: list[str], references: list[str] | list[list[str]]) -> dict[str, Any]:
    """Corpus BLEU and chrF with sacrebleu's defaults, with their signatures (to report alongside the numbers).

    ``references[i]`` is hypothesis i's reference, or the list of all its references (any number, at least one).

    >>> score(["Cours vite , Tom !"], [["Courez vite , Tom !", "Cours vite , Tom !"]])["bleu"]
    100.0
    """
    from sacrebleu.metrics import BLEU, CHRF

    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(refs) != len(hypotheses) or any(not r for r in refs):
        raise ValueError(f"expected one or more references for each of {len(hypotheses)} hypotheses")
    width = max((len(r) for r in refs), default=1)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]  # sacrebleu: None = no more
    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(hypotheses, streams)  # type: ignore[arg-type]
    c = chrf.corpus_score(hypotheses, streams)  # type: ignore[arg-type]
    return {
        "bleu": round(b.score, 2),
        "chrf": round(c.score, 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "sentences": len(hypotheses),
    }


def source_key(sentence: str) -> str:
    """What makes two source sentences the same for the held-out split (case and outer spaces ignored)."""
    return sentence.strip().lower()


def held_out_split(pairs: Pairs, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) pair indices, split by source sentence (see the module docstring)."""
    return split_by_key([source_key(s) for s in pairs.sources], fraction, seed)


def grouped_references(pairs: Pairs, idx: list[int]) -> tuple[list[str], list[list[str]]]:
    """The distinct sources among ``idx`` (first spelling seen) and, for each, all its targets in ``idx``."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for i in idx:
        groups.setdefault(source_key(pairs.sources[i]), (pairs.sources[i], []))[1].append(pairs.targets[i])
    return [src for src, _ in groups.values()], [refs for _, refs in groups.values()]


def translate_all(model: Seq2Seq, texts: list[str], beam_width: int, batch_size: int = 128) -> list[str]:
    out: list[str] = []
    for i in range(0, len(texts), batch_size):
        out.extend(model.translate(texts[i : i + batch_size], beam_width=beam_width))
    return out


def train(config: TranslateTrainConfig) -> dict[str, Any]:
    from rnnkit.train import StepOutput, TrainConfig, Trainer, save_model, seed_everything

    out = Path(config.out)
    pairs = read_pairs(config.pairs, config.reverse)
    train_idx, test_idx = held_out_split(pairs, config.test_fraction, config.split_seed)
    fit_pos, val_pos = split_by_key(
        [source_key(pairs.sources[i]) for i in train_idx], config.val_fraction, config.split_seed + 1
    )
    fit_idx, val_idx = [train_idx[i] for i in fit_pos], [train_idx[i] for i in val_pos]
    seed_everything(config.seed)
    src_tok = build_tokenizer(
        "word", [pairs.sources[i] for i in fit_idx], specials=SPECIALS, lower=config.lowercase_source
    )
    tgt_tok = build_tokenizer("word", [pairs.targets[i] for i in fit_idx], specials=SPECIALS)
    meta = {
        "pairs_file": str(config.pairs),
        "pairs": len(pairs.sources),
        "reverse": config.reverse,
        "test_fraction": config.test_fraction,
        "split_seed": config.split_seed,
        "split": "by_source",
    }
    model = Seq2Seq(
        src_tok.to_config(),
        tgt_tok.to_config(),
        config.embed_size,
        config.hidden_size,
        config.num_layers,
        config.cell,
        config.attention,
        config.dropout,
        meta,
    )

    def encode(idx: list[int], limit: bool) -> tuple[list[list[int]], list[list[int]]]:
        src = [src_tok.encode(pairs.sources[i]) for i in idx]
        tgt = [tgt_tok.encode(pairs.targets[i]) for i in idx]
        keep = [
            k
            for k in range(len(idx))
            if src[k] and tgt[k] and (not limit or max(len(src[k]), len(tgt[k])) <= config.max_tokens)
        ]
        return [src[k] for k in keep], [tgt[k] for k in keep]

    train_batches = PairBatches(*encode(fit_idx, True), config.batch_size, model, shuffle=True)
    val_batches = PairBatches(*encode(val_idx, False), 256, model, shuffle=False)
    log.info(
        "%s: %d pairs (%d malformed lines skipped): %d train, %d validation, %d test; vocabularies %d / %d",
        config.pairs,
        len(pairs.sources),
        len(pairs.skipped),
        len(train_batches.src),
        len(val_idx),
        len(test_idx),
        src_tok.vocab_size,
        tgt_tok.vocab_size,
    )
    engine = TrainConfig(
        epochs=config.epochs,
        max_steps=config.max_steps,
        time_budget=config.time_budget,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=0.0,
        warmup_steps=50,
        early_stopping=config.early_stopping,
        seed=config.seed,
        device=config.device,
        quiet=config.quiet,
    )

    def step(model: Any, batch: dict[str, Any], carry: Any) -> StepOutput:
        loss, n = seq2seq_loss(model, batch, config.label_smoothing)
        return StepOutput(loss=loss, n=n)

    def evaluate(model: Any, batches: Any) -> dict[str, float]:
        device = next(model.parameters()).device
        total, count = 0.0, 0
        for batch in batches:
            loss, n = seq2seq_loss(model, {k: v.to(device) for k, v in batch.items()})
            total, count = total + float(loss) * n, count + n
        return {"val_loss": total / max(count, 1)}

    run_config = {"command": "translate train", **dataclasses.asdict(config)}
    trainer = Trainer(model, engine, step=step, evaluate=evaluate, run_dir=out, run_config=run_config)
    result = trainer.fit(train_batches, val_batches)
    model.cpu()
    save_model(model, out / "model")
    start = time.perf_counter()
    test_sources, test_refs = grouped_references(pairs, test_idx)
    hyps = translate_all(model, test_sources, config.beam_width)
    scores = score(hyps, test_refs)
    metrics = {
        **scores,
        "beam_width": config.beam_width,
        "decode_seconds": time.perf_counter() - start,
        "val_loss": result.best_metrics.get("val_loss"),
        "best_step": result.best_step,
        "steps": result.steps,
        "stopped_reason": result.stopped_reason,
        "train_seconds": result.seconds,
        "train_pairs": len(train_batches.src),
        "test_pairs": len(test_idx),
        "test_sentences": len(test_sources),
        "skipped_lines": pairs.skipped,
        "attention": config.attention,
    }
    _write_json(out / "metrics.json", metrics)
    print(
        f"BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f}  on {len(test_sources)} held-out sentences "
        f"({len(test_idx)} references) -> {out / 'model'}"
    )
    print(f"  {scores['bleu_signature']}\n  {scores['chrf_signature']}")
    return metrics


def _load(path: str | Path) -> Seq2Seq:
    from rnnkit.train import load_model

    path = Path(path)
    directory = path / "model" if (path / "model" / "config.json").is_file() else path
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(
            f"{path}: no saved model (expected {path}/model/config.json or {path}/config.json); "
            "train one with `rnnkit translate train --pairs FILE --out DIR`"
        )
    model = load_model(directory)
    if not isinstance(model, Seq2Seq):
        raise ValueError(f"{path}: expected a translation model, got a {type(model).__name__}")
    return model


@dataclass
class TranslateRunConfig:
    """Translate sentences with a trained model; optionally save the attention heat map."""

    model: str
    """Model directory (the --out of `rnnkit translate train`, or its model/ folder)."""
    text: str
    """Sentence to translate (several: one per line)."""
    beam_width: int = 5
    """Beam width (1 = greedy)."""
    length_penalty: float = 1.0
    """Beam scores are log-probability / length ** this."""
    heatmap: str | None = None
    """PNG path for the attention weights of the first sentence."""

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("expected a sentence in --text, got an empty string")
        if self.beam_width < 1:
            raise ValueError(f"expected --beam_width >= 1, got {self.beam_width}")


def run(config: TranslateRunConfig) -> list[str]:
    model = _load(config.model)
    texts = [t for t in config.text.splitlines() if t.strip()]
    results = model.translate_ids(texts, beam_width=config.beam_width, length_penalty=config.length_penalty)
    outs = []
    for ids, _ in results:
        outs.append(model.tgt_tok.decode(ids).strip())
        print(outs[-1])
    if config.heatmap is not None:
        ids, weights = results[0]
        if weights is None:
            raise ValueError("--heatmap needs a model with attention; this one was trained with --attention none")
        src_ids = model.src_tok.encode(texts[0]) or [model.src_tok.token_id(UNK)]
        plot_attention(
            [model.src_tok.decode([i]) for i in src_ids],
            [model.tgt_tok.decode([i]) for i in ids],
            weights,
            config.heatmap,
        )
        log.info("attention heat map -> %s", config.heatmap)
    return outs


@dataclass
class TranslateEvalConfig:
    """Score a model on a pairs file with sacrebleu: BLEU and chrF, with their signatures."""

    model: str
    """Model directory."""
    pairs: str
    """Pairs file (source<TAB>target)."""
    subset: str = "test"
    """test: the held-out pairs the model was not trained on (same file, same split); all: every pair."""
    beam_width: int = 5
    """Beam width (1 = greedy, batched)."""
    out: str | None = None
    """Optional directory for metrics.json, translations.txt and config.json."""

    def __post_init__(self) -> None:
        if self.subset not in ("test", "all"):
            raise ValueError(f"expected --subset test or all, got {self.subset!r}")


def eval_command(config: TranslateEvalConfig) -> dict[str, Any]:
    model = _load(config.model)
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
    hyps = translate_all(model, sources, config.beam_width)
    scores = score(hyps, references)
    print(f"BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f}  on {len(sources)} sentences ({config.subset})")
    print(f"  {scores['bleu_signature']}\n  {scores['chrf_signature']}")
    if config.out is not None:
        out = Path(config.out)
        _write_json(out / "config.json", {"command": "translate eval", **dataclasses.asdict(config)})
        _write_json(out / "metrics.json", {**scores, "subset": config.subset, "beam_width": config.beam_width})
        (out / "translations.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    return scores


COMMANDS: dict[str, tuple[type, Any]] = {
    "train": (TranslateTrainConfig, train),
    "run": (TranslateRunConfig, run),
    "eval": (TranslateEvalConfig, eval_command),
}
