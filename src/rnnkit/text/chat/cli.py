"""``rnnkit text chat-train|chat|chat-eval``: command lines over :class:`~rnnkit.text.chat.estimator.Chatbot`
and :class:`~rnnkit.text.chat.session.ChatSession`.

``rnnkit text chat --model DIR`` in a terminal is an interactive session (a prompt, the reply streamed token by
token, slash commands); with stdin from a pipe or a file it reads one message per line and prints the
conversation, so scripts and tests drive it the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.text.chat.dialogue import read_dialogues, split_dialogues
from rnnkit.text.chat.estimator import Chatbot
from rnnkit.text.chat.fit import ChatSettings
from rnnkit.text.chat.session import ChatSession
from rnnkit.text.lm.generation import Sampling
from rnnkit.text.loading import eval_out


@dataclass(kw_only=True)
class ChatTrainConfig(ChatSettings):
    """Train a dialogue model on a script (NAME: blocks), a CSV or a JSONL file of conversations."""

    data: str
    """A script or play (blocks 'NAME:' + lines, a blank line between turns), a .csv (message,reply or
    conversation,speaker,text) or a .jsonl ({"message","reply"} or {"messages": [{"role","content"}]}) file."""


def train(config: ChatTrainConfig) -> dict[str, Any]:
    """Train through the engine's driver: OUT/model, OUT/metrics.json (with the memory figures), OUT/config.json."""
    bot = Chatbot.from_settings(config)
    return bot.fit(Path(config.data), out=config.out, resume=config.resume, record=config).metrics


@dataclass(kw_only=True)
class ChatConfig(Sampling):
    """Talk to a dialogue model: type a message, read the reply; the conversation lives in the recurrent state."""

    ALIASES: ClassVar[dict[str, str]] = {"as": "as_name"}

    model: str
    """Model directory (the --out of `rnnkit text chat-train`, or its model/ folder)."""
    as_name: str | None = None
    """Who you speak as (also --as; default: the model's, a frequent speaker of its training data)."""
    reply_as: str | None = None
    """Who the model speaks as (default: the speaker with the most replies in its training data)."""
    max_new_tokens: int = 300
    """The longest reply, in tokens (a reply ends at the model's end of turn)."""
    seed: int | None = None
    """Random seed: the same seed and the same messages give the same replies."""
    state: str | None = None
    """Continue a conversation saved with /save FILE."""
    out: str | None = None
    """Directory for transcript.txt, transcript.json and config.json when the session ends."""


COMMANDS_HELP = "/reset, /save FILE, /load FILE, /temperature X, /quit (or Ctrl-D)"


def _slash(session: ChatSession, line: str) -> bool:
    """Run a slash command; False for /quit. Status goes to stderr, so stdout holds only the conversation."""
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/quit", "/exit"):
        return False
    if name == "/reset":
        session.reset()
        note = "conversation reset: a fresh state"
    elif name in ("/save", "/load") and not arg:
        raise ValueError(f"expected a file after {name}, e.g. {name} conversation.safetensors")
    elif name == "/save":
        note = f"saved {session.turns} turns to {session.save(arg)}"
    elif name == "/load":
        note = f"loaded {session.load(arg).turns} turns from {arg}"
    elif name == "/temperature":
        try:
            session.temperature = float(arg)
        except ValueError:
            raise ValueError(f"expected /temperature X with X a number >= 0 (0 = greedy), got {arg!r}") from None
        note = f"temperature {session.temperature:g}"
    elif name == "/help":
        note = COMMANDS_HELP
    else:
        raise ValueError(f"unknown command {name}; commands: {COMMANDS_HELP}")
    print(f"({note})", file=sys.stderr, flush=True)
    return True


def _say(session: ChatSession, message: str) -> None:
    pieces = session.stream(message)  # checks the message before anything is printed (a generator)
    sys.stdout.write(f"{session.reply_as}: ")
    sys.stdout.flush()
    try:
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:  # stop this reply, keep the conversation
        pieces.close()
        sys.stdout.write(" [interrupted]")
    sys.stdout.write("\n")
    sys.stdout.flush()


