"""Sequence to sequence: a bidirectional recurrent encoder, a recurrent decoder, and attention over the source.

Attention (``attention=``):

- ``"dot"`` / ``"general"``: Luong et al. 2015 (§3.1) global attention: the decoder runs first, each of its
  states h_t scores the source (``h_t . m_s`` or ``h_t W m_s``), and ``tanh(W_c [c_t; h_t])`` predicts the token.
  The decoder does not read the context, so during training it runs over the whole target in one fused call.
- ``"bahdanau"``: Bahdanau et al. 2015 (App. A): the previous decoder state scores the source additively
  (``v . tanh(W_q s_{t-1} + W_k m_s)``) and the context is part of the decoder's input, so it runs step by step.
- ``"none"``: the classic encoder-decoder (Sutskever et al. 2014): the decoder starts from the encoder's final
  state and never looks back.

Padded source positions are masked out of every softmax, so padding never changes a translation. Training is
teacher forced (the decoder reads the reference's previous token). Decoding is beam search with length
normalisation (:class:`Decoding`: width 5 by default) or greedy (batched) (:func:`rnnkit.text.beam.beam_search_core`).

Shapes: B batch, S source length, T target length, E embedding size, H hidden size, L layers, V vocabulary,
K beams. The memory m (B, S, H) is the encoder's output projected from 2H to H.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM
from rnnkit.text.beam import beam_search_core
from rnnkit.text.tokenize import BOS, EOS, PAD, Tokenizer, tokenizer_from_config
from rnnkit.train import SavableModel, register_model

ATTENTIONS = ("bahdanau", "dot", "general", "none")
CELLS: dict[str, type[nn.Module]] = {"gru": GRU, "lstm": LSTM}


@dataclass
class Decoding:
    """How to decode a translation: the one set of defaults of :meth:`Seq2Seq.translate`,
    :meth:`rnnkit.text.Translator.translate` and ``rnnkit translate run|eval|train`` (their configs inherit it).

    >>> Decoding().beam_width
    5
    """

    beam_width: int = 5
    """Beam width (1 = greedy, batched)."""
    length_penalty: float = 1.0
    """Beam scores are log-probability / length ** this (0: no length normalisation)."""
    max_len: int = 50
    """Longest translation, in target tokens."""

    def __post_init__(self) -> None:
        if isinstance(self.beam_width, bool) or not isinstance(self.beam_width, int) or self.beam_width < 1:
            raise ValueError(f"expected --beam_width >= 1 (1 = greedy), got {self.beam_width!r}")
        if self.max_len < 1:
            raise ValueError(f"expected --max_len >= 1, got {self.max_len}")
        if not self.length_penalty >= 0:
            raise ValueError(f"expected --length_penalty >= 0, got {self.length_penalty}")


class Attention(nn.Module):
    """Scores a query against the memory; masked softmax; context = weighted sum of the memory."""

    def __init__(self, kind: str, size: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "general":
            self.w = nn.Linear(size, size, bias=False)
        elif kind == "bahdanau":
            self.w_q = nn.Linear(size, size, bias=False)
            self.w_k = nn.Linear(size, size)
            self.v = nn.Linear(size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """What the scores read from the memory (B, S, H), computed once per source."""
        if self.kind == "general":
            return self.w(memory)
        if self.kind == "bahdanau":
            return self.w_k(memory)
        return memory

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, Tq, H), keys/memory (B, S, H), mask (B, S) True where valid -> context (B, Tq, H), weights
        (B, Tq, S)."""
        if self.kind == "bahdanau":
            scores = self.v(torch.tanh(self.w_q(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        else:
            scores = query @ keys.transpose(1, 2)  # (B, Tq, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights @ memory, weights


@dataclass
class DecoderState:
    """Everything one decoding step needs; ``select`` picks/reorders rows (beam search)."""

    rnn: Any  # (L, B, H) or (h, c)
    memory: Tensor  # (B, S, H)
    keys: Tensor  # (B, S, H)
    mask: Tensor  # (B, S)

    def select(self, index: Tensor) -> DecoderState:
        rnn = (
            self.rnn.index_select(1, index)
            if isinstance(self.rnn, Tensor)
            else tuple(s.index_select(1, index) for s in self.rnn)
        )
        return DecoderState(rnn, self.memory[index], self.keys[index], self.mask[index])


@register_model("text.seq2seq")
class Seq2Seq(SavableModel, nn.Module):
    """Recurrent encoder-decoder with optional attention, for translation and other text-to-text tasks.

    Args:
        src_tokenizer, tgt_tokenizer: ``to_config()`` of the source/target tokenisers; the target one needs
            ``<pad>``, ``<bos>`` and ``<eos>`` specials (``<pad>`` is also the source padding id).
        embed_size: E. hidden_size: H (per direction in the encoder). num_layers: L (encoder and decoder).
        cell: ``"gru"`` or ``"lstm"``. attention: ``"bahdanau"``, ``"dot"``, ``"general"`` or ``"none"``.
        dropout: on embeddings and before the output layer.
        meta: free JSON kept with the model (e.g. how the training data was split).

    >>> from rnnkit.text.tokenize import build_tokenizer, PAD, UNK, BOS, EOS
    >>> tok = build_tokenizer("word", "a b c", specials=(PAD, UNK, BOS, EOS)).to_config()
    >>> model = Seq2Seq(tok, tok, 8, 16, attention="dot")
    >>> logits, weights = model(torch.tensor([[4, 5, 0]]), torch.tensor([2]), torch.tensor([[2, 4]]))
    >>> tuple(logits.shape), tuple(weights.shape), weights[0, :, 2].sum().item()
    ((1, 2, 7), (1, 2, 3), 0.0)
    """

    def __init__(
        self,
        src_tokenizer: dict[str, Any],
        tgt_tokenizer: dict[str, Any],
        embed_size: int = 128,
        hidden_size: int = 256,
        num_layers: int = 1,
        cell: str = "gru",
        attention: str = "general",
        dropout: float = 0.0,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(
                f"Seq2Seq: unknown attention {attention!r}; choose one of {', '.join(map(repr, ATTENTIONS))}"
            )
        if cell not in CELLS:
            raise ValueError(f"Seq2Seq: unknown cell {cell!r}; choose one of {', '.join(map(repr, CELLS))}")
        self.args: dict[str, Any] = {
            "src_tokenizer": src_tokenizer,
            "tgt_tokenizer": tgt_tokenizer,
            "embed_size": embed_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "cell": cell,
            "attention": attention,
            "dropout": dropout,
            "meta": meta or {},
        }
        self.src_tok: Tokenizer = tokenizer_from_config(src_tokenizer)
        self.tgt_tok: Tokenizer = tokenizer_from_config(tgt_tokenizer)
        for name, tok in (("target", self.tgt_tok),):
            missing = [s for s in (PAD, BOS, EOS) if s not in tok.specials]
            if missing:
                raise ValueError(f"Seq2Seq: the {name} tokenizer needs the special tokens {missing}")
        self.pad_id, self.bos_id, self.eos_id = (self.tgt_tok.token_id(s) for s in (PAD, BOS, EOS))
        self.src_pad_id = self.src_tok.token_id(PAD) if PAD in self.src_tok.specials else 0
        self.attention_kind, self.cell, self.num_layers = attention, cell, num_layers
        H = hidden_size
        self.src_embed = nn.Embedding(self.src_tok.vocab_size, embed_size, padding_idx=self.src_pad_id)
        self.tgt_embed = nn.Embedding(self.tgt_tok.vocab_size, embed_size, padding_idx=self.pad_id)
        self.encoder = CELLS[cell](embed_size, H, num_layers, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)  # final fwd/bwd states -> decoder's initial state, per layer
        self.memory_proj = nn.Linear(2 * H, H)
        dec_in = embed_size + (H if attention == "bahdanau" else 0)
        self.decoder = CELLS[cell](dec_in, H, num_layers, batch_first=True)
        self.attn = Attention(attention, H) if attention != "none" else None
        self.combine = nn.Linear(2 * H, H) if attention != "none" else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(H, self.tgt_tok.vocab_size)

    def model_config(self) -> dict[str, Any]:
        return dict(self.args)

    @classmethod
    def from_model_config(cls, config: dict[str, Any]) -> Seq2Seq:
        return cls(**config)

    # ---- encoder ---------------------------------------------------------------------------------------------
    def encode(self, src: Tensor, src_lengths: Tensor) -> DecoderState:
        """src (B, S) padded, src_lengths (B,) -> the decoder's initial state with the memory."""
        x = self.drop(self.src_embed(src))  # (B, S, E)
        y, final = self.encoder(x, lengths=src_lengths.cpu())  # (B, S, 2H), (2L, B, H) [x2 for LSTM]
        S = src.shape[1]
        mask = torch.arange(S, device=src.device)[None, :] < src_lengths.to(src.device)[:, None]  # (B, S)
        memory = self.memory_proj(y)  # (B, S, H)

        def bridge(h: Tensor) -> Tensor:  # (2L, B, H) -> (L, B, H)
            L, B = self.num_layers, h.shape[1]
            both = h.view(L, 2, B, -1).permute(0, 2, 1, 3).reshape(L, B, -1)  # (L, B, 2H) fwd|bwd
            return torch.tanh(self.bridge(both))

        rnn = bridge(final) if isinstance(final, Tensor) else tuple(bridge(s) for s in final)
        keys = self.attn.keys(memory) if self.attn is not None else memory
        return DecoderState(rnn, memory, keys, mask)

    # ---- decoder ---------------------------------------------------------------------------------------------
    def _predict(self, h: Tensor, state: DecoderState, context: Tensor | None) -> Tensor:
        """h (B, T, H), context (B, T, H) -> logits (B, T, V)."""
        if self.combine is not None and context is not None:
            h = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))
        return self.out(self.drop(h))

    def decode(self, tgt_in: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None, DecoderState]:
        """Teacher-forced decoding: tgt_in (B, T) -> logits (B, T, V), attention weights (B, T, S), state."""
        e = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
        if self.attention_kind == "bahdanau":
            steps, weights = [], []
            for t in range(tgt_in.shape[1]):
                logits, w, state = self._bahdanau_step(e[:, t], state)
                steps.append(logits)
                weights.append(w)
            return torch.stack(steps, 1), torch.stack(weights, 1), state
        h, rnn = self.decoder(e, state.rnn)  # (B, T, H): one fused call over the whole target
        state = DecoderState(rnn, state.memory, state.keys, state.mask)
        if self.attn is None:
            return self._predict(h, state, None), None, state
        context, w = self.attn(h, state.keys, state.memory, state.mask)
        return self._predict(h, state, context), w, state

    def _bahdanau_step(self, e_t: Tensor, state: DecoderState) -> tuple[Tensor, Tensor, DecoderState]:
        assert self.attn is not None
        top = (state.rnn if isinstance(state.rnn, Tensor) else state.rnn[0])[-1]  # s_{t-1}: (B, H)
        context, w = self.attn(top.unsqueeze(1), state.keys, state.memory, state.mask)  # (B, 1, H), (B, 1, S)
        h, rnn = self.decoder(torch.cat([e_t.unsqueeze(1), context], -1), state.rnn)  # (B, 1, H)
        state = DecoderState(rnn, state.memory, state.keys, state.mask)
        return self._predict(h, state, context)[:, 0], w[:, 0], state

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None, DecoderState]:
        """One decoding step: tokens (B,) -> logits (B, V), attention weights (B, S) or None, state."""
        logits, w, state = self.decode(tokens.unsqueeze(1), state)
        return logits[:, 0], None if w is None else w[:, 0], state

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: src (B, S), src_lengths (B,), tgt_in (B, T) starting with <bos> -> logits (B, T, V),
        attention weights (B, T, S) (None without attention)."""
        logits, weights, _ = self.decode(tgt_in, self.encode(src, src_lengths))
        return logits, weights

    # ---- translation -----------------------------------------------------------------------------------------
    def encode_texts(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Tokenise and pad source texts: (B, S) ids, (B,) lengths (empty texts get one <pad>-free <unk>)."""
        device = self.out.weight.device
        ids = [self.src_tok.encode(t) or [self.src_tok.token_id("<unk>")] for t in texts]
        lengths = torch.tensor([len(i) for i in ids])
        src = torch.full((len(ids), int(lengths.max())), self.src_pad_id, dtype=torch.long)
        for b, row in enumerate(ids):
            src[b, : len(row)] = torch.tensor(row)
        return src.to(device), lengths.to(device)

    @torch.no_grad()
    def translate(
        self,
        texts: list[str],
        max_len: int = Decoding.max_len,
        beam_width: int = Decoding.beam_width,
        length_penalty: float = Decoding.length_penalty,
    ) -> list[str]:
        """Translate each text: beam search one text at a time, or greedy in one batch (``beam_width=1``)."""
        return [
            self.tgt_tok.decode(ids).strip()
            for ids, _ in self.translate_ids(texts, max_len, beam_width, length_penalty)
        ]

    @torch.no_grad()
    def translate_ids(
        self,
        texts: list[str],
        max_len: int = Decoding.max_len,
        beam_width: int = Decoding.beam_width,
        length_penalty: float = Decoding.length_penalty,
    ) -> list[tuple[list[int], Tensor | None]]:
        """Target ids (without <eos>) and attention weights (T, S) of each translation."""
        self.eval()
        src, lengths = self.encode_texts(texts)
        state = self.encode(src, lengths)
        if beam_width > 1:
            results = []
            for b in range(len(texts)):
                one = state.select(torch.tensor([b], device=src.device))
                tokens = self._beam(one, max_len, beam_width, length_penalty)
                results.append((tokens, self._weights_for(one, tokens)))
            return results
        B = len(texts)
        token = torch.full((B,), self.bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        out, weights = [], []
        for _ in range(max_len):
            logits, w, state = self.step(token, state)
            token = logits.argmax(-1)
            out.append(token)
            weights.append(w)
            done |= token == self.eos_id
            if bool(done.all()):
                break
        ids = torch.stack(out, 1).tolist()  # (B, T)
        results = []
        for b, row in enumerate(ids):
            n = row.index(self.eos_id) if self.eos_id in row else len(row)
            w_b = None
            if n > 0 and self.attn is not None:
                w_b = torch.stack([w[b] for w in weights[:n] if w is not None])[:, : int(lengths[b])]  # (T, S)
            results.append((row[:n], w_b))
        return results

    def _beam(self, state: DecoderState, max_len: int, beam_width: int, length_penalty: float) -> list[int]:
        def step(tokens: Tensor, st: DecoderState) -> tuple[Tensor, DecoderState]:
            logits, _, st = self.step(tokens, st)
            return logits.float().log_softmax(-1), st

        bos = torch.tensor([self.bos_id], device=state.mask.device)
        logprobs, state = step(bos, state)
        hyps = beam_search_core(
            step, logprobs, state, lambda s, i: s.select(i), beam_width, max_len, self.eos_id, length_penalty
        )
        tokens = hyps[0][0]
        return tokens[:-1] if tokens and tokens[-1] == self.eos_id else tokens

    def _weights_for(self, state: DecoderState, tokens: list[int]) -> Tensor | None:
        """Attention weights (T, S) of a given target, by teacher forcing it."""
        if self.attn is None or not tokens:
            return None
        tgt_in = torch.tensor([[self.bos_id, *tokens[:-1]]], device=state.mask.device) if tokens else None
        assert tgt_in is not None
        _, w, _ = self.decode(tgt_in, state)
        assert w is not None
        return w[0][:, : int(state.mask[0].sum())]


def seq2seq_loss(model: Seq2Seq, batch: dict[str, Tensor], label_smoothing: float = 0.0) -> tuple[Tensor, int]:
    """Mean cross-entropy over the non-padding target tokens (optionally label-smoothed), and their count."""
    logits, _ = model(batch["src"], batch["src_lengths"], batch["tgt_in"])
    target = batch["tgt_out"]
    loss = F.cross_entropy(
        logits.flatten(0, 1), target.flatten(), ignore_index=model.pad_id, label_smoothing=label_smoothing
    )
    return loss, int((target != model.pad_id).sum())
