"""Dialogue data: reading conversations from files, splitting them, and framing them as one token stream.

A conversation is a list of :class:`Turn` (speaker, text, and whether the turn is a *reply*: what the model learns
to say). Three file layouts are read (by the file's suffix):

- a script or play (any suffix but .csv/.jsonl), the layout of tiny-shakespeare: blocks separated by a blank
  line, each starting with a speaker line ``NAME:`` (or ``NAME: text`` on one line); two or more blank lines in a
  row start a new conversation (a new scene). Every turn but the first of a conversation is a reply.
- ``.csv`` with a header: ``message,reply`` (one exchange per row, speakers ``user`` and ``assistant``), or
  ``conversation,speaker,text`` (one turn per row; ``role``/``content`` are accepted for ``speaker``/``text``).
- ``.jsonl``: one JSON object per line, ``{"message": ..., "reply": ...}`` or a whole conversation
  ``{"messages": [{"role": ..., "content": ...}, ...]}`` (the common chat layout).

In the CSV turn layout and in JSONL conversations, the replies are the turns of the ``assistant`` role when the file
has one, else every turn but the first. A malformed line is reported with its file and line number.

Framing (:func:`frame`): ``<bos>`` starts a conversation, and each turn is ``NAME <says> TEXT <eot>``, the name
and text in ordinary tokens. The targets that count towards the loss (``loss_on="replies"``) are the text and the
``<eot>`` of reply turns; names, framing and the other turns are context only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.text.tokenize import BOS, UNK, Tokenizer, read_text

SAYS, EOT = "<says>", "<eot>"
SPECIALS = (UNK, BOS, SAYS, EOT)
"""The chat tokeniser's special tokens: unknown, start of conversation, end of a speaker's name, end of turn."""
LOSS_ON = ("replies", "all")
USER, ASSISTANT = "user", "assistant"
_SPEAKER_LINE = re.compile(r"^([^\s:][^:\n]{0,39}):[ \t]*(.*)$")


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    reply: bool = True
    """Whether the model learns to say this turn (the loss with ``loss_on="replies"``, and the reply perplexity)."""


Dialogue = list[Turn]


def read_dialogues(path: str | Path) -> list[Dialogue]:
    """Conversations from a script, a CSV or a JSONL file (see the module's docstring for the layouts).

    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "play.txt")
    >>> _ = open(f, "w").write("ROMEO:\\nGood morrow.\\n\\nJULIET:\\nGood morrow,\\nsweet.\\n")
    >>> [(t.speaker, t.text, t.reply) for t in read_dialogues(f)[0]]
    [('ROMEO', 'Good morrow.', False), ('JULIET', 'Good morrow,\\nsweet.', True)]
    """
    path = Path(path)
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        dialogues = _read_csv(text, str(path))
    elif suffix == ".jsonl":
        dialogues = _read_jsonl(text, str(path))
    else:
        dialogues = _read_script(text, str(path))
    dialogues = [d for d in dialogues if d]
    if not dialogues:
        raise ValueError(f"{path}: no conversation found")
    return dialogues


def _read_script(text: str, source: str) -> list[Dialogue]:
    lines = text.replace("\r\n", "\n").split("\n")
    dialogues: list[Dialogue] = [[]]
    speaker: str | None = None
    body: list[str] = []
    blank_run = 0

    def close() -> None:
        nonlocal speaker, body
        if speaker is not None:
            content = "\n".join(body).strip()
            if content:
                dialogues[-1].append(Turn(speaker, content, reply=bool(dialogues[-1])))
        speaker, body = None, []

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blank_run += 1
            close()
            continue
        if speaker is None:  # the first line of a block names its speaker
            if blank_run >= 2 and dialogues[-1]:
                dialogues.append([])
            match = _SPEAKER_LINE.match(line.rstrip())
            if match is None:
                raise ValueError(
                    f"{source}:{number}: expected a speaker line such as 'ROMEO:' at the start of each block "
                    f"(blocks are separated by a blank line), got {line.strip()[:60]!r}"
                )
            speaker = match.group(1).strip()
            body = [match.group(2)] if match.group(2) else []
        else:
            body.append(line.rstrip())
        blank_run = 0
    close()
    return dialogues


def _replies(turns: list[tuple[str, str]]) -> Dialogue:
    """Turns with their reply flags: the assistant's turns if there is an assistant, else all but the first."""
    has_assistant = any(s == ASSISTANT for s, _ in turns)
    return [Turn(s, t, reply=(s == ASSISTANT) if has_assistant else i > 0) for i, (s, t) in enumerate(turns)]


