"""The attention heat map of one translation (matplotlib, imported only when asked for)."""

from __future__ import annotations

from torch import Tensor


def plot_attention(src_tokens: list[str], tgt_tokens: list[str], weights: Tensor, path: str) -> str:
    """Attention heat map (target rows x source columns) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(src_tokens), 1 + 0.45 * len(tgt_tokens)))
    ax.imshow(weights.detach().cpu().numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_tokens)), [t.strip() or repr(t) for t in src_tokens], rotation=60, ha="right")
    ax.set_yticks(range(len(tgt_tokens)), [t.strip() or repr(t) for t in tgt_tokens])
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
