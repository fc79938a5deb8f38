"""Issue 10, the answering side: positions after filtered sentences, unexpected answerer errors,
phantom citation markers, bounded quotes, the LLM deadline and settings, what the log says about
the LLM. Through `newsbot ask` (CliRunner or a subprocess) or `Newsroom.ask`."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_openai import FakeOpenAI, ScriptedReply

from bot.answer import Answer, Answerer, Passage
from bot.settings import Settings
from bot.wiring import build_newsroom
from index.embedder import HashingEmbedder

try:
    from newsbot_env import NEWSBOT, cli, seed_cli_env, subprocess_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import NEWSBOT, cli, seed_cli_env, subprocess_env  # type: ignore[no-redef]

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

INFLATION_BODY = (
    "Will prices fall this spring? Who pays for the rising rents? "
    "President Biden said inflation was hurting working families across the country.\n\n"
    "He added that the administration would press Congress to lower drug prices."
)
INFLATION_SENTENCE = "President Biden said inflation was hurting working families across the country."


def write_article(corpus: Path, article_id: str, title: str, body: str, day: int = 4) -> None:
    row = {
        "id": article_id,
        "title": title,
        "body": body,
        "source": "Wire A",
        "published_at": f"2022-03-{day:02d}",
        "url": f"https://news.example/{article_id}",
    }
    with (corpus / "synthetic.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


@pytest.fixture
def env(tmp_path, monkeypatch):
    return seed_cli_env(tmp_path, monkeypatch)


def use_llm(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, timeout: str = "5") -> None:
    """`newsbot ask` talks to the local fake OpenAI server, with no proxy in between."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSBOT_LLM_PROVIDER", "openai")
    monkeypatch.setenv("NEWSBOT_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("NEWSBOT_LLM_MODEL", "local-7b")
    monkeypatch.setenv("NEWSBOT_LLM_TIMEOUT", timeout)


def ask(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["ask", *args], input=stdin, catch_exceptions=False)


# --- 0. sentence positions after filtered sentences; unexpected answerer errors --------------------


def test_speech_question_after_questions_in_the_coverage_is_answered(env):
    """Questions in the coverage are filtered out before scoring; the sentence before a candidate
    used to be looked up in the filtered list (IndexError, or the wrong sentence)."""
    write_article(env, "inflation-1", "Prices keep rising", INFLATION_BODY)
    result = ask("What did Biden say about inflation?", "--json", "--as-of", "2022-03-05")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["kind"] == "answer"
    assert answer["answer"] == f"{INFLATION_SENTENCE} [1]"
    assert answer["citations"][0]["article_id"] == "inflation-1"
    assert answer["citations"][0]["quote"] == INFLATION_SENTENCE


def test_stdin_mode_answers_every_question_after_the_speech_question(env):
    write_article(env, "inflation-1", "Prices keep rising", INFLATION_BODY)
    stdin = "What did Biden say about inflation?\nWho is the NATO secretary general?\n"
    result = ask("-", "--json", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["question"], r["kind"]) for r in rows] == [
        ("What did Biden say about inflation?", "answer"),
        ("Who is the NATO secretary general?", "answer"),
    ]


class ExplodingAnswerer(Answerer):
    """A real answerer with a bug: raises on questions naming Kaboom, answers the others."""

    name = "exploding"

    def answer(self, question: str, passages: list[Passage], *, query=None, avoid=frozenset()) -> Answer:
        if "Kaboom" in question:
            raise IndexError("list index out of range")
        return Answer(question=question, text="All fine.", retrieved=list(passages), answerer=self.name)


def _newsroom_with(tmp_path: Path, answerer: Answerer):
    from bot.service import NewsroomService

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        corpus_dir=tmp_path / "corpus",
        data_dir=tmp_path / "data",
    )
    wired = build_newsroom(settings, embedder=HashingEmbedder())
    return NewsroomService(
        retriever=wired.retriever, answerer=answerer, indexer=wired.indexer, corpus_dir=settings.corpus_dir
    )


