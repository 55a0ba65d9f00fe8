"""LanguageModel, TBPTT batching and state carrying, generation options, beam search, save/load round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rnnkit.text.lm.data import StreamBatches, split_stream
from rnnkit.text.lm.generation import Sampling, beam_search, filter_logits, generate, generate_ids, sample_next, stream
from rnnkit.text.lm.model import LanguageModel, lm_metrics, stream_nll
from rnnkit.text.tokenize import build_tokenizer
from rnnkit.train import load_model

TEXT = "to be or not to be, that is the question. " * 8


def _model(level: str = "char", cell: str = "lstm", **kw) -> LanguageModel:
    torch.manual_seed(0)
    tok = build_tokenizer(level, TEXT, vocab_size=280 if level == "bpe" else None)
    return LanguageModel(tok.vocab_size, 8, 16, 2, cell=cell, tokenizer=tok.to_config(), **kw).eval()


def test_stream_batches_rows_are_contiguous_across_batches() -> None:
    data = torch.arange(101)
    batches = list(StreamBatches(data, batch_size=4, bptt=7))
    rows = torch.cat([x for x, _ in batches], dim=1)  # (B, N/B)
    assert torch.equal(rows.flatten(), torch.arange(100))
    for x, y in batches:
        assert torch.equal(y, x + 1)


def test_stream_batches_random_shift_rotates_the_stream_each_epoch() -> None:
    torch.manual_seed(0)
    data = torch.arange(1001)
    batches = StreamBatches(data, batch_size=4, bptt=7, random_shift=True)
    epochs = [list(batches) for _ in range(3)]
    for epoch in epochs:
        assert len(epoch) == len(batches)  # the same number of windows every epoch
        rows = torch.cat([x for x, _ in epoch], dim=1).flatten()  # the 1000 tokens, rotated
        assert sorted(rows.tolist()) == list(range(1000))
        seams = torch.nonzero(rows.diff() != 1).flatten().tolist()
        assert len(seams) <= 1  # at most one seam, where the end (999) meets the start (0)
        assert rows[seams[0] + 1] == 0 if seams else rows[0] == 0
        for x, y in epoch:
            assert torch.equal(y, x + 1)  # every pair is a true next-token pair, the seam included
    starts = {int(epoch[0][0][0, 0]) for epoch in epochs}
    assert len(starts) == 3  # each epoch starts its rows elsewhere


def test_stream_batches_too_short() -> None:
    with pytest.raises(ValueError) as err:
        StreamBatches(torch.arange(5), batch_size=4, bptt=2)
    assert str(err.value) == (
        "the text is too short for batch_size=4: 5 tokens give 1 per stream (need at least 2); "
        "use more text or a smaller --batch_size"
    )


def test_split_stream_keeps_order() -> None:
    train, val = split_stream(list(range(100)), 0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "ln_lstm", "peephole_lstm", "mingru", "minlstm"])
def test_carried_state_equals_one_long_sequence(cell: str) -> None:
    """TBPTT: windows with the state carried across them give exactly the logits of the unbroken stream."""
    model = _model(cell=cell)
    ids = torch.randint(0, model.args["vocab_size"], (3, 20))
    whole, _ = model(ids)
    state, pieces = None, []
    for start in range(0, 20, 6):
        logits, state = model(ids[:, start : start + 6], state)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole)


def test_carried_state_is_detached_and_keeps_training_finite() -> None:
    from rnnkit.train import StepOutput, TrainConfig, Trainer

    model = _model().train()
    data = torch.tensor(model.tokenizer.encode(TEXT))  # type: ignore[union-attr]
    seen: list[object] = []

    def step(model: LanguageModel, batch: tuple[torch.Tensor, torch.Tensor], carry: object) -> StepOutput:
        seen.append(carry)
        x, y = batch
        logits, state = model(x, carry)
        return StepOutput(F.cross_entropy(logits.flatten(0, 1), y.flatten()), y.numel(), carry=state)

    result = Trainer(model, TrainConfig(epochs=2, lr=1e-2, quiet=True, early_stopping=None), step=step).fit(
        StreamBatches(data, 2, 16)
    )
    assert result.steps == 2 * len(StreamBatches(data, 2, 16))
    assert seen[0] is None and seen[1] is not None  # carried from the first batch to the second
    assert all(not s.requires_grad for s in seen[1])  # type: ignore[union-attr]


def test_stream_nll_and_metrics() -> None:
    model = _model()
    data = torch.tensor(model.tokenizer.encode(TEXT))  # type: ignore[union-attr]
    nll, n = stream_nll(model, StreamBatches(data, 2, 10))
    assert n == 2 * ((len(data) - 1) // 2)
    m = lm_metrics(nll, n, n)
    assert m["perplexity"] == pytest.approx(math.exp(nll / n))
    assert m["bpc"] == pytest.approx(nll / n / math.log(2))


def test_padding_does_not_change_the_result() -> None:
    """A prompt alone and the same prompt padded in a batch next to a longer one continue identically."""
    model = _model()
    alone = generate(model, "to be", 12, temperature=0)
    batch = generate(model, ["to be", "that is the question"], 12, temperature=0)
    assert batch[0] == alone
    assert batch[1] == generate(model, "that is the question", 12, temperature=0)


def test_top_k_1_is_greedy_and_seeds_reproduce() -> None:
    model = _model()
    greedy = generate(model, "to be", 20, temperature=0)
    assert generate(model, "to be", 20, top_k=1, seed=3) == greedy
    assert generate(model, "to be", 20, top_k=1, temperature=2.0, seed=4) == greedy
    a = generate(model, "to be", 30, seed=7, temperature=1.5)
    assert generate(model, "to be", 30, seed=7, temperature=1.5) == a
    assert any(generate(model, "to be", 30, seed=s, temperature=1.5) != a for s in range(8, 12))


def test_top_p_keeps_the_smallest_nucleus() -> None:
    probs = torch.tensor([[0.5, 0.25, 0.15, 0.1]])
    kept = lambda p: filter_logits(probs.log(), top_p=p).isfinite()[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]
    assert kept(0.51) == [True, True, False, False]
    assert kept(0.75) == [True, True, False, False]
    assert kept(0.76) == [True, True, True, False]
    assert kept(1.0) == [True, True, True, True]
    assert kept(1e-6) == [True, False, False, False]  # never empty
    # Sampling never leaves the nucleus.
    gen = torch.Generator().manual_seed(0)
    picks = {int(sample_next(probs.log(), Sampling(top_p=0.6), None, gen)) for _ in range(200)}
    assert picks == {0, 1}


def test_top_k_limits_choices() -> None:
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])
    gen = torch.Generator().manual_seed(0)
    picks = {int(sample_next(logits, Sampling(temperature=5.0, top_k=2), None, gen)) for _ in range(200)}
    assert picks == {0, 1}


def test_repetition_penalty_discourages_seen_tokens() -> None:
    logits = torch.tensor([[2.0, 1.9, -1.0]])
    seen = torch.tensor([[True, False, False]])
    assert int(sample_next(logits, Sampling(temperature=0), seen, None)) == 0
    assert int(sample_next(logits, Sampling(temperature=0, repetition_penalty=1.2), seen, None)) == 1


def test_sampling_options_are_validated() -> None:
    with pytest.raises(ValueError) as err:
        Sampling(top_p=1.5)
    assert str(err.value) == "expected --top_p in (0, 1] (or unset), got 1.5"
    with pytest.raises(ValueError) as err:
        Sampling(temperature=-1)
    assert str(err.value) == "expected --temperature >= 0 (0 = greedy), got -1"


def test_generation_is_one_step_per_token() -> None:
    """O(1) work per new token: the model's step runs once per token and the prefix is never re-run."""
    model = _model()
    calls = {"forward": 0, "step": 0}
    forward, step = model.forward, model.step

    def counting_forward(*a, **k):  # type: ignore[no-untyped-def]
        calls["forward"] += 1
        return forward(*a, **k)

    def counting_step(*a, **k):  # type: ignore[no-untyped-def]
        calls["step"] += 1
        return step(*a, **k)

    model.forward, model.step = counting_forward, counting_step  # type: ignore[method-assign]
    list(generate_ids(model, [[1, 2, 3]], 25, Sampling(), seed=0))
    assert calls == {"forward": 1, "step": 24}


