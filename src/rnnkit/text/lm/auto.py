"""The settings a language model chooses from its corpus and its compute: width, learning rate, dropout and
validation cadence.

``rnnkit text train`` leaves ``--hidden_size``, ``--lr``, ``--dropout`` and ``--val_every`` unset by default;
:func:`resolve` fills them in before the model is built, and metrics.json records what it chose and why
(``"chosen"``).

The rule (measured with ``benchmarks/lm_defaults.py`` on development corpora only, see its RESULTS.md sections):

1. **Compute.** The tokens the run will train on, D: with ``--time_budget``, the budget (less the time this
   probe takes) times the measured training speed of each candidate width, less a share for validation; with
   ``--max_steps``, steps x batch x window; with neither, ``--epochs`` passes over the training tokens.
2. **Width.** The one of :data:`WIDTHS` whose model trains on the number of tokens per parameter (D / P) nearest
   to :data:`TOKENS_PER_PARAMETER`, nearest as a ratio. A wider model would see too little text for its size
   within the compute; a narrower one would stop learning before the compute runs out. Depth (``--num_layers``)
   and ``--embed_size`` stay as given.
3. **Learning rate.** :data:`PEAK_LR` up to 512 units, scaled by 512 / width above (:func:`lr_for`). A run of a
   few hundred steps, all a CPU budget buys a wide model, needs the largest rate that stays stable; wider than
   measured, the rate shrinks as Adam's stable step for a matrix does with its fan-in (the 1/width rule of muP,
   Yang et al. 2021). The schedule (``--schedule wsd``) holds the peak until the last 20% of the run, then decays
   to zero.
4. **Dropout.** :data:`DROPOUT` (0.1) for a run expected to make :data:`DROPOUT_PASSES` (12) passes or more over
   its training text, none below (:func:`dropout_for`): on development data dropout lost at 8 passes and won at
   16, where the model starts to memorise its text.
5. **Validation cadence.** About :data:`VALIDATIONS` validations over the run (one every D / 10 tokens), so that
   the best weights are kept and early stopping can act within any budget.
6. **Epochs under a time budget.** ``--epochs`` left at its default is raised to :data:`EPOCHS_MARGIN` times the
   passes the budget is expected to buy, so the budget ends the run (the learning-rate decay follows the clock
   under a budget, see :class:`rnnkit.train.schedule.LRSchedule`); the default of 50 would stop a budgeted run on a
   small corpus after a fraction of its time. An ``--epochs`` other than the default is kept.

A width or dropout given explicitly is kept (and used for the others' arithmetic). Timing makes the choice under
``--time_budget`` depend on the machine; ``--resume`` reuses the first segment's choice (``chosen.json`` in the run
folder), and ``--max_steps`` or ``--epochs`` give the same choice on every machine.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.text.lm.model import LanguageModel

WIDTHS = (128, 256, 384, 512, 768, 1024)
"""Candidate hidden sizes, narrowest first."""
TOKENS_PER_PARAMETER = 1.2
"""The training tokens per parameter the width is chosen for. Measured in a 5-minute budget on the docstrings
development corpus (benchmarks/lm_defaults.py, learning rate and schedule as chosen here): widths 256, 512 and 768
trained on 6.0, 0.53 and 0.11 tokens per parameter and reached validation losses 1.69, 1.60 and 1.83; a parabola
through the three in log(tokens per parameter) has its minimum at 1.2. (With the former learning rate, 2e-3 and a
cosine decay, short runs were starved and the narrowest width won at 63 tokens per parameter: the constant was 60,
and on tiny-shakespeare at 15 minutes its 2x128 lost to a plain 2x512 loop.)"""
PEAK_LR = 8e-3
"""AdamW's peak learning rate up to 512 units (:func:`lr_for`). Chosen on the docstrings development corpus (a
scratch loop of fixed steps: 2-layer LSTM, random 128-token windows, batch 64, warm-up 10, then the wsd schedule,
scored on the last tenth of the corpus's first 90%): at 256 units and 200 steps the rates 2e-3, 4e-3, 8e-3 and
3.2e-2 reached 2.10, 1.75, 1.55 and 1.45 nats/char; at 512 units and 150 steps 4e-3, 8e-3 and 1.6e-2 reached
1.94, 1.41 and 2.94 (it failed to learn); at 128 units and 1200 steps 8e-3 beat 3.2e-2 (1.44 against 1.59). 8e-3
is the largest rate that learnt at every width tried. The former default, 2e-3 with a cosine decay, reached 2.51 at
256 units and 200 steps (rnnkit's trainer: 2.52)."""
DROPOUT = 0.1
"""Dropout of a run that makes :data:`DROPOUT_PASSES` passes or more (:func:`dropout_for`)."""
DROPOUT_PASSES = 12.0
"""From this many passes over the training text on, the run gets :data:`DROPOUT`. Measured on the docstrings
development corpus (benchmarks/lm_defaults.py, 2x384, 5 minutes, ``--chars``; each run also scored on the 60,000
characters after its training text, other docstrings): at about 8 passes (400,000 characters) dropout 0.1 lost
(validation 1.304 against 1.206 without, later text 1.730 against 1.676); at about 16 passes (200,000 characters)
it won (1.139 against 1.149, later text 1.487 against 1.519). 12 lies between the two; eng-fra (dropout 0.3, the
former learning rate) lost at 2.4 and 9.9 passes."""
VALIDATIONS = 10
"""Validations per run when --val_every is unset."""
VALIDATION_SHARE = 0.08
"""Share of a time budget assumed spent validating when the tokens a budget buys are estimated."""
EPOCHS_MARGIN = 4.0
"""Under ``--time_budget``: the default ``--epochs`` becomes this many times the expected passes (the speed probe
can be off; the budget should end the run, not the epochs)."""
FILE = "chosen.json"


def dropout_for(passes: float, tokens_per_parameter: float) -> float:
    """Dropout for a run that makes ``passes`` passes over its training text, training on ``tokens_per_parameter``
    tokens per parameter (step 4 of the module's rule): :data:`DROPOUT` from :data:`DROPOUT_PASSES` passes on,
    none below. ``tokens_per_parameter`` is not used yet: the measurements vary the passes only.

    >>> [dropout_for(p, 1.5) for p in (0.5, 8.0, 16.0)]
    [0.0, 0.0, 0.1]
    """
    return DROPOUT if passes >= DROPOUT_PASSES else 0.0


def lr_for(hidden_size: int) -> float:
    """The peak learning rate for a model of ``hidden_size`` units (step 3 of the module's rule).

    >>> [lr_for(h) for h in (128, 512, 1024)]
    [0.008, 0.008, 0.004]
    """
    return PEAK_LR * min(1.0, 512 / hidden_size)


def parameters(settings: Any, vocab_size: int, hidden_size: int) -> int:
    """Parameters of the language model these settings build at ``hidden_size``."""
    model = _model(settings, vocab_size, hidden_size)
    return sum(p.numel() for p in model.parameters())


def seconds_per_step(settings: Any, vocab_size: int, hidden_size: int) -> float:
    """Measured seconds of one training step (forward, backward, AdamW) on a (batch, bptt) window of random tokens,
    after one untimed step; the global random state is left as it was."""
    with torch.random.fork_rng():
        model = _model(settings, vocab_size, hidden_size).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr or lr_for(hidden_size))
        ids = torch.randint(0, vocab_size, (settings.batch_size, settings.bptt + 1))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            logits, _ = model(ids[:, :-1])
            F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - start)
    return times[-1]