def test_unexpected_answerer_error_is_logged_and_apologised_for(env, tmp_path, caplog):
    newsroom = _newsroom_with(tmp_path, ExplodingAnswerer())
    newsroom.reindex()
    with caplog.at_level(logging.ERROR, logger="bot.service"):
        failed = newsroom.ask("What did Kaboom say about the summit?")
        fine = newsroom.ask("What did Rutte say about the summit?")
    assert (failed.kind, failed.text, failed.citations, failed.abstained) == (
        "error",
        "Sorry, something went wrong while answering that question. It has been logged; please try again.",
        [],
        False,
    )
    assert failed.answerer == "exploding"
    assert (fine.kind, fine.text) == ("answer", "All fine.")
    [record] = [r for r in caplog.records if r.name == "bot.service"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "answering failed (answerer exploding) for question 'What did Kaboom say about the summit?'"
    )
    assert record.exc_info is not None and record.exc_info[0] is IndexError


def test_error_answer_renders_as_one_line(env, tmp_path):
    from bot.formatting_text import format_answer
    from bot.telegram.formatting import answer_messages

    newsroom = _newsroom_with(tmp_path, ExplodingAnswerer())
    newsroom.reindex()
    failed = newsroom.ask("What did Kaboom say?")
    apology = "Sorry, something went wrong while answering that question. It has been logged; please try again."
    assert format_answer(failed) == apology
    assert answer_messages(failed) == [apology]


# --- 4. bracketed numbers of the article are not citation markers -----------------------------------

FOOTNOTED_BODY = (
    "The Gullhaven ferry sank in a winter storm in 1912, the harbour archive says.[3] "
    "Divers found the Gullhaven wreck off the north pier in 1987 [2] and raised its bell [4-5]."
)