def _read_csv(text: str, source: str) -> list[Dialogue]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    speaker_col = next((c for c in ("speaker", "role") if c in header), None)
    text_col = next((c for c in ("text", "content") if c in header), None)
    if {"message", "reply"} <= set(header):
        mode = "pairs"
    elif "conversation" in header and speaker_col and text_col:
        mode = "turns"
    else:
        raise ValueError(
            f"{source}: expected a header with the columns message,reply (one exchange per row) or "
            f"conversation,speaker,text (one turn per row); got {','.join(header) or 'no header'}"
        )
    dialogues: list[Dialogue] = []
    turns: dict[str, list[tuple[str, str]]] = {}
    for row in reader:
        number = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise ValueError(
                f"{source}:{number}: expected {len(header)} columns ({','.join(header)}), got another number"
            )
        if mode == "pairs":
            message, reply = row["message"].strip(), row["reply"].strip()
            if not message or not reply:
                raise ValueError(
                    f"{source}:{number}: empty {'message' if not message else 'reply'}; every row needs both"
                )
            dialogues.append([Turn(USER, message, reply=False), Turn(ASSISTANT, reply, reply=True)])
        else:
            assert speaker_col is not None and text_col is not None
            speaker, content = row[speaker_col].strip(), row[text_col].strip()
            if not speaker or not content:
                raise ValueError(f"{source}:{number}: empty {speaker_col if not speaker else text_col}")
            turns.setdefault(row["conversation"], []).append((speaker, content))
    if mode == "turns":
        dialogues = [_replies(t) for t in turns.values()]
    return dialogues


def _read_jsonl(text: str, source: str) -> list[Dialogue]:
    dialogues: list[Dialogue] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source}:{number}: not valid JSON ({err.msg} at column {err.colno})") from None
        if isinstance(row, dict) and "message" in row and "reply" in row:
            message, reply = row["message"], row["reply"]
            if not (isinstance(message, str) and isinstance(reply, str) and message.strip() and reply.strip()):
                raise ValueError(f"{source}:{number}: expected a non-empty string in both 'message' and 'reply'")
            dialogues.append([Turn(USER, message.strip(), reply=False), Turn(ASSISTANT, reply.strip(), reply=True)])
        elif isinstance(row, dict) and isinstance(row.get("messages"), list):
            turns = []
            for k, item in enumerate(row["messages"]):
                ok = (
                    isinstance(item, dict)
                    and isinstance(item.get("role"), str)
                    and isinstance(item.get("content"), str)
                )
                if not ok or not item["role"].strip() or not item["content"].strip():
                    raise ValueError(
                        f'{source}:{number}: message {k} should be {{"role": "...", "content": "..."}} with '
                        f"both non-empty, got {json.dumps(item)[:60]}"
                    )
                turns.append((item["role"].strip(), item["content"].strip()))
            dialogues.append(_replies(turns))
        else:
            raise ValueError(
                f'{source}:{number}: expected {{"message": ..., "reply": ...}} or {{"messages": [{{"role": ..., '
                f'"content": ...}}, ...]}}, got {line.strip()[:60]}'
            )
    return dialogues


