"""The Python API of language modelling: ``TextGenerator().fit(text)`` -> ``.generate(prompt)``, ``.evaluate(text)``.

``rnnkit text train|generate|eval`` are thin layers over this class: the same settings (:class:`LMSettings`), the
same generation defaults (:class:`~rnnkit.text.lm.generation.Generation`), the same code path, so the same seed gives
the same model and the same text from Python and from the command line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.text.lm.data import StreamBatches
from rnnkit.text.lm.fit import LMSettings, fit_lm, headline, prepare
from rnnkit.text.lm.generation import Generation, Sampling, beam_search, encode_prompt, generate, stream
from rnnkit.text.lm.model import LanguageModel, lm_metrics, stream_nll
from rnnkit.text.loading import string_list, text_or_file
from rnnkit.text.running import Estimator, check_out, train


class TextGenerator(Estimator[LanguageModel]):
    """A recurrent language model you fit on a text and then sample, score or save (estimator style).

    Named ``TextGenerator`` rather than ``LanguageModel`` because :class:`rnnkit.models.LanguageModel` is the
    ``nn.Module`` inside it (``.model``); this object adds the tokeniser fitting, the training settings and the
    generation defaults that ``rnnkit text ...`` uses.

    Args:
        **settings: any field of :class:`~rnnkit.text.lm.fit.LMSettings` (the flags of ``rnnkit text train``, e.g.
            ``hidden_size=256``, ``max_steps=1000``, ``time_budget=15``); the same defaults as the command line.

    >>> text = "to be or not to be, that is the question. " * 40
    >>> lm = TextGenerator(embed_size=8, hidden_size=16, num_layers=1, bptt=16, batch_size=4, max_steps=10,
    ...                    quiet=True).fit(text)
    >>> sample = lm.generate("to be", max_new_tokens=20, seed=0)
    >>> len(sample) == 20 and sample == lm.generate("to be", max_new_tokens=20, seed=0)
    True
    >>> lm.perplexity("not to be") < 27  # better than guessing among the 16 characters it saw
    True
    """

    settings_class = LMSettings
    model_class = LanguageModel
    what, fit_hint, train_hint = "a language model", ".fit(text)", "rnnkit text train --data FILE --out DIR"
    settings: LMSettings

    # ---- training ------------------------------------------------------------------------------------------
    def fit(
        self, text: str | Path, *, out: str | Path | None = None, resume: bool = False, record: Any = None
    ) -> TextGenerator:
        """Fit the tokeniser and train the model on ``text`` (a str, or the path of a UTF-8 file).

        The last ``val_fraction`` of each of ``val_blocks`` equal parts of the text validates; the model keeps the
        weights of its best validation.
        Without ``out`` nothing is written. With ``out`` the engine's driver runs it as ``rnnkit text train --out``
        does: the run folder (model/, metrics.json, config.json, checkpoints), a refusal to overwrite a finished
        run, Ctrl-C that saves the best model (:class:`rnnkit.train.driver.TrainingInterrupted`), and
        ``resume=True`` to continue an interrupted run. ``record``: the config that config.json records (the
        command line passes its own, which adds --data); by default these settings.
        """
        check_out(out, resume)
        content, source = text_or_file(text)
        data = prepare(self.settings, content, source)  # before the driver: a bad text fails fast
        model, self.metrics = train(
            self.settings,
            lambda run_dir, run_config: fit_lm(self.settings, data, run_dir, run_config),
            command="text train",
            out=out,
            resume=resume,
            record=record,
            headline=headline,
        )
        self.model = model  # type: ignore[assignment]
        return self

    # ---- using the model -----------------------------------------------------------------------------------
    def generate(
        self,
        prompt: str | Sequence[str],
        max_new_tokens: int = Generation.max_new_tokens,
        *,
        temperature: float = Sampling.temperature,
        top_k: int | None = Sampling.top_k,
        top_p: float | None = Sampling.top_p,
        repetition_penalty: float = Sampling.repetition_penalty,
        seed: int | None = Generation.seed,
        num_samples: int = Generation.num_samples,
        beam_width: int = Generation.beam_width,
        length_penalty: float = Generation.length_penalty,
    ) -> str | list[str]:
        """Continue ``prompt`` (new text only): a str for one prompt, a list for a list of prompts or for
        ``num_samples > 1``. ``beam_width > 1`` searches for the most likely continuation instead of sampling."""
        opts = Generation(
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            repetition_penalty=repetition_penalty,
            max_new_tokens=max_new_tokens,
            seed=seed,
            num_samples=num_samples,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
        prompts = string_list(prompt, "the prompt(s)")
        model = self.fitted
        if opts.beam_width > 1:
            outs = [beam_search(model, p, opts.max_new_tokens, opts.beam_width, opts.length_penalty) for p in prompts]
            return outs[0] if isinstance(prompt, str) else outs
        if opts.num_samples > 1:
            if not isinstance(prompt, str):
                raise ValueError("num_samples > 1 takes one prompt (a str); for several prompts pass a list instead")
            prompts = prompts * opts.num_samples
        s = opts.sampling
        batch = generate(
            model, prompts, opts.max_new_tokens, s.temperature, s.top_k, s.top_p, s.repetition_penalty, opts.seed
        )
        return batch[0] if isinstance(prompt, str) and opts.num_samples == 1 else list(batch)

    def stream(
        self,
        prompt: str,
        max_new_tokens: int = Generation.max_new_tokens,
        *,
        temperature: float = Sampling.temperature,
        top_k: int | None = Sampling.top_k,
        top_p: float | None = Sampling.top_p,
        repetition_penalty: float = Sampling.repetition_penalty,
        seed: int | None = Generation.seed,
    ) -> Iterator[str]:
        """Yield the continuation of one prompt piece by piece (the same text as :meth:`generate`, same seed)."""
        opts = Generation(
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            repetition_penalty=repetition_penalty,
            max_new_tokens=max_new_tokens,
            seed=seed,
        )
        if not isinstance(prompt, str):
            raise TypeError(f"expected one prompt (a str) to stream, got {type(prompt).__name__}")
        model = self.fitted
        assert model.tokenizer is not None
        encode_prompt(model.tokenizer, prompt)  # now, not at the first piece: a bad prompt fails before any output
        return stream(model, prompt, opts.max_new_tokens, opts.sampling, opts.seed)

    def evaluate(self, text: str | Path, *, bptt: int = 256, batch_size: int = 16) -> dict[str, float]:
        """Loss (nats/token), perplexity and bits per character on ``text`` (a str or a file's path), with the
        recurrent state carried over the whole text (``bptt`` and ``batch_size`` only change the speed)."""
        content, source = text_or_file(text)
        model = self.fitted
        assert model.tokenizer is not None
        ids = torch.tensor(model.tokenizer.encode(content), dtype=torch.long)
        try:
            batches = StreamBatches(ids, max(1, min(batch_size, (len(ids) - 1) // 2)), bptt)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
        chars = len(model.tokenizer.decode(batches.y.flatten().tolist()))
        nll, tokens = stream_nll(model, batches)
        return {**lm_metrics(nll, tokens, chars), "tokens": tokens, "characters": chars}

    def perplexity(self, text: str | Path) -> float:
        """exp(mean negative log-likelihood per token) of ``text``."""
        return self.evaluate(text)["perplexity"]
