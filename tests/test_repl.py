"""The REPL driven through piped stdin with a fake Newsroom, and the terminal formatting."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

from click.testing import CliRunner

from bot.answer import ABSTAIN_TEXT, Answer, Citation, Passage
from bot.cli.repl import repl_command
from bot.core import Filters
from bot.formatting_text import format_answer, format_passages, format_timings
from bot.repl import PROMPT, run_repl

try:
    from conftest import FakeNewsroom
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.conftest import FakeNewsroom  # type: ignore[no-redef]

PASSAGE = Passage(
    chunk_id="kbs-1#0",
    article_id="kbs-1",
    text="Secretary Lammy stated that Russia is even using counterfeit passports.",
    start=0,
    end=71,
    title="Yoon meets UK foreign secretary",
    source="KBS",
    published_at=datetime(2024, 10, 21, 23, 55),
    url="https://news.kbs.test/1",
    score=0.016393,
    dense_score=0.612345,
    lexical_score=7.4123,
)
UNDATED = Passage(
    chunk_id="wire-9#2",
    article_id="wire-9",
    text="An undated wire passage without a link.",
    start=120,
    end=159,
    title="Wire copy",
    source=None,
    published_at=None,
    url=None,
    score=0.015873,
)


def repl_reply(question: str) -> Answer:
    """Answers from fixed passages; "hi" is chit-chat, "boom" fails."""
    if question == "boom":
        raise RuntimeError("the store went away")
    if question == "hi":
        return Answer(question=question, text="Hi! I answer questions.", kind="chitchat")
    return Answer(
        question=question,
        text=f"{PASSAGE.text} [1]",
        citations=[Citation(n=1, passage=PASSAGE, quote=PASSAGE.text)],
        retrieved=[PASSAGE, UNDATED],
        timings={"retrieve": 12.345, "answer": 1.5},
        standalone_query=f"standalone: {question}",
    )


def run(lines: str, **kwargs) -> tuple[FakeNewsroom, str, int]:
    newsroom = FakeNewsroom(reply=repl_reply)
    out = io.StringIO()
    code = run_repl(newsroom, io.StringIO(lines), out, **kwargs)
    return newsroom, out.getvalue(), code


EXPECTED_ANSWER = (
    "Secretary Lammy stated that Russia is even using counterfeit passports. [1]\n"
    "\n"
    "[1] KBS · 2024-10-21 · Yoon meets UK foreign secretary · https://news.kbs.test/1\n"
    "    “Secretary Lammy stated that Russia is even using counterfeit passports.”"
)


def test_session_with_followup_passages_json_and_quit():
    filters = Filters(source="KBS", as_of=date(2024, 10, 22))
    newsroom, out, code = run(
        "What did Lammy say about passports?\n"
        "What else did he say?\n"
        ":passages\n"
        ":json\n"
        ":quit\n"
        "never asked\n",
        k=5,
        filters=filters,
    )
    assert code == 0
    questions = ["What did Lammy say about passports?", "What else did he say?"]
    assert [c.question for c in newsroom.calls] == questions
    assert [(c.k, c.filters) for c in newsroom.calls] == [(5, filters), (5, filters)]
    assert newsroom.calls[0].history == []
    (earlier,) = newsroom.calls[1].history
    assert earlier.question == "What did Lammy say about passports?"
    assert earlier.answer is not None and earlier.answer.standalone_query == "standalone: What did Lammy say about passports?"

    assert PROMPT not in out  # piped input: no prompt noise
    assert out.count(EXPECTED_ANSWER) == 2
    assert (
        "1. fused 0.0164 · dense 0.612 · lexical 7.41 · article kbs-1 · chunk kbs-1#0\n"
        "   KBS · 2024-10-21 · Yoon meets UK foreign secretary · https://news.kbs.test/1\n"
        "    Secretary Lammy stated that Russia is even using counterfeit passports.\n"
        "2. fused 0.0159 · dense n/a · lexical n/a · article wire-9 · chunk wire-9#2\n"
        "   unknown outlet · undated · Wire copy\n"
        "    An undated wire passage without a link.\n"
    ) in out
    start = out.index("{\n")
    data, _ = json.JSONDecoder().raw_decode(out[start:])
    assert data["question"] == "What else did he say?"
    assert data["standalone_query"] == "standalone: What else did he say?"
    assert [c["chunk_id"] for c in data["citations"]] == ["kbs-1#0"]
    assert [p["chunk_id"] for p in data["retrieved"]] == ["kbs-1#0", "wire-9#2"]
    assert "never asked" not in out


def test_end_of_input_ends_the_session():
    newsroom, out, code = run("What did Lammy say about passports?\n")
    assert code == 0
    assert len(newsroom.calls) == 1
    assert out == EXPECTED_ANSWER + "\n\n"


def test_history_keeps_only_real_answers():
    newsroom, _, _ = run("hi\nWhat did Lammy say?\nWhen was that?\n")
    assert [t.question for t in newsroom.calls[2].history] == ["What did Lammy say?"]


def test_commands_before_any_answer_and_unknown_commands():
    newsroom, out, _ = run(":sources\n:bogus\n:help\n")
    assert newsroom.calls == []
    assert "No answer yet: ask a question first." in out
    assert "Unknown command :bogus. Type :help for the commands." in out
    assert ":passages  the passages retrieved" in out


def test_sources_and_timings_of_the_last_answer():
    _, out, _ = run("What did Lammy say?\n:sources\n:timings\n")
    sources = out.split("\n\n")[1]
    assert sources == (
        "[1] KBS · 2024-10-21 · Yoon meets UK foreign secretary · https://news.kbs.test/1\n"
        "    “Secretary Lammy stated that Russia is even using counterfeit passports.”"
    )
    assert "retrieve      12.3 ms\nanswer         1.5 ms" in out


def test_a_failing_question_does_not_end_the_repl():
    newsroom, out, _ = run("boom\nWhat did Lammy say?\n")
    assert "error: the store went away" in out
    assert len(newsroom.calls) == 2
    assert newsroom.calls[1].history == []


def test_blank_lines_are_ignored():
    newsroom, out, _ = run("\n   \n:quit\n")
    assert newsroom.calls == [] and out == ""


# --- formatting -------------------------------------------------------------------------------


def test_format_abstained_answer_has_no_sources():
    answer = Answer(question="q", text=ABSTAIN_TEXT, abstained=True, retrieved=[PASSAGE])
    assert format_answer(answer) == ABSTAIN_TEXT


def test_format_answer_mentions_an_llm_fallback():
    answer = Answer(question="q", text=ABSTAIN_TEXT, abstained=True, fallback_reason="timeout after 30 s")
    assert format_answer(answer) == (
        f"{ABSTAIN_TEXT}\n(the LLM answer failed: timeout after 30 s; showing the extractive answer)"
    )


def test_format_citation_without_quote_shows_the_passage_and_missing_metadata():
    answer = Answer(question="q", text="An undated wire passage without a link. [1]", citations=[Citation(1, UNDATED)])
    assert format_answer(answer).splitlines()[2:] == [
        "[1] unknown outlet · undated · Wire copy",
        "    “An undated wire passage without a link.”",
    ]


def test_format_passages_and_timings_when_empty():
    assert format_passages([]) == "No passages were retrieved."
    assert format_timings(Answer(question="q", text="t")) == "No timings recorded."


# --- the command ------------------------------------------------------------------------------


def test_repl_command_with_a_bad_setting_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("NEWSBOT_TOP_K", "0")
    result = CliRunner().invoke(repl_command, [], input="")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NEWSBOT_TOP_K" in result.stderr


def test_passages_command_shows_the_readers_features():
    reader_rows = [
        {"retrieved": 1, "chunk_id": "kbs-1#0", "sentence": PASSAGE.text, "semantic": 0.61, "lexical": 1.0,
         "type": 0.0, "speaker": 1.0, "passage": 1.0, "rank": 1.0, "score": 7.25},
    ]

    def reply(question: str) -> Answer:
        answer = repl_reply(question)
        answer.reader = reader_rows
        answer.short_answer = {"text": "Russia", "n": 1, "start": 29, "end": 35}
        return answer

    newsroom = FakeNewsroom(reply=reply)
    out = io.StringIO()
    run_repl(newsroom, io.StringIO("Who is using counterfeit passports?\n:passages\n"), out)
    assert (
        "Reader (best sentences; score = weighted sum of the features):\n"
        "  short answer: 'Russia' from [1] at 29-35\n"
        "  1. score 7.250 · retrieved passage 1 · semantic 0.61 lexical 1.00 type 0.00 speaker 1.00 passage 1.00"
        " rank 1.00\n"
        "     Secretary Lammy stated that Russia is even using counterfeit passports.\n"
    ) in out.getvalue()
