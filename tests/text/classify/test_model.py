"""Text classification: file formats, masking, metrics and `rnnkit text classify-train` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.text.classify import TextClassifier, classification_metrics, read_labelled
from rnnkit.text.tokenize import PAD, UNK, build_tokenizer

ROWS = [("what a great film", "pos"), ("truly wonderful acting", "pos"), ("awful and boring", "neg"),
        ("a terrible waste of time", "neg"), ("great fun, loved it", "pos"), ("boring, awful plot", "neg")]  # fmt: skip


def test_reads_csv_tsv_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text('text,label\n"hello, world",x\nbye,y\n', encoding="utf-8")
    (tmp_path / "a.tsv").write_text("label\ttext\nx\thello, world\ny\tbye\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "hello, world", "label": "x"}\n{"text": "bye", "label": "y"}\n')
    for name in ("a.csv", "a.tsv", "a.jsonl"):
        assert read_labelled(tmp_path / name) == (["hello, world", "bye"], ["x", "y"])
    (tmp_path / "b.csv").write_text("sentence,label\nhi,x\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_labelled(tmp_path / "b.csv")
    assert str(err.value) == (
        f"{tmp_path / 'b.csv'}: expected a header with columns 'text' and 'label', got ['sentence', 'label']; "
        "name them with --text_field/--label_field"
    )
    (tmp_path / "c.jsonl").write_text('{"text": "a", "label": "x"}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_labelled(tmp_path / "c.jsonl")
    assert str(err.value).startswith(f"{tmp_path / 'c.jsonl'}: line 2 is not valid JSON")


def test_padding_does_not_change_predictions() -> None:
    torch.manual_seed(0)
    tok = build_tokenizer("word", [t for t, _ in ROWS], specials=(PAD, UNK))
    model = TextClassifier(tok.to_config(), ["neg", "pos"], 8, 8).eval()
    ids, lengths = model.encode(["great film", "a terrible waste of time and boring"])
    alone, alone_len = model.encode(["great film"])
    torch.testing.assert_close(model(ids, lengths)[0], model(alone, alone_len)[0])


def test_metrics() -> None:
    m = classification_metrics([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert m["accuracy"] == 0.75
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_classify_train_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS * 4), encoding="utf-8")
    test = tmp_path / "test.tsv"
    test.write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in ROWS), encoding="utf-8")
    out = tmp_path / "run"
    tiny = ["--embed_size", "8", "--hidden_size", "8", "--batch_size", "4", "--epochs", "3", "--progress", "false"]
    assert main(["text", "classify-train", "--train", str(train), "--test", str(test), "--out", str(out), *tiny]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "confusion"} <= set(metrics) and metrics["labels"] == ["neg", "pos"]
    assert sum(map(sum, metrics["confusion"])) == len(ROWS)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "macro-F1" in printed and "confusion (rows: true" in printed
    assert (out / "model" / "model.safetensors").is_file()
