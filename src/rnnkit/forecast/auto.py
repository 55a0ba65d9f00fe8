"""Defaults that adapt to the data: horizon, look-back, seasonal period, epochs and validation interval.

Each rule applies only where a setting was left at None (an explicit value is always taken as given), and each
is written down here so that a run's config.json, which records the values chosen, can be explained:

- season: the frequency's natural period (24 hourly, 7 daily, 12 monthly; :func:`~rnnkit.forecast.timeaxis.season_of`),
  or for integer steps, which have no calendar, the autocorrelation peak of the training rows
  (:func:`~rnnkit.forecast.timeaxis.detect_season`).
- horizon: one season (24 when there is none), at most the rows of the validation and test splits.
- look-back: 96 steps (the long-horizon literature's), at most half the training rows after the horizon (so there
  are at least as many training windows as look-back steps), rounded down to whole seasons.
- epochs: enough for :data:`MIN_STEPS` optimizer steps and at least 30. A 144-row monthly series has one batch per
  epoch, so 30 epochs would be 30 steps (issue 14: MASE 2.57 against 1.09 with more steps).
- validation: every epoch, or every :data:`VAL_STEPS` steps or so when epochs are shorter, so that early stopping's
  patience (--early_stopping validations) is counted in steps, not in one-step epochs.

On ETTh1 (8640 hourly training rows, batch 256) these give the previous fixed defaults: look-back 96, horizon 24,
30 epochs, validation every epoch.
"""

from __future__ import annotations

import math

MIN_STEPS = 1000
"""Optimizer steps the default number of epochs reaches at least."""
VAL_STEPS = 30
"""Optimizer steps between validations at least, when epochs are shorter than that."""
MAX_LOOKBACK = 96


def horizon(season: int, val_rows: int, test_rows: int) -> int:
    """One season ahead (24 without a season), no longer than a validation or test split that has rows.

    >>> horizon(12, 16, 28), horizon(24, 1000, 2000), horizon(1, 0, 0)
    (12, 24, 24)
    """
    h = season if season > 1 else 24
    for rows in (val_rows, test_rows):
        if rows > 0:
            h = min(h, rows)
    return max(1, h)


def lookback(train_rows: int, horizon: int, season: int) -> int:
    """96 steps at most, at most half the training rows left after the horizon, in whole seasons.

    >>> lookback(100, 12, 12), lookback(8640, 24, 24), lookback(1022, 7, 7)
    (36, 96, 91)
    """
    top = min(MAX_LOOKBACK, (train_rows - horizon + 1) // 2)
    if season > 1 and top >= season:
        top -= top % season
    return max(1, top)


def epochs(steps_per_epoch: int) -> int:
    """Epochs for at least :data:`MIN_STEPS` optimizer steps, and at least 30.

    >>> epochs(1), epochs(34)
    (1000, 30)
    """
    return max(30, math.ceil(MIN_STEPS / max(1, steps_per_epoch)))


def val_every(steps_per_epoch: int) -> int | None:
    """Validate every epoch (None) unless an epoch is shorter than :data:`VAL_STEPS` steps: then every whole number
    of epochs that reaches it.

    >>> val_every(1), val_every(4), val_every(34)
    (30, 32, None)
    """
    if steps_per_epoch >= VAL_STEPS:
        return None
    return steps_per_epoch * math.ceil(VAL_STEPS / steps_per_epoch)


def seg_len(lookback: int, horizon: int) -> int:
    """SegRNN's segment length: the largest divisor of both that is at most 24.

    >>> seg_len(96, 720), seg_len(91, 7), seg_len(36, 12)
    (24, 7, 12)
    """
    g = math.gcd(lookback, horizon)
    return max(w for w in range(1, min(24, g) + 1) if g % w == 0)