def split_dialogues(dialogues: Sequence[Dialogue], val_fraction: float) -> tuple[list[Dialogue], list[Dialogue]]:
    """The last ``val_fraction`` of the turns (by characters, whole turns, in order) are held out.

    A conversation cut in two gives its first part to training and its rest, as a conversation of its own, to
    validation; nothing of a held-out turn is trained on.

    >>> d = [[Turn("A", "x" * 10, False), Turn("B", "y" * 10), Turn("A", "z" * 10)]]
    >>> train, val = split_dialogues(d, 0.3)
    >>> [t.text[0] for t in train[0]], [t.text[0] for t in val[0]]
    (['x', 'y'], ['z'])
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"expected --val_fraction in (0, 1), got {val_fraction}")
    total = sum(len(t.text) for d in dialogues for t in d)
    budget = total * val_fraction
    train: list[Dialogue] = []
    val: list[Dialogue] = []
    held = 0
    for dialogue in reversed(dialogues):
        if held >= budget:
            train.append(dialogue)
            continue
        k = len(dialogue)
        while k > 0 and held < budget:
            k -= 1
            held += len(dialogue[k].text)
        if k < len(dialogue):
            val.append(dialogue[k:])
        if k > 0:
            train.append(dialogue[:k])
    train.reverse()
    val.reverse()
    if not train or not val or not any(t.reply for d in val for t in d):
        raise ValueError(
            f"too little dialogue to hold out --val_fraction {val_fraction} with a reply in it "
            f"({sum(len(d) for d in dialogues)} turns); give more conversations or a larger --val_fraction"
        )
    return train, val


def dialogue_texts(dialogues: Iterable[Dialogue]) -> Iterable[str]:
    """Every name and text, for fitting a tokeniser."""
    for dialogue in dialogues:
        for turn in dialogue:
            yield turn.speaker
            yield turn.text


def speakers(dialogues: Iterable[Dialogue]) -> tuple[list[str], str, str]:
    """Known speakers (most turns first), the most frequent replying speaker and the most frequent other one:
    the session's default ``reply_as`` and ``as``."""
    turns: Counter[str] = Counter()
    replying: Counter[str] = Counter()
    for dialogue in dialogues:
        for turn in dialogue:
            turns[turn.speaker] += 1
            replying[turn.speaker] += turn.reply
    names = [name for name, _ in turns.most_common()]
    reply_as = replying.most_common(1)[0][0] if replying else names[0]
    as_name = next((n for n in names if n != reply_as), reply_as)
    return names, as_name, reply_as


def turn_ids(tok: Tokenizer, speaker: str, text: str | None) -> list[int]:
    """``NAME <says> TEXT <eot>`` (``text=None``: only ``NAME <says>``, the prompt for a reply)."""
    ids = [*tok.encode(speaker), tok.token_id(SAYS)]
    if text is not None:
        ids += [*tok.encode(text), tok.token_id(EOT)]
    return ids


def frame(tok: Tokenizer, dialogue: Dialogue, loss_on: str = "replies") -> tuple[list[int], list[int]]:
    """Token ids of one conversation and the weight of each token as a target (1 = counted in the loss).

    >>> from rnnkit.text.tokenize import build_tokenizer
    >>> tok = build_tokenizer("char", "ABhiyo", specials=SPECIALS)
    >>> ids, w = frame(tok, [Turn("A", "hi", False), Turn("B", "yo")])
    >>> tok.decode(ids), w
    ('AhiByo', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    """
    if loss_on not in LOSS_ON:
        raise ValueError(f"expected --loss_on to be one of {', '.join(LOSS_ON)}, got {loss_on!r}")
    ids = [tok.token_id(BOS)]
    every = int(loss_on == "all")
    weights = [every]
    for turn in dialogue:
        head = turn_ids(tok, turn.speaker, None)
        body = [*tok.encode(turn.text), tok.token_id(EOT)]
        ids += head + body
        weights += [every] * len(head) + [int(every or turn.reply)] * len(body)
    return ids, weights


def stream(tok: Tokenizer, dialogues: Sequence[Dialogue], loss_on: str = "replies") -> tuple[Tensor, Tensor]:
    """All conversations, framed and concatenated: ids (N,) and target weights (N,) for truncated BPTT."""
    ids: list[int] = []
    weights: list[int] = []
    for dialogue in dialogues:
        i, w = frame(tok, dialogue, loss_on)
        ids += i
        weights += w
    return torch.tensor(ids, dtype=torch.long), torch.tensor(weights, dtype=torch.float32)