def chat_command(config: ChatConfig) -> list[tuple[str, str]]:
    """The chat loop: interactive on a terminal, one message per line otherwise. Returns the transcript."""
    session = ChatSession(
        config.model,
        as_name=config.as_name,
        reply_as=config.reply_as,
        temperature=config.temperature,
        top_k=config.top_k,
        top_p=config.top_p,
        repetition_penalty=config.repetition_penalty,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed,
    )
    if config.state is not None:
        session.load(config.state)
    interactive = sys.stdin is not None and sys.stdin.isatty()
    read: Callable[[], str | None] = _terminal_reader(session) if interactive else _pipe_reader
    if interactive:
        print(
            f"Talking as {session.as_name} to {session.reply_as}. Commands: {COMMANDS_HELP}.",
            file=sys.stderr,
            flush=True,
        )
    while True:
        line = read()
        if line is None:
            break
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith("/"):
                if not _slash(session, line):
                    break
                continue
            if not interactive:
                print(f"{session.as_name}: {line}")
            _say(session, line)
        except (ValueError, FileNotFoundError) as err:
            if not interactive:
                raise  # a script's bad line: one line on stderr and exit 2 (rnnkit.cli)
            print(f"error: {err}", file=sys.stderr, flush=True)
    if config.out is not None:
        _write(config, session)
    return session.transcript


def _terminal_reader(session: ChatSession) -> Callable[[], str | None]:
    with contextlib.suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (line editing and history for input())

    def read() -> str | None:
        try:
            return input(f"{session.as_name}> ")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt: leave cleanly
            print(file=sys.stderr)
            return None

    return read


def _pipe_reader() -> str | None:
    line = sys.stdin.readline()
    return line if line else None


def _write(config: ChatConfig, session: ChatSession) -> None:
    from rnnkit.train import write_json

    out = Path(config.out or ".")
    write_json(out / "config.json", {"command": "text chat", **dataclasses.asdict(config)})
    write_json(out / "transcript.json", [{"speaker": s, "text": t} for s, t in session.transcript])
    (out / "transcript.txt").write_text("".join(f"{s}: {t}\n" for s, t in session.transcript), encoding="utf-8")
    print(f"({session.turns} turns -> {out / 'transcript.txt'})", file=sys.stderr)


@dataclass
class ChatEvalConfig:
    """Score a dialogue model on conversations: reply perplexity with the state carried, previous turn only, fresh."""

    model: str
    """Model directory."""
    data: str
    """Conversations in any layout chat-train reads."""
    val_fraction: float | None = None
    """Score only the last fraction of the turns (as chat-train holds them out); None = every conversation."""
    out: str | None = None
    """Directory for metrics.json and config.json (default: RUN/eval/DATA-NAME next to the model's run folder)."""


def eval_command(config: ChatEvalConfig) -> dict[str, Any]:
    from rnnkit.train import write_json

    data: Any = Path(config.data)
    if config.val_fraction is not None:
        data = split_dialogues(read_dialogues(data), config.val_fraction)[1]
    metrics = Chatbot.load(config.model).evaluate(data)
    out = Path(config.out) if config.out is not None else eval_out(config.model, config.data)
    write_json(out / "config.json", {"command": "text chat-eval", **dataclasses.asdict(config)})
    write_json(out / "metrics.json", metrics)
    print(
        "reply perplexity over {n} tokens: {c:.3f} with the conversation carried, {p:.3f} with the previous turn "
        "only, {f:.3f} from a fresh state -> {path}".format(
            n=metrics["reply_tokens"],
            c=metrics["carried"]["perplexity"],
            p=metrics["previous_turn"]["perplexity"],
            f=metrics["fresh"]["perplexity"],
            path=out / "metrics.json",
        )
    )
    return metrics


COMMANDS: dict[str, tuple[type, Any]] = {
    "chat-train": (ChatTrainConfig, train),
    "chat": (ChatConfig, chat_command),
    "chat-eval": (ChatEvalConfig, eval_command),
}