def test_streaming_equals_generate_and_never_emits_specials() -> None:
    for level in ("char", "bpe"):
        model = _model(level)
        pieces = list(stream(model, "to be", 25, Sampling(temperature=1.3), seed=5))
        assert "".join(pieces) == generate(model, "to be", 25, temperature=1.3, seed=5)
        if level == "char":  # (an untrained byte-level BPE may well sample invalid UTF-8 byte sequences)
            assert "\ufffd" not in "".join(pieces)  # <unk> is never sampled


def test_beam_width_1_is_greedy() -> None:
    for cell in ("lstm", "gru"):
        model = _model(cell=cell)
        assert beam_search(model, "to be", 15, beam_width=1) == generate(model, "to be", 15, temperature=0)


def test_beam_search_finds_at_least_greedy_likelihood() -> None:
    model = _model()
    tok = model.tokenizer
    assert tok is not None

    @torch.no_grad()
    def logp(prompt: str, cont: str) -> float:
        ids = torch.tensor([tok.encode(prompt + cont)])
        logits, _ = model(ids[:, :-1])
        lp = logits.log_softmax(-1)[0, torch.arange(ids.shape[1] - 1), ids[0, 1:]]
        return float(lp[len(tok.encode(prompt)) - 1 :].sum())

    greedy = generate(model, "to be", 10, temperature=0)
    beam = beam_search(model, "to be", 10, beam_width=4)
    assert logp("to be", beam) >= logp("to be", greedy) - 1e-4


