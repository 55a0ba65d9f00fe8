"""Seq2Seq: attention kinds, masking of padded sources, beam width 1 == greedy, save/load, pairs reading, CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.text.data import read_pairs, split_indices
from rnnkit.text.seq2seq import ATTENTIONS, PairBatches, Seq2Seq, seq2seq_loss
from rnnkit.text.tokenize import BOS, EOS, PAD, UNK, build_tokenizer
from rnnkit.train import load_model

PAIRS = [
    ("I am cold.", "J'ai froid."),
    ("You are late.", "Tu es en retard."),
    ("He is tall.", "Il est grand."),
    ("We are here.", "Nous sommes ici."),
    ("She is happy.", "Elle est heureuse."),
    ("They left.", "Ils sont partis."),
]


def _model(attention: str, cell: str = "gru") -> Seq2Seq:
    torch.manual_seed(0)
    specials = (PAD, UNK, BOS, EOS)
    src = build_tokenizer("word", [s for s, _ in PAIRS], specials=specials, lower=True)
    tgt = build_tokenizer("word", [t for _, t in PAIRS], specials=specials)
    return Seq2Seq(src.to_config(), tgt.to_config(), 8, 12, 2, cell=cell, attention=attention).eval()


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_padding_does_not_change_the_translation(attention: str, cell: str) -> None:
    model = _model(attention, cell)
    short = "he is tall."
    alone = model.translate_ids([short], max_len=8)[0]
    padded = model.translate_ids([short, "you are late. we are here. i am cold."], max_len=8)[0]
    assert alone[0] == padded[0]
    # Logits of a teacher-forced target too: padded source positions get exactly zero attention.
    src, lengths = model.encode_texts([short, "we are here and you are late"])
    alone_src, alone_len = model.encode_texts([short])
    tgt = torch.tensor([[model.bos_id, 5, 6, 7]] * 2)
    logits, weights = model(src, lengths, tgt)
    logits1, _ = model(alone_src, alone_len, tgt[:1])
    torch.testing.assert_close(logits[0], logits1[0])
    if weights is not None:
        assert float(weights[0, :, int(lengths[0]) :].detach().abs().sum()) == 0.0
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_step_by_step_equals_teacher_forcing(attention: str) -> None:
    model = _model(attention)
    src, lengths = model.encode_texts(["i am cold.", "they left."])
    tgt = torch.tensor([[model.bos_id, 5, 6, 7], [model.bos_id, 8, 9, 4]])
    whole, _ = model(src, lengths, tgt)
    state = model.encode(src, lengths)
    steps = []
    for t in range(tgt.shape[1]):
        logits, _, state = model.step(tgt[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), whole)


@pytest.mark.parametrize("attention", ["bahdanau", "general", "none"])
def test_beam_width_1_is_greedy(attention: str) -> None:
    model = _model(attention)
    texts = [s for s, _ in PAIRS]
    assert model.translate(texts, max_len=10, beam_width=1) == [
        model.translate([t], max_len=10, beam_width=1)[0] for t in texts
    ]
    for text in texts:
        greedy = model.translate_ids([text], max_len=10)[0][0]
        beam = model._beam(model.encode(*model.encode_texts([text])), 10, 1, 1.0)
        assert beam == greedy


def test_learns_and_round_trips(tmp_path: Path) -> None:
    from rnnkit.train import StepOutput, TrainConfig, Trainer

    model = _model("general").train()
    src = [model.src_tok.encode(s) for s, _ in PAIRS]
    tgt = [model.tgt_tok.encode(t) for _, t in PAIRS]
    batches = PairBatches(src, tgt, 3, model, shuffle=True)
    Trainer(
        model,
        TrainConfig(epochs=150, lr=1e-2, quiet=True, early_stopping=None, warmup_steps=0),
        step=lambda m, b, c: StepOutput(*seq2seq_loss(m, b)),
    ).fit(batches)
    sources = [s for s, _ in PAIRS]
    assert model.translate(sources, max_len=10, beam_width=3) == [t for _, t in PAIRS]
    loaded = load_model(model.save(tmp_path / "m"))
    assert isinstance(loaded, Seq2Seq)
    assert loaded.translate(sources, max_len=10) == model.translate(sources, max_len=10)


def test_malformed_pair_lines_reported_with_line_numbers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text(
        "Go.\tVa !\nno tab here\nRun!\tCours !\n\tVide.\nThey did it again.\tIls l'ont \n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING):
        pairs = read_pairs(path)
    assert pairs.sources == ["Go.", "Run!"] and pairs.targets == ["Va !", "Cours !"]
    assert pairs.skipped == [2, 4, 5]
    assert caplog.messages == [
        f"{path}: skipped 3 malformed line(s) (expected 'source<TAB>target', complete): line 2, 4, 5"
    ]


def test_shared_eng_fra_last_line_is_reported(data_path) -> None:
    path = data_path("eng-fra", "fra.txt")
    pairs = read_pairs(path)
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert pairs.skipped == [n_lines]  # the last line is cut short mid-sentence
    assert len(pairs.sources) == n_lines - 1


def test_held_out_sentences_never_reach_training_and_keep_every_translation(data_path) -> None:
    from rnnkit.text.translate_cli import grouped_references, held_out_split, source_key

    pairs = read_pairs(data_path("eng-fra", "fra.txt"))
    train, test = held_out_split(pairs, 0.1, seed=0)
    assert (train, test) == held_out_split(pairs, 0.1, seed=0) and sorted(train + test) == list(
        range(len(pairs.sources))
    )
    train_keys = {source_key(pairs.sources[i]) for i in train}
    test_keys = {source_key(pairs.sources[i]) for i in test}
    assert not train_keys & test_keys
    assert len(test_keys) == round(0.1 * len(train_keys | test_keys))
    sources, refs = grouped_references(pairs, test)
    assert len(sources) == len(test_keys) and sum(len(r) for r in refs) == len(test)
    assert max(len(r) for r in refs) > 1  # Tatoeba gives many sentences several translations
    # A pair split would have leaked most held-out sentences into training under another translation.
    _, by_pair = split_indices(len(pairs.sources), 0.1, seed=0)
    by_pair_keys = {source_key(pairs.sources[i]) for i in by_pair}
    leaked = by_pair_keys & {source_key(pairs.sources[i]) for i in set(range(len(pairs.sources))) - set(by_pair)}
    assert len(leaked) > 0.3 * len(by_pair_keys)


def test_bleu_uses_every_reference() -> None:
    from rnnkit.text.translate_cli import score

    hyps = ["Courez vite , Tom !", "Il fait très froid ici ."]
    one = score(hyps, ["Cours vite , Tom !", "Il fait très froid ici ."])
    every = score(hyps, [["Cours vite , Tom !", "Courez vite , Tom !"], ["Il fait très froid ici ."]])
    assert every["bleu"] == 100.0 and one["bleu"] < every["bleu"]
    assert every["bleu_signature"].startswith("nrefs:var|") or every["bleu_signature"].startswith("nrefs:2|")
    with pytest.raises(ValueError, match="expected one or more references for each of 2 hypotheses"):
        score(hyps, [["Cours vite , Tom !"], []])


def test_split_is_fixed() -> None:
    train, test = split_indices(100, 0.1, seed=0)
    assert (train, test) == split_indices(100, 0.1, seed=0)
    assert len(test) == 10 and sorted(train + test) == list(range(100))


def test_translate_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 5) + "Cut.\tCou", encoding="utf-8")
    out = tmp_path / "run"
    tiny = ["--embed_size", "8", "--hidden_size", "8", "--batch_size", "8", "--max_steps", "6", "--quiet", "true"]
    assert main(["translate", "train", "--pairs", str(path), "--out", str(out), "--attention", "dot", *tiny]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    # 6 distinct sources x 5 copies: 10% of the sources is 1 sentence, held out with its 5 pairs as references.
    assert {"bleu", "chrf", "bleu_signature"} <= set(metrics) and metrics["test_pairs"] == 5
    assert metrics["test_sentences"] == 1 and metrics["bleu_signature"].startswith("nrefs:5|")
    capsys.readouterr()
    heatmap = tmp_path / "attn.png"
    assert main(["translate", "run", "--model", str(out), "--text", "I am cold.", "--heatmap", str(heatmap)]) == 0
    assert heatmap.stat().st_size > 1000
    assert main(["translate", "eval", "--model", str(out), "--pairs", str(path), "--out", str(tmp_path / "e")]) == 0
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["sentences"] == 1
    assert main(["translate", "train", "--pairs", str(path), "--out", str(out), "--attention", "luong"]) == 2
    assert capsys.readouterr().err.endswith(
        "error: expected --attention to be one of bahdanau, dot, general, none, got 'luong'\n"
    )
