"""Language-model data: contiguous token streams for truncated BPTT.

Shapes: B batch (parallel streams), T window length (``bptt``), N tokens.

Truncated BPTT over a contiguous stream (Zaremba et al. 2014, §3; char-rnn): the token stream is cut into B
equal columns, and batch k holds window k of every column. Row b of batch k+1 continues row b of batch k, so the
recurrent state at the end of one batch is the right initial state for the next one (carried, detached).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def split_stream(ids: list[int] | Tensor, val_fraction: float) -> tuple[Tensor, Tensor]:
    """First ``1 - val_fraction`` of the stream for training, the rest for validation (no shuffling: text order).

    >>> train, val = split_stream(list(range(10)), 0.2)
    >>> train.tolist(), val.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    data = torch.as_tensor(ids, dtype=torch.long)
    cut = round(len(data) * (1.0 - val_fraction))
    return data[:cut], data[cut:]


def split_text(text: str, val_fraction: float, blocks: int = 1) -> tuple[str, list[str]]:
    """The training text and the validation blocks: ``text`` cut into ``blocks`` equal parts, the last
    ``val_fraction`` of each part validating, the rest of the parts joined in text order for training.

    One block holds out the end of the text (for a model that must continue it); several spread the validation
    through the text, so that the model trains on every part of it, its end included, and is validated on every
    part (a corpus whose last tenth is one play, one package or one author would otherwise be both missing from
    training and all of the validation).

    >>> split_text("0123456789abcdefghij", 0.2, blocks=2)
    ('01234567abcdefgh', ['89', 'ij'])
    >>> split_text("0123456789", 0.3)
    ('0123456', ['789'])
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    if blocks < 1:
        raise ValueError(f"expected --val_blocks >= 1, got {blocks}")
    train, val = [], []
    for i in range(blocks):
        start, end = round(i * len(text) / blocks), round((i + 1) * len(text) / blocks)
        cut = end - round((end - start) * val_fraction)
        train.append(text[start:cut])
        val.append(text[cut:end])
    return "".join(train), val


class StreamBatches:
    """Iterate (x, y) windows over B contiguous columns of a token stream: x (B, T), y = x shifted by one.

    With ``random_shift`` each epoch rotates the stream by a random number of tokens (drawn from torch's global
    RNG, which the Trainer seeds and checkpoints) before cutting the columns: where each row starts, the context
    its state has built up and the window boundaries all change from epoch to epoch, while rows stay contiguous
    (but for the one seam where the stream's end meets its start; every (x, y) pair is still a true next-token
    pair). Without it every epoch replays the same rows in the same order, which a model memorises faster than
    random windows. The number of windows per epoch does not change.

    ``weights`` (N,), optional: the weight of each token as a target (a dialogue counts only its replies); the
    batches are then (x, y, w) with w (B, T) the weights of y.

    >>> batches = StreamBatches(torch.arange(20), batch_size=2, bptt=3)
    >>> [(x.tolist(), y.tolist()) for x, y in batches][:2]
    [([[0, 1, 2], [9, 10, 11]], [[1, 2, 3], [10, 11, 12]]), ([[3, 4, 5], [12, 13, 14]], [[4, 5, 6], [13, 14, 15]])]
    """

    def __init__(
        self, data: Tensor, batch_size: int, bptt: int, random_shift: bool = False, weights: Tensor | None = None
    ):
        if bptt < 1 or batch_size < 1:
            raise ValueError(f"expected --batch_size >= 1 and --bptt >= 1, got {batch_size} and {bptt}")
        columns = (len(data) - 1) // batch_size
        if columns < 2:
            raise ValueError(
                f"the text is too short for batch_size={batch_size}: {len(data)} tokens give {columns} per stream "
                "(need at least 2); use more text or a smaller --batch_size"
            )
        self.batch_size, self.bptt, self.columns = batch_size, bptt, columns
        self.x = data[: columns * batch_size].view(batch_size, columns)  # (B, N/B)
        self.y = data[1 : columns * batch_size + 1].view(batch_size, columns)
        self.w = None if weights is None else weights[1 : columns * batch_size + 1].view(batch_size, columns)
        self.random_shift = random_shift and columns > 2 * bptt

    def __len__(self) -> int:
        return (self.columns + self.bptt - 1) // self.bptt

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        parts = [self.x, self.y] if self.w is None else [self.x, self.y, self.w]
        if self.random_shift:
            shift = -int(torch.randint(0, self.x.numel(), (1,)))
            parts = [p.flatten().roll(shift).view_as(p) for p in parts]
        for i in range(0, self.columns, self.bptt):
            yield tuple(p[:, i : i + self.bptt] for p in parts)

    @property
    def tokens(self) -> int:
        return self.columns * self.batch_size