def test_tied_weights_share_one_matrix() -> None:
    model = _model(tie_weights=True)
    assert model.head.weight is model.embedding.weight
    assert model.proj is not None  # hidden 16 != embedding 8


@pytest.mark.parametrize("level", ["char", "word", "bpe"])
def test_save_load_generate_round_trip(tmp_path: Path, level: str) -> None:
    model = _model(level, tie_weights=(level == "word"), dropout=0.1)
    before = generate(model, "to be", 20, seed=11)
    loaded = load_model(model.save(tmp_path / "m"))
    assert isinstance(loaded, LanguageModel) and not loaded.training
    assert generate(loaded, "to be", 20, seed=11) == before
    ids = torch.randint(0, model.args["vocab_size"], (2, 9))
    torch.testing.assert_close(loaded(ids)[0], model(ids)[0])


def test_bad_model_arguments() -> None:
    with pytest.raises(ValueError) as err:
        LanguageModel(10, cell="transformer")
    assert str(err.value).startswith("LanguageModel: unknown cell 'transformer'; choose one of 'rnn', 'lstm', 'gru', ")
    with pytest.raises(ValueError) as err:
        generate(_model(), "", 5)
    assert str(err.value) == "expected a non-empty prompt (at least one character)"


def test_generation_restores_training_mode() -> None:
    model = _model(dropout=0.5).train()
    a = generate(model, "to be", 10, seed=1)
    assert model.training
    assert a == generate(model.eval(), "to be", 10, seed=1)  # dropout was off while generating
    model.train()
    beam_search(model, "to be", 5, beam_width=2)
    assert model.training


def test_the_untied_embedding_init_learns_faster_than_a_small_uniform_one(data_path) -> None:  # type: ignore[no-untyped-def]
    """A +-0.1 embedding (the tied init) feeds the first layer so weak a signal that a char model lags far behind;
    untied, the model keeps torch's N(0, 1) embedding. 150 steps of plain training on tiny-shakespeare each."""
    from rnnkit.text.tokenize import read_text

    text = read_text(data_path("tinyshakespeare", "input.txt"))[:200_000]
    tok = build_tokenizer("char", text)
    data = torch.tensor(tok.encode(text))

    def final_loss(small_embedding: bool) -> float:
        torch.manual_seed(0)
        model = LanguageModel(tok.vocab_size, 32, 64, 2)
        if small_embedding:
            torch.nn.init.uniform_(model.embedding.weight, -0.1, 0.1)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
        losses = []
        for _ in range(150):
            i = torch.randint(0, len(data) - 65, (32,))
            x = torch.stack([data[j : j + 64] for j in i])
            y = torch.stack([data[j + 1 : j + 65] for j in i])
            loss = F.cross_entropy(model(x)[0].flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        return sum(losses[-20:]) / 20

    assert final_loss(False) < final_loss(True) - 0.15