def _model(settings: Any, vocab_size: int, hidden_size: int) -> LanguageModel:
    return LanguageModel(
        vocab_size,
        settings.embed_size,
        hidden_size,
        settings.num_layers,
        settings.cell,
        settings.dropout or 0.0,
        settings.tie_weights,
    )


def resolve(settings: Any, train_tokens: int, vocab_size: int, run_dir: Path | None = None) -> tuple[Any, dict]:
    """``settings`` with hidden_size, dropout and val_every filled in, and the record of the choice (metrics.json).

    Under ``--time_budget`` the probe's seconds are taken from the budget the trainer gets. A run folder that holds
    an earlier segment's ``chosen.json`` (``--resume``) gets that choice back unchanged.
    """
    saved = run_dir / FILE if run_dir is not None else None
    if saved is not None and saved.is_file():
        chosen = json.loads(saved.read_text(encoding="utf-8"))
        return dataclasses.replace(settings, **chosen["settings"]), chosen
    start = time.perf_counter()
    tokens_per_step = settings.batch_size * settings.bptt * settings.grad_accum
    widths = [settings.hidden_size] if settings.hidden_size is not None else list(WIDTHS)
    measured: dict[int, float] = {}
    candidates = []  # (width, parameters, tokens)
    for width in widths:
        params = parameters(settings, vocab_size, width)
        if settings.time_budget is not None:
            measured[width] = seconds_per_step(settings, vocab_size, width)
            left = settings.time_budget * 60 - (time.perf_counter() - start)
            tokens = max(1.0, left * (1 - VALIDATION_SHARE) / measured[width]) * tokens_per_step  # >= 1 step
        elif settings.max_steps is not None:
            tokens = settings.max_steps * tokens_per_step
        else:
            tokens = settings.epochs * train_tokens
        candidates.append((width, params, tokens))
        if tokens / params < TOKENS_PER_PARAMETER:
            break  # wider models are slower and larger: each is further from the target than this one
    width, params, tokens = min(candidates, key=lambda c: abs(math.log(c[2] / c[1] / TOKENS_PER_PARAMETER)))
    if settings.max_steps is not None:
        tokens = min(tokens, settings.max_steps * tokens_per_step)
    probe = time.perf_counter() - start
    passes = tokens / max(train_tokens, 1)
    values: dict[str, Any] = {
        "hidden_size": width,
        "lr": settings.lr if settings.lr is not None else lr_for(width),
        "dropout": settings.dropout if settings.dropout is not None else dropout_for(passes, tokens / params),
        "val_every": settings.val_every or max(1, round(tokens / tokens_per_step / VALIDATIONS)),
    }
    epochs_default = next(f.default for f in dataclasses.fields(settings) if f.name == "epochs")
    raise_epochs = settings.time_budget is not None and settings.epochs == epochs_default
    if settings.time_budget is not None:
        values["time_budget"] = settings.time_budget - probe / 60
    if raise_epochs:  # the budget ends the run (and paces the learning-rate decay), not the default --epochs
        values["epochs"] = max(settings.epochs, math.ceil(EPOCHS_MARGIN * passes))
    why = {
        "hidden_size": "given"
        if settings.hidden_size is not None
        else f"of {list(WIDTHS)}, the nearest to {TOKENS_PER_PARAMETER:g} training tokens per parameter: "
        + ", ".join(f"{c[2] / c[1]:.1f} at {c[0]}" for c in candidates),
        "lr": "given"
        if settings.lr is not None
        else f"{PEAK_LR:g}" + ("" if width <= 512 else f" x 512 / {width} units"),
        "dropout": "given"
        if settings.dropout is not None
        else f"{passes:.2f} passes over the training text, {tokens / params:.1f} tokens per parameter",
        "val_every": "given"
        if settings.val_every
        else f"about {VALIDATIONS} validations over the run's {tokens / tokens_per_step:.0f} expected steps",
    }
    if raise_epochs:
        why["epochs"] = (
            f"the default {epochs_default} raised to {EPOCHS_MARGIN:g}x the {passes:.1f} passes the time budget is "
            "expected to buy, so that the budget ends the run"
        )
    chosen = {
        "settings": values,
        "why": why,
        "expected_tokens": round(tokens),
        "expected_passes": passes,
        "parameters": params,
        "compute": "time_budget"
        if settings.time_budget is not None
        else ("max_steps" if settings.max_steps is not None else "epochs"),
        "seconds_per_step": {str(w): s for w, s in measured.items()},
        "probe_seconds": probe,
    }
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(chosen, indent=2) + "\n", encoding="utf-8")
    return dataclasses.replace(settings, **values), chosen