def test_article_footnote_numbers_do_not_look_like_citation_markers(env):
    write_article(env, "ferry-1", "Gullhaven ferry history", FOOTNOTED_BODY)
    result = ask("When did the Gullhaven ferry sink in the winter storm, says the harbour archive?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    # A "when" question leads with its short answer, a verbatim span of the cited passage.
    assert answer["answer"] == "1912.\nThe Gullhaven ferry sank in a winter storm in 1912, the harbour archive says. [1]"
    start = FOOTNOTED_BODY.index("1912")
    assert answer["short_answer"] == {"text": "1912", "n": 1, "start": start, "end": start + 4}
    [citation] = answer["citations"]
    assert citation["quote"] == "The Gullhaven ferry sank in a winter storm in 1912, the harbour archive says.[3]"
    assert citation["passage"] == FOOTNOTED_BODY


def test_human_output_shows_only_newsbots_markers(env):
    write_article(env, "ferry-1", "Gullhaven ferry history", FOOTNOTED_BODY)
    result = ask("What did divers find off the Gullhaven north pier, and did they raise its bell?")
    assert result.exit_code == 0, result.stderr
    first_line = result.stdout.splitlines()[0]
    assert first_line == "Divers found the Gullhaven wreck off the north pier in 1987 and raised its bell. [1]"


def test_llm_quote_that_leaves_out_the_footnote_numbers_is_verified(env, monkeypatch):
    write_article(env, "ferry-1", "Gullhaven ferry history", FOOTNOTED_BODY)
    reply = (
        'The harbour archive says the ferry "sank in a winter storm in 1912" [1]. '
        'Divers "found the Gullhaven wreck off the north pier in 1987 and raised its bell" [1].'
    )
    with FakeOpenAI([reply]) as fake:
        use_llm(monkeypatch, fake)
        result = ask("When did the Gullhaven ferry sink in the winter storm, says the harbour archive?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    prompt = fake.requests[0]["messages"][1]["content"]
    assert "the harbour archive says.(3) Divers found the Gullhaven wreck off the north pier in 1987 (2)" in prompt
    assert (answer["answerer"], answer["fallback_reason"], answer["warnings"]) == ("llm:local-7b", None, [])
    assert answer["answer"] == reply
    [citation] = answer["citations"]
    assert citation["quote"] == (
        "The Gullhaven ferry sank in a winter storm in 1912, the harbour archive says.[3] "
        "Divers found the Gullhaven wreck off the north pier in 1987 [2] and raised its bell [4-5]."
    )


# --- 6. a huge sentence is quoted in part -------------------------------------------------------------


def test_a_huge_sentence_is_cut_to_a_bounded_excerpt_around_the_question(env):
    filler = " ".join(f"the river keeps flowing past mill number {i} and" for i in range(120))
    sentence = f"{filler} the Gullhaven ferry tariff doubled in March and {filler} everyone noticed."
    write_article(env, "runon-1", "Gullhaven notes", sentence)
    result = ask("What happened to the Gullhaven ferry tariff?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    text = answer["answer"]
    assert len(sentence) > 10_000
    assert len(text) <= 400 + len(" [1]")
    assert text.startswith("…") and text.endswith("… [1]")
    assert "the Gullhaven ferry tariff doubled in March" in text
    excerpt = text[1 : -len("… [1]")]
    [citation] = answer["citations"]
    assert f" {excerpt} " in citation["quote"]  # whole words
    assert citation["quote"] in citation["passage"]


# --- 5. NEWSBOT_LLM_TIMEOUT bounds the whole LLM call --------------------------------------------------


def test_an_llm_endpoint_that_trickles_bytes_cannot_hold_an_answer_past_the_timeout(tmp_path):
    """One byte every 0.2 s: no single read times out, yet the answer comes after about 2 s."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_article(corpus, "inflation-1", "Prices keep rising", INFLATION_BODY)
    with FakeOpenAI([ScriptedReply(f"{INFLATION_SENTENCE} [1]", trickle=0.2)]) as fake:
        env = subprocess_env(
            NEWSBOT_CORPUS_DIR=str(corpus),
            NEWSBOT_DATA_DIR=str(tmp_path / "data"),
            NEWSBOT_LLM_PROVIDER="openai",
            NEWSBOT_LLM_BASE_URL=fake.base_url,
            NEWSBOT_LLM_MODEL="local-7b",
            NEWSBOT_LLM_TIMEOUT="2",
        )
        for name in PROXY_VARIABLES:
            env.pop(name, None)
        command = NEWSBOT
        subprocess.run([*command, "index"], env=env, capture_output=True, check=True, timeout=120)
        started = time.monotonic()
        done = subprocess.run(
            [*command, "ask", "What did Biden say about inflation?", "--json"],
            env=env, capture_output=True, text=True, timeout=60,  # today it waits ~2 minutes, then hangs on
        )
        wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["answerer"], answer["answer"]) == ("extractive", f"{INFLATION_SENTENCE} [1]")
    assert re.fullmatch(
        r"LLM timeout after 2\.\d s: LLMDeadlineExceeded: no complete reply within 2 s", answer["fallback_reason"]
    )
    assert 2000 <= answer["timings"]["llm"] < 3000
    assert wall < 20  # start-up included
    assert 0 < fake.trickled_bytes < 40  # the endpoint was reached and was still trickling
    # No logging is configured for `ask`: the WARNING reaches stderr on its own, one line.
    assert done.stderr == f"llm:local-7b failed, answering extractively: {answer['fallback_reason']}\n"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("inf", "Input should be a finite number"),
        ("nan", "Input should be a finite number"),
        ("0", "Input should be greater than 0"),
        ("-3", "Input should be greater than 0"),
        ("601", "Input should be less than or equal to 600"),
    ],
)
def test_a_timeout_that_is_not_a_finite_positive_number_is_a_config_error(env, monkeypatch, value, problem):
    with FakeOpenAI([]) as fake:
        use_llm(monkeypatch, fake, timeout=value)
        result = ask("What did Rutte say?")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"newsbot: bad setting: NEWSBOT_LLM_TIMEOUT: {problem} (got {value!r})\n"
    assert fake.requests == []


# --- 8. an incomplete LLM configuration is one line and exit 2 in every command -------------------------

MODEL_MISSING = "NEWSBOT_LLM_MODEL: must name the model when NEWSBOT_LLM_PROVIDER=openai"


@pytest.mark.parametrize(
    ("command", "prefix"),
    [("ask", "newsbot: bad setting: "), ("repl", "newsbot: bad setting: "),
     ("run", "newsbot: bad setting: "), ("serve", "newsbot serve: bad setting: ")],
)
def test_openai_provider_without_a_model_is_one_line_and_exit_2(env, monkeypatch, command, prefix):
    monkeypatch.setenv("NEWSBOT_LLM_PROVIDER", "openai")
    monkeypatch.setenv("NEWSBOT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    if command == "serve":
        monkeypatch.setenv("NEWSBOT_TELEGRAM_TOKEN", "123456:TEST-TOKEN")
    args = {"ask": ["ask", "What did Rutte say?"]}.get(command, [command])
    result = CliRunner().invoke(cli, args, input="", catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"{prefix}{MODEL_MISSING}\n"
    assert not (env.parent / "data").exists()  # nothing was opened or indexed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"NEWSBOT_LLM_PROVIDER": "ollama"},
            "NEWSBOT_LLM_MODEL: must name the model when NEWSBOT_LLM_PROVIDER=ollama",
        ),
        (
            {"NEWSBOT_LLM_PROVIDER": "openai", "NEWSBOT_LLM_MODEL": "gpt-4o-mini"},
            "NEWSBOT_LLM_API_KEY: required for the OpenAI API with NEWSBOT_LLM_PROVIDER=openai "
            "(or set NEWSBOT_LLM_BASE_URL to a local OpenAI-compatible endpoint)",
        ),
    ],
)
def test_other_incomplete_llm_settings_are_one_line_and_exit_2(env, monkeypatch, settings, message):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    result = ask("What did Rutte say?")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"newsbot: bad setting: {message}\n"


# --- 9b. the log says why the LLM answer was not used and what verification removed --------------------


def test_an_llm_error_is_logged_at_warning_with_the_fallback_reason(env, monkeypatch, caplog):
    with FakeOpenAI([ScriptedReply("model overloaded", status=503)]) as fake:
        use_llm(monkeypatch, fake)
        with caplog.at_level(logging.DEBUG, logger="bot.llm"):
            result = ask("What did Rutte say about the summit?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answerer"] == "extractive"
    assert "model overloaded" in answer["fallback_reason"]
    [record] = [r for r in caplog.records if r.name == "bot.llm"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"llm:local-7b failed, answering extractively: {answer['fallback_reason']}"


def test_dropped_sentences_are_logged_without_article_text_below_debug(env, monkeypatch, caplog):
    write_article(env, "ferry-1", "Gullhaven ferry history", FOOTNOTED_BODY)
    reply = (
        "The Gullhaven ferry sank in a winter storm in 1912 [1]. "
        "Divers found the wreck off the north pier. "
        'The archive says it "was never found" [1]. '
        "Its bell was raised [1][7]."
    )
    with FakeOpenAI([reply]) as fake:
        use_llm(monkeypatch, fake)
        with caplog.at_level(logging.DEBUG, logger="bot.llm"):
            result = ask("When did the Gullhaven ferry sink in the winter storm?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answerer"] == "llm:local-7b"
    assert answer["answer"] == "The Gullhaven ferry sank in a winter storm in 1912 [1]. Its bell was raised [1]."
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bot.llm"]
    assert records == [
        (
            logging.INFO,
            "llm:local-7b reply: verification removed material (1x uncited sentence dropped; "
            "1x quote not found in the cited passage, sentence dropped; 1x dropped citation); the rest is kept",
        ),
        *[(logging.DEBUG, f"llm:local-7b reply: {w}") for w in answer["warnings"]],
    ]
    assert answer["warnings"] == [
        "uncited sentence dropped: Divers found the wreck off the north pier.",
        "quote not found in the cited passage, sentence dropped: was never found",
        "dropped citation [7]: no such passage (sentence: Its bell was raised [1][7].)",
    ]
