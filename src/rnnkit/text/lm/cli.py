"""``rnnkit text train|generate|eval``: command lines over :class:`~rnnkit.text.lm.estimator.TextGenerator`.

Each command is a dataclass (the flags, with their docstrings as ``--help``) and a function taking it; the
function parses nothing and decides nothing: it calls the estimator and prints.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.text.lm.data import split_text
from rnnkit.text.lm.estimator import TextGenerator
from rnnkit.text.lm.fit import LMSettings
from rnnkit.text.lm.generation import Generation
from rnnkit.text.loading import eval_out
from rnnkit.text.tokenize import read_text


@dataclass(kw_only=True)
class TextTrainConfig(LMSettings):
    """Train a recurrent language model on a text file (truncated BPTT over the contiguous stream)."""

    data: str
    """UTF-8 text file; the last --val_fraction of each of its --val_blocks parts is the validation text."""


def train(config: TextTrainConfig) -> dict[str, Any]:
    """Train through the engine's driver: OUT/model, OUT/metrics.json, OUT/config.json, one summary line."""
    lm = TextGenerator.from_settings(config)
    return lm.fit(Path(config.data), out=config.out, resume=config.resume, record=config).metrics


@dataclass(kw_only=True)
class TextGenerateConfig(Generation):
    """Generate text from a trained language model, streaming it to stdout."""

    model: str
    """Model directory (the --out of `rnnkit text train`, or its model/ folder)."""
    prompt: str
    """Text to continue (every character or word must occur in the training text; bpe models take any text)."""
    out: str | None = None
    """Optional directory for samples.txt, metrics.json (speed) and config.json."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.prompt:
            raise ValueError("expected a non-empty --prompt")

    def options(self) -> dict[str, Any]:
        """Every generation setting, by name, as TextGenerator.generate takes them (none can be dropped)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Generation)}


def generate_command(config: TextGenerateConfig) -> list[str]:
    lm = TextGenerator.load(config.model)
    start = time.perf_counter()
    options = config.options()
    if config.beam_width == 1 and config.num_samples == 1:
        del options["num_samples"], options["beam_width"], options["length_penalty"]
        stream = lm.stream(config.prompt, **options)  # checks the prompt before anything is printed
        sys.stdout.write(config.prompt)
        pieces = []
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
            pieces.append(piece)
        sys.stdout.write("\n")
        samples = ["".join(pieces)]
    else:
        result = lm.generate(config.prompt, **options)
        samples = [result] if isinstance(result, str) else result
        if len(samples) == 1:
            print(config.prompt + samples[0])
        else:
            for i, sample in enumerate(samples):
                print(f"--- sample {i + 1}\n{config.prompt}{sample}")
    seconds = time.perf_counter() - start
    if config.out is not None:
        from rnnkit.train import write_json

        out = Path(config.out)
        write_json(out / "config.json", {"command": "text generate", **dataclasses.asdict(config)})
        (out / "samples.txt").write_text("\n\n".join(config.prompt + s for s in samples) + "\n", encoding="utf-8")
        chars = sum(len(s) for s in samples)
        write_json(out / "metrics.json", {"seconds": seconds, "new_chars": chars, "chars_per_second": chars / seconds})
    return samples


@dataclass
class TextEvalConfig:
    """Evaluate a language model on a text file: loss (nats/token), perplexity, bits per character."""

    model: str
    """Model directory."""
    data: str
    """UTF-8 text file."""
    out: str | None = None
    """Directory for metrics.json and config.json (default: RUN/eval/DATA-NAME next to the model's run folder)."""
    val_fraction: float | None = None
    """Evaluate only the validation text `text train` holds out with this --val_fraction (and --val_blocks); None =
    the whole file."""
    val_blocks: int = 10
    """With --val_fraction: the parts the validation text is spread over, as `text train` spreads it."""
    bptt: int = 256
    """Window length (the state is carried across windows, so this only affects speed)."""
    batch_size: int = 16
    """Parallel streams."""

    def __post_init__(self) -> None:
        if self.val_fraction is not None and not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"expected --val_fraction in (0, 1) or unset, got {self.val_fraction}")
        if self.val_blocks < 1:
            raise ValueError(f"expected --val_blocks >= 1, got {self.val_blocks}")


def eval_command(config: TextEvalConfig) -> dict[str, float]:
    from rnnkit.train import write_json

    lm = TextGenerator.load(config.model)
    text = read_text(config.data)
    if config.val_fraction is not None:
        text = "".join(split_text(text, config.val_fraction, config.val_blocks)[1])
    try:
        metrics = lm.evaluate(text, bptt=config.bptt, batch_size=config.batch_size)
    except ValueError as err:
        raise ValueError(str(err).replace("the text", config.data, 1)) from None
    out = Path(config.out) if config.out is not None else eval_out(config.model, config.data)
    write_json(out / "config.json", {"command": "text eval", **dataclasses.asdict(config)})
    write_json(out / "metrics.json", metrics)
    print(
        f"loss {metrics['loss']:.4f} nats/token, perplexity {metrics['perplexity']:.3f}, "
        f"{metrics['bpc']:.4f} bits/char over {metrics['tokens']} tokens -> {out / 'metrics.json'}"
    )
    return metrics


COMMANDS: dict[str, tuple[type, Any]] = {
    "train": (TextTrainConfig, train),
    "generate": (TextGenerateConfig, generate_command),
    "eval": (TextEvalConfig, eval_command),
}
