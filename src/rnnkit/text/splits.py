"""Fixed random splits shared by the text applications: by item, or by a key that keeps related items together."""

from __future__ import annotations

import torch


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A fixed random split of range(n): (train, held-out), the same for the same (n, fraction, seed)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    cut = round(n * val_fraction)
    return sorted(order[cut:]), sorted(order[:cut])


def split_by_key(keys: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A fixed random split of item indices that keeps items sharing a key together: (train, held-out).

    ``fraction`` of the distinct keys (drawn with ``seed``) go to the held-out side with all their items. For
    translation pairs the key is the source sentence: Tatoeba lists many sentences with several translations, and
    a split by pair would leave most held-out sources in the training data under another translation.

    >>> split_by_key(["a", "b", "a", "c", "b"], 0.34, seed=0)
    ([0, 1, 2, 4], [3])
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"expected a held-out fraction in (0, 1), got {fraction}")
    distinct = list(dict.fromkeys(keys))
    order = torch.randperm(len(distinct), generator=torch.Generator().manual_seed(seed)).tolist()
    held = {distinct[i] for i in order[: round(len(distinct) * fraction)]}
    train = [i for i, k in enumerate(keys) if k not in held]
    return train, [i for i, k in enumerate(keys) if k in held]
