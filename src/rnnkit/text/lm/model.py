"""The recurrent language model: embedding -> rnnkit recurrent layer -> (projection) -> vocabulary logits.

The tokeniser travels inside the model's config (``tokenizer=tok.to_config()``), so a saved model directory
is all ``rnnkit text generate`` needs.

Shapes: B batch, T time steps, E embedding size, H hidden size, L layers, V vocabulary size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import make_layer, sequence_cell_names
from rnnkit.text.tokenize import Tokenizer, tokenizer_from_config
from rnnkit.train import SavableModel, register_model

CELLS = sequence_cell_names()
"""Every sequence cell of rnnkit.nn's registry (lstm, gru, rnn, ln_lstm, mingru, ...)."""
State = Any  # Tensor (L, B, H) for GRU/RNN, (h, c) tuple for LSTM


@register_model("language_model")
class LanguageModel(SavableModel, nn.Module):
    """Next-token model over a token stream, for training with truncated BPTT and generating one token at a time.

    Args:
        vocab_size: V.
        embed_size: E.
        hidden_size: H.
        num_layers: L stacked recurrent layers.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (rnnkit's fused drop-ins).
        dropout: on the embeddings, between layers and on the last layer's output.
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017); when H != E a linear
            projection H -> E is added before the output layer.
        tokenizer: the tokeniser's ``to_config()``, kept with the model (optional).

    >>> import torch
    >>> model = LanguageModel(vocab_size=10, embed_size=8, hidden_size=16, num_layers=2)
    >>> logits, state = model(torch.randint(0, 10, (3, 5)))
    >>> tuple(logits.shape), tuple(state[0].shape)
    ((3, 5, 10), (2, 3, 16))
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int = 128,
        hidden_size: int = 512,
        num_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
        tie_weights: bool = False,
        tokenizer: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("embed_size", embed_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LanguageModel: expected {name} to be a positive integer, got {value!r}")
        if cell not in CELLS:
            raise ValueError(f"LanguageModel: unknown cell {cell!r}; choose one of {', '.join(map(repr, CELLS))}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"LanguageModel: expected dropout in [0, 1), got {dropout}")
        self.args: dict[str, Any] = {
            "vocab_size": vocab_size,
            "embed_size": embed_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "cell": cell,
            "dropout": dropout,
            "tie_weights": tie_weights,
            "tokenizer": tokenizer,
        }
        self.tokenizer: Tokenizer | None = None if tokenizer is None else tokenizer_from_config(tokenizer)
        if self.tokenizer is not None and self.tokenizer.vocab_size != vocab_size:
            raise ValueError(
                f"LanguageModel: vocab_size={vocab_size} but the tokenizer has {self.tokenizer.vocab_size} tokens"
            )
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.drop = nn.Dropout(dropout)
        rnn_dropout = dropout if num_layers > 1 else 0.0
        self.rnn = make_layer(
            cell, embed_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=rnn_dropout
        )
        self.proj = (
            nn.Linear(hidden_size, embed_size, bias=False) if tie_weights and hidden_size != embed_size else None
        )
        self.head = nn.Linear(embed_size if tie_weights else hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight
            # Shared with the output layer: small, so that the first logits are near uniform (Press & Wolf 2017).
            nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        # Untied, the embedding keeps torch's N(0, 1): a +-0.1 embedding feeds the first layer a signal so weak that
        # a char model is ~0.3 nats/char behind after 300 steps (tests/text/lm/test_model.py measures it).

    # ---- rnnkit.train.SavableModel protocol ------------------------------------------------------------------
    def model_config(self) -> dict[str, Any]:
        return dict(self.args)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> LanguageModel:
        return cls(**config)

    # ---- model ---------------------------------------------------------------------------------------------
    def forward(
        self, ids: Tensor, state: State | None = None, lengths: Tensor | list[int] | None = None
    ) -> tuple[Tensor, State]:
        """ids (B, T) -> logits (B, T, V) and the state after each row's last valid step (``lengths``)."""
        if ids.dim() != 2:
            raise ValueError(f"LanguageModel: expected token ids of shape (B, T), got {tuple(ids.shape)}")
        x = self.drop(self.embedding(ids))  # (B, T, E)
        y, state = self.rnn(x, state, lengths=lengths)  # (B, T, H)
        return self._logits(self.drop(y)), state

    def step(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One token per row: ids (B,) -> logits (B, V), new state. O(1) in the length of what came before."""
        x = self.embedding(ids).unsqueeze(1)  # (B, 1, E)
        y, state = self.rnn(x, state)  # (B, 1, H): the fused kernel, one step
        return self._logits(y[:, 0]), state

    def _logits(self, y: Tensor) -> Tensor:
        if self.proj is not None:
            y = self.proj(y)
        return self.head(y)


def detach_state(state: State) -> State:
    """Cut the graph behind a carried state (TBPTT)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


@torch.no_grad()
def stream_nll(model: LanguageModel, batches: Iterable[tuple[Tensor, ...]], device: torch.device | None = None):
    """Summed negative log-likelihood (nats) and token count over a stream, carrying the state across windows.

    The batches are (x, y) or (x, y, weights) as :class:`~rnnkit.text.lm.data.StreamBatches` yields them."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0.0, None
    for batch in batches:  # (x, y) or (x, y, weights)
        if device is not None:
            batch = tuple(b.to(device) for b in batch)
        logits, state = model(batch[0], state)
        nll, n = token_nll(logits, batch[1], batch[2] if len(batch) > 2 else None)
        total += float(nll)
        count += float(n)
    model.train(was_training)
    return total, round(count)


def token_nll(logits: Tensor, y: Tensor, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Summed negative log-likelihood of targets y (B, T) under logits (B, T, V) and how many targets it sums;
    with ``weights`` (B, T) each target's NLL is weighted (0 = not counted) and the count is their sum."""
    nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")  # (B*T,)
    if weights is None:
        return nll.sum(), torch.tensor(float(y.numel()))
    weights = weights.flatten().to(nll.dtype)
    return (nll * weights).sum(), weights.sum()


def lm_metrics(nll: float, tokens: int, characters: int) -> dict[str, float]:
    """Loss (nats/token), perplexity and bits per character from a summed NLL.

    >>> lm_metrics(math.log(2) * 10, 10, 20)
    {'loss': 0.6931..., 'perplexity': 2.0..., 'bpc': 0.5...}
    """
    loss = nll / max(tokens, 1)
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "bpc": nll / max(characters, 1) / math.log(2)}
