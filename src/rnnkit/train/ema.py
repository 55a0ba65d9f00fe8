"""--ema: an exponential moving average of the trainable weights, bias-corrected as Adam's moments.

The running sums start at zero and move towards the weights after every optimizer step (``lerp`` by 1 - decay);
divided by ``1 - decay**step`` they are the average, so the initial weights carry no weight.

>>> import torch
>>> w = torch.nn.Parameter(torch.zeros(2))
>>> ema = WeightAverage([w], decay=0.5)
>>> for value in (1.0, 3.0):
...     with torch.no_grad():
...         _ = w.fill_(value)
...     ema.update()
>>> with ema.applied(step=2):
...     w.tolist()                       # (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25)
[2.3333332538604736, 2.3333332538604736]
>>> w.tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


class WeightAverage:
    """The bias-corrected exponential average of ``params`` with ``decay`` per :meth:`update`."""

    def __init__(self, params: Sequence[Tensor], decay: float) -> None:
        self.params, self.decay = list(params), decay
        self.sums = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def update(self) -> None:
        """After an optimizer step: move the sums towards the current weights."""
        torch._foreach_lerp_(self.sums, [p.detach() for p in self.params], 1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self, step: int) -> Iterator[None]:
        """Within the block the parameters hold the average after ``step`` updates (the raw weights at step 0);
        the raw weights come back after it."""
        if step == 0:
            yield
            return
        correction = 1.0 - self.decay**step
        with torch.no_grad():
            raw = [p.detach().clone() for p in self.params]
            for p, e in zip(self.params, self.sums):
                p.copy_(e / correction)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, r in zip(self.params, raw):
                    p.copy_(r)
