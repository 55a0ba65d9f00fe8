"""Text classification: embeddings -> bidirectional recurrent encoder -> masked mean+max pooling -> Linear.

Pooling reads only each text's own tokens (padding is masked out), so a text's prediction does not depend on
what it was batched with. The tokeniser and the label names are saved with the model.

Shapes: B batch, T tokens, E embedding size, H hidden size, C classes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import make_layer, sequence_cell_names
from rnnkit.text.tokenize import PAD, Tokenizer, tokenizer_from_config
from rnnkit.train import SavableModel, register_model

CELLS = sequence_cell_names()
"""Every sequence cell of rnnkit.nn's registry (the classifier pools the outputs, so any cell fits)."""


@register_model("text.classifier")
class TextClassifier(SavableModel, nn.Module):
    """Bidirectional recurrent text classifier.

    >>> from rnnkit.text.tokenize import build_tokenizer, PAD, UNK
    >>> tok = build_tokenizer("word", "good bad film", specials=(PAD, UNK)).to_config()
    >>> model = TextClassifier(tok, ["neg", "pos"], 8, 16)
    >>> model.predict(["good film", "bad"])[0] in ("neg", "pos")
    True
    """

    def __init__(
        self,
        tokenizer: dict[str, Any],
        labels: list[Any],
        embed_size: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "gru",
        dropout: float = 0.2,
        max_tokens: int = 256,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"TextClassifier: unknown cell {cell!r}; choose one of {', '.join(map(repr, CELLS))}")
        if len(labels) < 2:
            raise ValueError(f"TextClassifier: expected at least 2 classes, got {labels}")
        self.args: dict[str, Any] = {
            "tokenizer": tokenizer,
            "labels": list(labels),
            "embed_size": embed_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "cell": cell,
            "dropout": dropout,
            "max_tokens": max_tokens,
        }
        self.tokenizer: Tokenizer = tokenizer_from_config(tokenizer)
        self.labels = list(labels)
        self.max_tokens = max_tokens
        self.pad_id = self.tokenizer.token_id(PAD) if PAD in self.tokenizer.specials else 0
        self.embed = nn.Embedding(self.tokenizer.vocab_size, embed_size, padding_idx=self.pad_id)
        rnn_dropout = dropout if num_layers > 1 else 0.0
        self.rnn = make_layer(
            cell,
            embed_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=rnn_dropout,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden_size, len(labels))

    def model_config(self) -> dict[str, Any]:
        return dict(self.args)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> TextClassifier:
        return cls(**config)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """ids (B, T) padded, lengths (B,) -> logits (B, C)."""
        x = self.drop(self.embed(ids))  # (B, T, E)
        y, _ = self.rnn(x, lengths=lengths.cpu())  # (B, T, 2H), zero past each length
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None]).unsqueeze(-1)
        mean = (y * mask).sum(1) / lengths.to(y.device).clamp(min=1).unsqueeze(1)  # (B, 2H)
        top = y.masked_fill(~mask, float("-inf")).amax(1)  # (B, 2H)
        return self.head(self.drop(torch.cat([mean, top], dim=-1)))

    def encode(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        rows = [self.tokenizer.encode(t)[: self.max_tokens] or [self.tokenizer.token_id("<unk>")] for t in texts]
        lengths = torch.tensor([len(r) for r in rows])
        ids = torch.full((len(rows), int(lengths.max())), self.pad_id, dtype=torch.long)
        for b, row in enumerate(rows):
            ids[b, : len(row)] = torch.tensor(row)
        return ids, lengths

    @torch.no_grad()
    def predict_proba(self, texts: list[str], batch_size: int = 256) -> Tensor:
        """Class probabilities (N, C), columns in the order of ``self.labels``."""
        self.eval()
        device = self.head.weight.device
        out = []
        for i in range(0, len(texts), batch_size):
            ids, lengths = self.encode(texts[i : i + batch_size])
            out.append(self(ids.to(device), lengths).float().softmax(-1).cpu())  # (b, C)
        return torch.cat(out) if out else torch.zeros(0, len(self.labels))

    def predict(self, texts: list[str], batch_size: int = 256) -> list[Any]:
        """The most likely label of each text."""
        return [self.labels[j] for j in self.predict_proba(texts, batch_size).argmax(-1).tolist()]
