"""``rnnkit text ...``: train, generate, eval (language models) and classify-train (text classification).

Each command is a dataclass (the flags, with their docstrings as ``--help``) and a function taking it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.text.classify import ClassifyTrainConfig, classify_train
from rnnkit.text.data import StreamBatches
from rnnkit.text.generate import Sampling, beam_search, generate, stream
from rnnkit.text.lm import CELLS, LanguageModel, lm_metrics, stream_nll
from rnnkit.text.tokenize import LEVELS, build_tokenizer, read_text

log = logging.getLogger(__name__)


@dataclass
class TextTrainConfig:
    """Train a recurrent language model on a text file (truncated BPTT over the contiguous stream)."""

    data: str
    """UTF-8 text file; its last --val_fraction is the validation text."""
    out: str
    """Output directory: the model (out/model), metrics.json, config.json, training logs and checkpoints."""
    level: str = "char"
    """Tokens: char, word or bpe (byte-level BPE from the tokenizers library)."""
    vocab_size: int | None = None
    """Cap on the vocabulary, specials included (word: most frequent words; bpe: merges, default 2000)."""
    val_fraction: float = 0.1
    """Fraction of the text, taken from its end, used for validation."""
    cell: str = "lstm"
    """Recurrent layer: lstm, gru or rnn."""
    embed_size: int = 64
    """Embedding size."""
    hidden_size: int = 256
    """Hidden units per layer."""
    num_layers: int = 2
    """Stacked recurrent layers."""
    dropout: float = 0.0
    """Dropout on embeddings, between layers and on outputs (helps for long runs; 0 suits short CPU budgets)."""
    tie_weights: bool = False
    """Share the embedding matrix with the output layer."""
    bptt: int = 128
    """Window length of truncated backpropagation through time (the state is carried between windows)."""
    batch_size: int = 32
    """Parallel streams per batch."""
    lr: float = 3e-3
    """Peak learning rate (AdamW)."""
    weight_decay: float = 0.0
    """AdamW weight decay on matrices."""
    clip_norm: float | None = 1.0
    """Gradient-norm clipping (None: off)."""
    schedule: str = "cosine"
    """Learning-rate schedule: cosine | constant | linear | plateau."""
    warmup_steps: int = 50
    """Linear warm-up steps."""
    epochs: int = 50
    """Passes over the training text (upper bound)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps."""
    time_budget: float | None = None
    """Minutes of training; stops cleanly and keeps the best checkpoint by validation loss."""
    val_every: int | None = 200
    """Validate every N steps (None: once per epoch)."""
    early_stopping: int | None = 10
    """Stop after this many validations without improvement (None: off)."""
    seed: int = 0
    """Random seed."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quiet: bool = False
    """No progress bar."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"expected --level to be one of {', '.join(LEVELS)}, got {self.level!r}")
        if self.cell not in CELLS:
            raise ValueError(f"expected --cell to be one of {', '.join(CELLS)}, got {self.cell!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"expected --val_fraction in (0, 1), got {self.val_fraction}")
        if self.bptt < 1 or self.batch_size < 1:
            raise ValueError(f"expected --bptt >= 1 and --batch_size >= 1, got {self.bptt} and {self.batch_size}")
        if self.vocab_size is not None and self.vocab_size < 2:
            raise ValueError(f"expected --vocab_size >= 2 (or unset), got {self.vocab_size}")


def model_dir(path: str | Path) -> Path:
    """Accept a training output directory (DIR/model) or the model directory itself."""
    path = Path(path)
    if (path / "model" / "config.json").is_file():
        return path / "model"
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return path
    raise FileNotFoundError(
        f"{path}: no saved model (expected {path}/model/config.json or {path}/config.json + model.safetensors); "
        "train one with `rnnkit text train --data FILE --out DIR`"
    )


def load_lm(path: str | Path) -> LanguageModel:
    from rnnkit.train import load_model

    model = load_model(model_dir(path))
    if not isinstance(model, LanguageModel):
        raise ValueError(f"{path}: expected a language model, got a {type(model).__name__}")
    return model


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def train(config: TextTrainConfig) -> dict[str, Any]:
    """Tokenise, build the model, train with the rnnkit Trainer (TBPTT carry), save out/model and metrics."""
    from rnnkit.train import StepOutput, TrainConfig, Trainer, save_model, seed_everything

    out = Path(config.out)
    text = read_text(config.data)
    cut = round(len(text) * (1.0 - config.val_fraction))
    train_text, val_text = text[:cut], text[cut:]
    if not val_text.strip() or not train_text.strip():
        raise ValueError(f"{config.data}: too short to split by --val_fraction {config.val_fraction}")
    seed_everything(config.seed)
    tok = build_tokenizer(config.level, train_text, vocab_size=config.vocab_size)
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tok.encode(val_text), dtype=torch.long)
    val_batch = max(1, min(config.batch_size, (len(val_ids) - 1) // (2 * config.bptt) or 1))
    try:
        train_batches = StreamBatches(train_ids, config.batch_size, config.bptt, random_shift=True)
        val_batches = StreamBatches(val_ids, val_batch, config.bptt)
    except ValueError as err:
        raise ValueError(f"{config.data}: {err}") from None
    val_chars = len(tok.decode(val_batches.y.flatten().tolist()))
    log.info(
        "%s: %d train / %d val tokens (%s level, vocabulary %d)",
        config.data,
        len(train_ids),
        len(val_ids),
        config.level,
        tok.vocab_size,
    )
    model = LanguageModel(
        tok.vocab_size,
        config.embed_size,
        config.hidden_size,
        config.num_layers,
        config.cell,
        config.dropout,
        config.tie_weights,
        tokenizer=tok.to_config(),
    )
    engine = TrainConfig(
        epochs=config.epochs,
        max_steps=config.max_steps,
        time_budget=config.time_budget,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        clip_norm=config.clip_norm,
        schedule=config.schedule,
        warmup_steps=config.warmup_steps,
        early_stopping=config.early_stopping,
        val_every=config.val_every,
        seed=config.seed,
        device=config.device,
        quiet=config.quiet,
    )

    def step(model: Any, batch: Any, carry: Any) -> StepOutput:
        x, y = batch  # (B, T), (B, T)
        logits, state = model(x, carry)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        return StepOutput(loss=loss, n=y.numel(), carry=state)

    def evaluate(model: Any, batches: Any) -> dict[str, float]:
        nll, tokens = stream_nll(model, batches, next(model.parameters()).device)
        m = lm_metrics(nll, tokens, val_chars)
        return {"val_loss": m["loss"], "val_perplexity": m["perplexity"], "val_bpc": m["bpc"]}

    run_config = {"command": "text train", **dataclasses.asdict(config)}
    trainer = Trainer(model, engine, step=step, evaluate=evaluate, run_dir=out, run_config=run_config)
    result = trainer.fit(train_batches, val_batches)
    model.cpu()
    keys = ("val_loss", "val_perplexity", "val_bpc")
    if all(k in result.best_metrics for k in keys):  # the trainer restored these best weights
        final = {k: float(result.best_metrics[k]) for k in keys}
    else:
        final = evaluate(model, val_batches)
    save_model(model, out / "model")
    metrics = {
        **final,
        "best_step": result.best_step,
        "steps": result.steps,
        "stopped_reason": result.stopped_reason,
        "train_seconds": result.seconds,
        "train_tokens": len(train_ids),
        "val_tokens": len(val_ids),
        "vocab_size": tok.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    _write_json(out / "metrics.json", metrics)
    print(
        f"val loss {final['val_loss']:.4f} nats/token, perplexity {final['val_perplexity']:.3f}, "
        f"{final['val_bpc']:.4f} bits/char (best of {result.steps} steps, stopped: {result.stopped_reason}) "
        f"-> {out / 'model'}"
    )
    return metrics


@dataclass
class TextGenerateConfig:
    """Generate text from a trained language model, streaming it to stdout."""

    model: str
    """Model directory (the --out of `rnnkit text train`, or its model/ folder)."""
    prompt: str
    """Text to continue."""
    max_new_tokens: int = 500
    """Tokens to generate."""
    temperature: float = 0.8
    """Softmax temperature (0 = greedy)."""
    top_k: int | None = None
    """Sample only among the k most likely tokens."""
    top_p: float | None = None
    """Nucleus sampling: the smallest set of tokens with this total probability."""
    repetition_penalty: float = 1.0
    """Penalise tokens already present (CTRL); 1 = off."""
    seed: int | None = None
    """Random seed (the same seed gives the same text)."""
    num_samples: int = 1
    """Independent continuations, generated as one batch."""
    beam_width: int = 1
    """> 1: beam search for the most likely continuation instead of sampling."""
    out: str | None = None
    """Optional directory for samples.txt, metrics.json (speed) and config.json."""

    def __post_init__(self) -> None:
        Sampling(self.temperature, self.top_k, self.top_p, self.repetition_penalty)  # validates
        if self.max_new_tokens < 0:
            raise ValueError(f"expected --max_new_tokens >= 0, got {self.max_new_tokens}")
        if self.num_samples < 1 or self.beam_width < 1:
            raise ValueError(
                f"expected --num_samples >= 1 and --beam_width >= 1, got {self.num_samples} and {self.beam_width}"
            )
        if not self.prompt:
            raise ValueError("expected a non-empty --prompt")


def generate_command(config: TextGenerateConfig) -> list[str]:
    model = load_lm(config.model)
    start = time.perf_counter()
    sampling = Sampling(config.temperature, config.top_k, config.top_p, config.repetition_penalty)
    if config.beam_width > 1:
        samples = [beam_search(model, config.prompt, config.max_new_tokens, config.beam_width)]
        print(config.prompt + samples[0])
    elif config.num_samples == 1:
        sys.stdout.write(config.prompt)
        pieces = []
        for piece in stream(model, config.prompt, config.max_new_tokens, sampling, config.seed):
            sys.stdout.write(piece)
            sys.stdout.flush()
            pieces.append(piece)
        sys.stdout.write("\n")
        samples = ["".join(pieces)]
    else:
        prompts = [config.prompt] * config.num_samples
        samples = list(
            generate(
                model,
                prompts,
                config.max_new_tokens,
                config.temperature,
                config.top_k,
                config.top_p,
                config.repetition_penalty,
                config.seed,
            )
        )
        for i, sample in enumerate(samples):
            print(f"--- sample {i + 1}\n{config.prompt}{sample}")
    seconds = time.perf_counter() - start
    if config.out is not None:
        out = Path(config.out)
        _write_json(out / "config.json", {"command": "text generate", **dataclasses.asdict(config)})
        (out / "samples.txt").write_text("\n\n".join(config.prompt + s for s in samples) + "\n", encoding="utf-8")
        chars = sum(len(s) for s in samples)
        _write_json(out / "metrics.json", {"seconds": seconds, "new_chars": chars, "chars_per_second": chars / seconds})
    return samples


@dataclass
class TextEvalConfig:
    """Evaluate a language model on a text file: loss (nats/token), perplexity, bits per character."""

    model: str
    """Model directory."""
    data: str
    """UTF-8 text file."""
    out: str | None = None
    """Optional directory for metrics.json and config.json."""
    val_fraction: float | None = None
    """Evaluate only the last fraction of the file (as `text train` holds it out); None = the whole file."""
    bptt: int = 256
    """Window length (the state is carried across windows, so this only affects speed)."""
    batch_size: int = 16
    """Parallel streams."""

    def __post_init__(self) -> None:
        if self.val_fraction is not None and not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"expected --val_fraction in (0, 1) or unset, got {self.val_fraction}")


def eval_command(config: TextEvalConfig) -> dict[str, float]:
    model = load_lm(config.model)
    assert model.tokenizer is not None
    text = read_text(config.data)
    if config.val_fraction is not None:
        text = text[round(len(text) * (1.0 - config.val_fraction)) :]
    ids = torch.tensor(model.tokenizer.encode(text), dtype=torch.long)
    batch = max(1, min(config.batch_size, (len(ids) - 1) // 2))
    try:
        batches = StreamBatches(ids, batch, config.bptt)
    except ValueError as err:
        raise ValueError(f"{config.data}: {err}") from None
    chars = len(model.tokenizer.decode(batches.y.flatten().tolist()))
    nll, tokens = stream_nll(model, batches)
    metrics = {**lm_metrics(nll, tokens, chars), "tokens": tokens, "characters": chars}
    print(
        f"loss {metrics['loss']:.4f} nats/token, perplexity {metrics['perplexity']:.3f}, "
        f"{metrics['bpc']:.4f} bits/char over {tokens} tokens"
    )
    if config.out is not None:
        out = Path(config.out)
        _write_json(out / "config.json", {"command": "text eval", **dataclasses.asdict(config)})
        _write_json(out / "metrics.json", metrics)
    return metrics


COMMANDS: dict[str, tuple[type, Any]] = {
    "train": (TextTrainConfig, train),
    "generate": (TextGenerateConfig, generate_command),
    "eval": (TextEvalConfig, eval_command),
    "classify-train": (ClassifyTrainConfig, classify_train),
}
