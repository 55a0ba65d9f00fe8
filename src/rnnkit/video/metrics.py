"""Frame-prediction scores (per-frame MSE, SSIM) and pictures (a PNG strip of frames).

SSIM follows Wang et al. (2004), "Image quality assessment: from error visibility to structural similarity":
Gaussian window (sigma 1.5; 7x7 here, since the frames are small), K1 = 0.01, K2 = 0.03, data range 1,
computed per channel and averaged over the image.

Shapes: N clips, T frames, C channels, S frame size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _window(size: int, sigma: float, channels: int) -> Tensor:
    g = torch.exp(-((torch.arange(size, dtype=torch.float64) - (size - 1) / 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()  # (C, 1, k, k)


def ssim(a: Tensor, b: Tensor, window: int = 7, sigma: float = 1.5) -> Tensor:
    """SSIM of each image pair: a, b (N, C, S, S) in [0, 1] -> (N,). Valid (unpadded) windows only.

    >>> x = torch.rand(2, 1, 16, 16)
    >>> ssim(x, x).tolist()
    [1.0, 1.0]
    >>> bool(ssim(x, 1 - x).max() < 0)
    True
    """
    a64, b64 = a.double(), b.double()
    C = a.shape[1]
    w = _window(window, sigma, C).to(a.device)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, w, groups=C)

    mu_a, mu_b = blur(a64), blur(b64)
    var_a = blur(a64 * a64) - mu_a**2
    var_b = blur(b64 * b64) - mu_b**2
    cov = blur(a64 * b64) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    score = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return score.mean(dim=(1, 2, 3)).float()


def frame_scores(pred: Tensor, true: Tensor) -> dict[str, list[float]]:
    """Per future-frame MSE and SSIM averaged over clips: pred, true (N, T, C, S, S) in [0, 1] -> {"mse": [T],
    "ssim": [T]}.

    >>> x = torch.zeros(3, 2, 1, 8, 8)
    >>> frame_scores(x, x + 0.5)["mse"]
    [0.25, 0.25]
    """
    if pred.shape != true.shape:
        raise ValueError(
            f"expected predicted and true frames of one shape, got {tuple(pred.shape)} and {tuple(true.shape)}"
        )
    mse = ((pred.double() - true.double()) ** 2).mean(dim=(0, 2, 3, 4))  # (T,)
    scores = [ssim(pred[:, t], true[:, t]).mean() for t in range(pred.shape[1])]
    return {"mse": [float(v) for v in mse], "ssim": [float(v) for v in scores]}


def save_strip(rows: Sequence[tuple[str, np.ndarray]], path: str | Path, scale: int = 3) -> Path:
    """Save labelled rows of frames as one PNG: each row uint8 (T, S, S, C); rows may differ in length.

    >>> import tempfile
    >>> frames = np.zeros((3, 8, 8, 1), dtype=np.uint8)
    >>> save_strip([("input", frames), ("predicted", frames[:2])], Path(tempfile.mkdtemp()) / "s.png").suffix
    '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(frames) for _, frames in rows)
    width = 0.55 * columns * scale / 3 + 1.2  # inches; the row labels take about 0.9
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(width, 0.62 * len(rows) * scale / 3 + 0.2), dpi=110, squeeze=False
    )
    for r, (name, frames) in enumerate(rows):
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(frames):
                frame = frames[c]
                ax.imshow(frame[..., 0] if frame.shape[-1] == 1 else frame, cmap="gray", vmin=0, vmax=255)
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=min(0.4, 0.95 / width), right=0.99, top=0.98, bottom=0.02, wspace=0.05, hspace=0.08)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
