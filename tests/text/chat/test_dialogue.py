"""Reading conversations (scripts, CSV, JSONL), their errors with line numbers, the held-out split, the framing and
the loss that counts only the replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rnnkit.text.chat.dialogue import (
    EOT,
    SAYS,
    SPECIALS,
    Turn,
    frame,
    read_dialogues,
    speakers,
    split_dialogues,
    stream,
)
from rnnkit.text.chat.fit import ChatSettings, window
from rnnkit.text.lm.data import StreamBatches
from rnnkit.text.lm.fit import lm_step
from rnnkit.text.lm.model import LanguageModel, stream_nll
from rnnkit.text.tokenize import BOS, build_tokenizer


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_script_layout_turns_scenes_and_replies(tmp_path: Path) -> None:
    text = (
        "First Citizen:\nBefore we proceed any further,\nhear me speak.\n\nAll:\nSpeak, speak.\n\n\n"
        "ROMEO: Good morrow.\n\nJULIET:\nGood morrow!\n"
    )
    dialogues = read_dialogues(_write(tmp_path, "play.txt", text))
    assert dialogues == [
        [
            Turn("First Citizen", "Before we proceed any further,\nhear me speak.", reply=False),
            Turn("All", "Speak, speak.", reply=True),
        ],
        [Turn("ROMEO", "Good morrow.", reply=False), Turn("JULIET", "Good morrow!", reply=True)],
    ]
    names, as_name, reply_as = speakers(dialogues)
    assert (
        reply_as in ("All", "JULIET")
        and as_name != reply_as
        and set(names) == {"First Citizen", "All", "ROMEO", "JULIET"}
    )


def test_script_without_a_speaker_line_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "play.txt", "ROMEO:\nHello.\n\nthis block has no speaker\nat all\n")
    with pytest.raises(ValueError) as err:
        read_dialogues(path)
    assert str(err.value) == (
        f"{path}:4: expected a speaker line such as 'ROMEO:' at the start of each block (blocks are separated by a "
        "blank line), got 'this block has no speaker'"
    )


def test_csv_pairs_and_turns(tmp_path: Path) -> None:
    pairs = read_dialogues(_write(tmp_path, "pairs.csv", 'message,reply\nhi,"hello, you"\nbye,see you\n'))
    assert pairs[0] == [Turn("user", "hi", reply=False), Turn("assistant", "hello, you", reply=True)]
    assert len(pairs) == 2
    turns = read_dialogues(
        _write(
            tmp_path,
            "turns.csv",
            "conversation,role,content\n1,user,hi\n1,assistant,hello\n2,user,a\n2,assistant,b\n2,user,c\n",
        )
    )
    assert [[t.reply for t in d] for d in turns] == [[False, True], [False, True, False]]
    names = read_dialogues(_write(tmp_path, "names.csv", "conversation,speaker,text\n1,A,x\n1,B,y\n1,A,z\n"))
    assert [t.reply for t in names[0]] == [False, True, True]  # no assistant role: every turn but the first


@pytest.mark.parametrize(
    "content, message",
    [
        ("question,answer\na,b\n", "expected a header with the columns message,reply (one exchange per row) or "
         "conversation,speaker,text (one turn per row); got question,answer"),
        ("message,reply\nhi,hello\nbye,\n", ":3: empty reply; every row needs both"),
        ("message,reply\nhi,hello,extra\n", ":2: expected 2 columns (message,reply), got another number"),
    ],
)  # fmt: skip
def test_bad_csv_rows_are_reported_with_their_line(tmp_path: Path, content: str, message: str) -> None:
    path = _write(tmp_path, "bad.csv", content)
    with pytest.raises(ValueError) as err:
        read_dialogues(path)
    assert str(err.value) == f"{path}{'' if message.startswith(':') else ': '}{message}"


def test_jsonl_pairs_and_conversations(tmp_path: Path) -> None:
    lines = [
        {"message": "hi", "reply": "hello"},
        {"messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": "a"},
                      {"role": "assistant", "content": "b"}]},
    ]  # fmt: skip
    dialogues = read_dialogues(_write(tmp_path, "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n"))
    assert dialogues[0] == [Turn("user", "hi", False), Turn("assistant", "hello", True)]
    assert [(t.speaker, t.reply) for t in dialogues[1]] == [("system", False), ("user", False), ("assistant", True)]


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"message": "hi"', "not valid JSON (Expecting ',' delimiter at column 17)"),
        ('{"message": "hi", "reply": ""}', "expected a non-empty string in both 'message' and 'reply'"),
        ('{"messages": [{"role": "user"}]}', 'message 0 should be {"role": "...", "content": "..."} with both '
         'non-empty, got {"role": "user"}'),
        ('["hi", "hello"]', 'expected {"message": ..., "reply": ...} or {"messages": [{"role": ..., "content": '
         '...}, ...]}, got ["hi", "hello"]'),
    ],
)  # fmt: skip
def test_bad_jsonl_lines_are_reported_with_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, "bad.jsonl", '{"message": "a", "reply": "b"}\n' + line + "\n")
    with pytest.raises(ValueError) as err:
        read_dialogues(path)
    assert str(err.value) == f"{path}:2: {message}"


def test_split_holds_out_whole_turns_from_the_end() -> None:
    dialogues = [[Turn("A", "a" * 50, False), Turn("B", "b" * 50)], [Turn("A", "c" * 50, False), Turn("B", "d" * 50)]]
    train, val = split_dialogues(dialogues, 0.2)  # at least 20% of the characters: the last turn
    assert train == [dialogues[0], dialogues[1][:1]]
    assert val == [dialogues[1][1:]]
    held = {t.text for d in val for t in d}
    assert not held & {t.text for d in train for t in d}
    with pytest.raises(ValueError, match="too little dialogue to hold out"):
        split_dialogues([[Turn("A", "x", False)]], 0.5)


def test_framing_and_which_targets_count() -> None:
    tok = build_tokenizer("char", "ABhiyo", specials=SPECIALS)
    dialogue = [Turn("A", "hi", False), Turn("B", "yo")]
    ids, weights = frame(tok, dialogue)
    specials = {tok.token_id(s): s for s in (BOS, SAYS, EOT)}
    shown = [specials.get(i, tok.decode([i])) for i in ids]
    assert shown == [BOS, "A", SAYS, "h", "i", EOT, "B", SAYS, "y", "o", EOT]
    assert [s for s, w in zip(shown, weights) if w] == ["y", "o", EOT]  # the reply's text and end of turn only
    assert frame(tok, dialogue, "all")[1] == [1] * len(ids)
    with pytest.raises(ValueError, match="expected --loss_on to be one of replies, all, got 'some'"):
        frame(tok, dialogue, "some")


def test_the_loss_counts_only_the_weighted_targets() -> None:
    """lm_step and stream_nll with weights equal the plain cross-entropy over the counted targets alone."""
    torch.manual_seed(0)
    tok = build_tokenizer("char", "ABhiyo there", specials=SPECIALS)
    dialogues = [[Turn("A", "hi there", False), Turn("B", "yo"), Turn("A", "hi", False), Turn("B", "there yo")]] * 3
    ids, weights = stream(tok, dialogues)
    model = LanguageModel(tok.vocab_size, 8, 16, 1)
    batches = StreamBatches(ids, 2, 20, weights=weights)
    x, y, w = next(iter(batches))
    assert 0 < int(w.sum()) < w.numel()
    out = lm_step(model, (x, y, w), None)
    logits, _ = model(x)
    counted = w.flatten() > 0
    expected = F.cross_entropy(logits.flatten(0, 1)[counted], y.flatten()[counted])
    torch.testing.assert_close(out.loss, expected)
    assert out.n == int(counted.sum()) > 0
    _, n = stream_nll(model, batches)
    assert n == int((batches.w > 0).sum()) < batches.y.numel()


def test_the_window_spans_three_turns_unless_given() -> None:
    """Truncated BPTT's gradient stops at a window's start, so the window is chosen to hold three turns."""
    tok = build_tokenizer("char", "ABCDab .", specials=SPECIALS)
    short = [[Turn("A", "ab " * 5, False), Turn("B", "ba " * 5)]] * 10  # 18-token turns: 3 x 18 -> 128 (the floor)
    long = [[Turn("A", "ab " * 50, False), Turn("B", "ba " * 50)]] * 10  # 153-token turns: 3 x 153 -> 512
    assert window(ChatSettings(), short, tok)[:2] == (128, 32)
    bptt, batch, why = window(ChatSettings(), long, tok)
    assert (bptt, batch) == (512, 8)
    assert why == (
        "bptt 512: 3 median turns (153 tokens each) as a power of two in [128, 1024]; "
        "batch_size 8: 4096 tokens per step / bptt, at least 8"
    )
    assert window(ChatSettings(bptt=64, batch_size=3), long, tok) == (64, 3, "bptt 64: given; batch_size 3: given")
    with pytest.raises(ValueError, match="expected --bptt >= 1, got 0"):
        ChatSettings(bptt=0)
