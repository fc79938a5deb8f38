"""Hostile input gets a clear reply, never a traceback: in the core, `newsbot ask` and the REPL.

Empty, whitespace only, 10,000 characters, only emoji, control characters, FTS5 query syntax,
right-to-left text, invalid UTF-8 on the command line. The index is real (synthetic JSONL corpus,
hashing embedder), so the FTS5 and Chroma paths see these strings too. Every outcome is
deterministic, so each case states its exact reply: kind, text, quoted sentences, passages retrieved.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from newsbot_env import NEWSBOT, cli, subprocess_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import NEWSBOT, cli, subprocess_env  # type: ignore[no-redef]
from click.testing import CliRunner

from bot.answer import ABSTAIN_TEXT
from bot.conversation import EXAMPLE_QUESTION, MAX_QUESTION_CHARS
from bot.repl import run_repl
from bot.settings import Settings
from bot.wiring import build_newsroom
from index.embedder import HashingEmbedder

PLEASE_TYPE = "Please type a question, for example: " + EXAMPLE_QUESTION
ONLY_CONTROL = "That message contains only control characters; please type a question."
TOO_LONG = f"That question is too long (10000 characters); please keep it under {MAX_QUESTION_CHARS}."
GREETING = (
    "Hi! I answer questions from the newsroom's articles and cite the passages I used (outlet, date, "
    f"title, link); when the coverage doesn't say, I tell you so. Try: “{EXAMPLE_QUESTION}”"
)
RETRIEVED = 8  # the default k: every searched question gets this many passages from the 12 stories


@dataclass(frozen=True)
class Reply:
    """The exact outcome of one question: kind, text and the (n, article id, quoted sentence) citations."""

    kind: str
    text: str
    quotes: tuple[tuple[int, str, str], ...] = ()

    @property
    def abstained(self) -> bool:
        return self.kind == "answer" and self.text == ABSTAIN_TEXT

    @property
    def retrieved(self) -> int:
        return RETRIEVED if self.kind == "answer" else 0

    def plain(self, stories: dict[str, str]) -> str:
        """What `newsbot ask` and the REPL print: the text, then one source line and quote per citation."""
        sources = [
            f"[{n}] Test Wire · {stories[a]} · Council story {a[1:]}\n    “{q}”" for n, a, q in self.quotes
        ]
        return "\n".join([self.text, *([""] + sources if sources else [])])


INVALID_EMPTY = Reply("invalid", PLEASE_TYPE)
INVALID_LONG = Reply("invalid", TOO_LONG)
CHITCHAT = Reply("chitchat", GREETING)
ABSTAINED = Reply("answer", ABSTAIN_TEXT)
HARBOUR = Reply(
    "answer",
    "Members argued about the harbour bridge budget, item 3-1. [1] "
    "Members argued about the harbour bridge budget, item 4-2. [2] "
    "Members argued about the harbour bridge budget, item 5-0. [3]",
    (
        (1, "s3", "Members argued about the harbour bridge budget, item 3-1."),
        (2, "s4", "Members argued about the harbour bridge budget, item 4-2."),
        (3, "s5", "Members argued about the harbour bridge budget, item 5-0."),
    ),
)
REAL_QUESTION = "What did the council argue about?"
REAL_ANSWER = Reply(
    "answer",
    "The council met on day 3. [1] The council met on day 4. [2] The council met on day 1. [3]",
    ((1, "s3", "The council met on day 3."), (2, "s4", "The council met on day 4."),
     (3, "s1", "The council met on day 1.")),
)
STORY_DATES = {f"s{i}": f"2024-06-{i + 1:02d}" for i in range(12)}

# name -> (question, the exact reply)
HOSTILE: dict[str, tuple[str, Reply]] = {
    "empty": ("", INVALID_EMPTY),
    "whitespace": (" \t \u00a0\u3000  ", INVALID_EMPTY),
    "newlines": ("\n\r\n\n", INVALID_EMPTY),
    "10000 chars": ("ab" * 5000, INVALID_LONG),
    "10000 chars of words": (("harbour bridge " * 700)[:9999] + "?", INVALID_LONG),
    "only control characters": ("\x00\x01\x02\x1b\x7f", Reply("invalid", ONLY_CONTROL)),
    "emoji only": ("🔥🙂🗞️👍🏽", CHITCHAT),
    "control characters around words": ("\x00\x07harbour\x08 bridge\x1b[31m budget\x7f?", HARBOUR),
    "FTS5 syntax": (
        'NEAR(harbour budget) AND "unterminated OR * ^ - : ( ) {title}:x harbour* NOT', ABSTAINED
    ),
    "FTS5 operators only": ("AND OR NOT NEAR", ABSTAINED),
    "lone quote": ('"', CHITCHAT),
    "lone star": ("*", CHITCHAT),
    "SQL": ("'; DROP TABLE fts; --", ABSTAINED),
    "RTL Arabic": ("ما الذي قاله المجلس عن ميزانية الميناء؟", ABSTAINED),
    "RTL Hebrew with override marks": (
        "\u202eמה אמרה המועצה\u202c about the harbour?", ABSTAINED
    ),
    "zero-width only": ("\u200b\u200d\ufeff", CHITCHAT),
    "lone surrogate": ("harbour \udcff budget", HARBOUR),
    "1999 chars, one word": ("a" * 1999, ABSTAINED),
}
# The question an answer records: control characters and ANSI escapes become spaces, lone
# surrogates U+FFFD; else as typed.
CLEANED = {"control characters around words": "harbour bridge budget ?", "lone surrogate": "harbour \ufffd budget"}


def write_corpus(corpus_dir: Path) -> None:
    lines = []
    for i in range(12):
        body = "\n\n".join(
            f"The council met on day {i}. Members argued about the harbour bridge budget, item {i}-{p}. "
            f"The mayor said the ferry timetable would change in spring."
            for p in range(3)
        )
        record = {"id": f"s{i}", "title": f"Council story {i}", "body": body, "source": "Test Wire",
                  "published_at": STORY_DATES[f"s{i}"]}
        lines.append(json.dumps(record))
    (corpus_dir / "stories.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus").mkdir()
    write_corpus(root / "corpus")
    return root / "corpus", root / "data"


@pytest.fixture(scope="module")
def newsroom(dirs):
    """The core over the indexed corpus; CLI tests use it too, so they never build the index first."""
    corpus_dir, data_dir = dirs
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        corpus_dir=corpus_dir,
        data_dir=data_dir,
        llm_provider="none",
    )
    room = build_newsroom(settings, embedder=HashingEmbedder())
    assert room.reindex().added == 12
    return room


def expected_outcome(reply: Reply) -> tuple:
    return reply.kind, reply.text, reply.abstained, list(reply.quotes), reply.retrieved


def outcome(answer) -> tuple:
    quotes = [(c.n, c.passage.article_id, c.quote) for c in answer.citations]
    return answer.kind, answer.text, answer.abstained, quotes, len(answer.retrieved)


def json_outcome(answer: dict) -> tuple:
    quotes = [(c["n"], c["article_id"], c["quote"]) for c in answer["citations"]]
    return answer["kind"], answer["answer"], answer["abstained"], quotes, len(answer["retrieved"])


@pytest.mark.parametrize("name", list(HOSTILE))
def test_core_replies_clearly(newsroom, name):
    question, expected = HOSTILE[name]
    answer = newsroom.ask(question)
    assert outcome(answer) == expected_outcome(expected)
    assert answer.question == CLEANED.get(name, question)
    retrieved = {p.chunk_id for p in answer.retrieved}
    assert {c.passage.chunk_id for c in answer.citations} <= retrieved  # a citation is a retrieved passage


def test_core_sanity_a_real_question_is_answered(newsroom):
    assert outcome(newsroom.ask(REAL_QUESTION)) == expected_outcome(REAL_ANSWER)


def test_repl_replies_to_every_line_and_survives(newsroom):
    single_line = {n: qe for n, qe in HOSTILE.items() if "\n" not in qe[0] and "\r" not in qe[0]}
    lines = [q for q, _ in single_line.values()] + [REAL_QUESTION]
    out = io.StringIO()
    assert run_repl(newsroom, io.StringIO("\n".join(lines) + "\n"), out) == 0
    # Blank lines are skipped; every other line gets its reply and a blank line, the real question last.
    replies = [reply for q, reply in single_line.values() if q.strip()] + [REAL_ANSWER]
    assert out.getvalue() == "".join(reply.plain(STORY_DATES) + "\n\n" for reply in replies)


def test_cli_ask_replies_clearly(dirs, newsroom, monkeypatch, tmp_path):
    corpus_dir, data_dir = dirs
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "NEWSBOT_CORPUS_DIR": str(corpus_dir),
        "NEWSBOT_DATA_DIR": str(data_dir),
        "NEWSBOT_LLM_PROVIDER": "none",
    }
    runner = CliRunner()
    for name, (question, expected) in HOSTILE.items():
        if name == "lone surrogate":
            continue  # a str argv cannot carry one; see the subprocess test below
        result = runner.invoke(cli, ["ask", question, "--json"], env=env, catch_exceptions=False)
        assert (result.exit_code, result.stderr) == (0, ""), name
        answer = json.loads(result.stdout)
        assert json_outcome(answer) == expected_outcome(expected), name
        assert answer["question"] == CLEANED.get(name, question), name
        plain = runner.invoke(cli, ["ask", question], env=env, catch_exceptions=False)
        printed = (plain.exit_code, plain.stdout, plain.stderr)
        assert printed == (0, expected.plain(STORY_DATES) + "\n", ""), name

    # One question a line on stdin: blank lines are skipped, every other line gets one JSON answer.
    single = {n: qe for n, qe in HOSTILE.items() if qe[0].strip() and not {"\n", "\r", "\udcff"} & set(qe[0])}
    stdin = "\n".join(q for q, _ in single.values()) + "\n"
    piped = runner.invoke(cli, ["ask", "-", "--json"], input=stdin, env=env, catch_exceptions=False)
    assert (piped.exit_code, piped.stderr) == (0, "")
    replies = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [r["question"] for r in replies] == [CLEANED.get(n, q) for n, (q, _) in single.items()]
    assert [json_outcome(r) for r in replies] == [expected_outcome(reply) for _, reply in single.values()]


def test_cli_ask_with_invalid_utf8_in_argv(dirs, newsroom, tmp_path):
    corpus_dir, data_dir = dirs
    env = subprocess_env(NEWSBOT_CORPUS_DIR=str(corpus_dir), NEWSBOT_DATA_DIR=str(data_dir))
    question = b"harbour \xff\xfe budget \xc3"  # not UTF-8: Python hands it over as lone surrogates

    def ask(*extra: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*(os.fsencode(part) for part in NEWSBOT), b"ask", question, *extra],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )

    plain = ask()
    assert (plain.returncode, plain.stderr) == (0, b"")
    assert plain.stdout.decode("utf-8") == HARBOUR.plain(STORY_DATES) + "\n"

    as_json = ask(b"--json")
    assert (as_json.returncode, as_json.stderr) == (0, b"")
    # The bytes that were not UTF-8 become U+FFFD: the JSON line is valid UTF-8.
    answer = json.loads(as_json.stdout.decode("utf-8"))
    assert as_json.stdout.count(b"\n") == 1 and as_json.stdout.endswith(b"}\n")
    assert answer["question"] == "harbour \ufffd\ufffd budget \ufffd"
    assert json_outcome(answer) == expected_outcome(HARBOUR)
