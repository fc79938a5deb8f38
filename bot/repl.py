"""The REPL: ask questions in a loop, with follow-ups and developer commands (`newsbot repl`, `newsbot run`).

Works interactively (prompt, line editing and history in ~/.newsbot_history via readline) and
with piped input (no prompt or banner, answers only), e.g. `printf 'Q1\\nQ2\\n' | newsbot repl`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.answer import Answer
from bot.core import Filters, Newsroom, Turn
from bot.formatting_text import format_answer, format_passages, format_reader, format_sources, format_timings

PROMPT = "newsbot> "
HISTORY_TURNS = 6  # earlier exchanges passed to `Newsroom.ask` for follow-up resolution
HISTORY_FILE = ".newsbot_history"
HELP = """Ask a question about the coverage; follow-ups ("What else did he say?") use the conversation.
Commands:
  :sources   the sources of the last answer
  :passages  the passages retrieved for the last answer (fused/dense/lexical scores) and the
             reader's best sentences with their features
  :json      the last answer as JSON
  :timings   how long each stage of the last answer took
  :help      this help
  :quit      leave (also Ctrl-D)"""
BANNER = "Ask a question about the coverage (:help for commands, :quit to leave)."


def run_repl(
    newsroom: Newsroom,
    stdin: TextIO,
    stdout: TextIO,
    *,
    k: int | None = None,
    filters: Filters | None = None,
    history_file: Path | None = None,
) -> int:
    """Read questions and commands until `:quit` or end of input; returns the exit code (0).

    Interactive mode (a TTY on `sys.stdin`) shows a prompt and keeps readline history in
    `history_file` (default ~/.newsbot_history); otherwise lines are read silently from `stdin`.
    """
    interactive = stdin is sys.stdin and is_terminal(stdin)
    if interactive:
        read_line = _interactive_reader(history_file or Path.home() / HISTORY_FILE)
    else:
        read_line = _piped_reader(stdin)
    session = _Session(newsroom, stdout, k=k, filters=filters)
    while True:
        try:
            line = read_line()
        except EOFError:
            if interactive:
                stdout.write("\n")
            break
        except KeyboardInterrupt:
            stdout.write("\n")  # Ctrl-C drops the line being typed; Ctrl-D leaves
            continue
        text = line.strip()
        if not text:
            continue
        if text.startswith(":"):
            if not session.command(text):
                break
            continue
        try:
            session.ask(text)
        except KeyboardInterrupt:
            stdout.write("(cancelled)\n")
    stdout.flush()
    return 0


class _Session:
    """The conversation state of one REPL: recent turns and the last answer."""

    def __init__(self, newsroom: Newsroom, out: TextIO, *, k: int | None, filters: Filters | None):
        self.newsroom = newsroom
        self.out = out
        self.k = k
        self.filters = filters
        self.turns: list[Turn] = []
        self.last: Answer | None = None

    def ask(self, question: str) -> None:
        try:
            answer = self.newsroom.ask(question, history=list(self.turns), filters=self.filters, k=self.k)
        except Exception as exc:  # the REPL outlives one failed question
            self._print(f"error: {exc}")
            return
        self.last = answer
        if answer.kind == "answer":
            self.turns = [*self.turns, Turn(question=question, answer=answer)][-HISTORY_TURNS:]
        self._print(format_answer(answer))

    def command(self, text: str) -> bool:
        """Run a `:command`; False means leave the REPL."""
        name = text.split()[0].lower()
        if name in (":quit", ":q", ":exit"):
            return False
        if name == ":help":
            self._print(HELP)
            return True
        views: dict[str, Callable[[Answer], str]] = {
            ":sources": format_sources,
            ":passages": lambda a: format_passages(a.retrieved) + "\n" + format_reader(a),
            ":json": lambda a: json.dumps(a.to_dict(), ensure_ascii=False, indent=2),
            ":timings": format_timings,
        }
        view = views.get(name)
        if view is None:
            self._print(f"Unknown command {name}. Type :help for the commands.")
        elif self.last is None:
            self._print("No answer yet: ask a question first.")
        else:
            self._print(view(self.last))
        return True

    def _print(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()


def is_terminal(stream: TextIO) -> bool:
    """True when `stream` is an interactive terminal (False for pipes, files and closed streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _piped_reader(stdin: TextIO) -> Callable[[], str]:
    def read() -> str:
        line = stdin.readline()
        if line == "":
            raise EOFError
        return line

    return read


def _interactive_reader(history_file: Path) -> Callable[[], str]:
    """`input()` with readline editing and a persistent history file (when readline exists)."""
    try:
        import atexit
        import readline
    except ImportError:  # pragma: no cover - e.g. Windows without pyreadline
        return lambda: input(PROMPT)
    try:
        readline.read_history_file(str(history_file))
    except (FileNotFoundError, OSError):
        pass
    readline.set_history_length(1000)

    def save() -> None:
        try:
            readline.write_history_file(str(history_file))
        except OSError:
            pass

    atexit.register(save)
    return lambda: input(PROMPT)
