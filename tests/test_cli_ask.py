"""`newsbot ask` end to end through click's CliRunner: real parsers, chunker, Chroma, retrieval, answerer."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from newsbot_env import SEED, cli, seed_cli_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import SEED, cli, seed_cli_env  # type: ignore[no-redef]

SEED_ID = SEED.name
LAMMY_SENTENCE = (
    "Secretary Lammy stated that Russia is even using counterfeit passports to draw in North Korea's "
    "military deployment and expressed a commitment to actively cooperate against security threats to "
    "Europe and South Korea."
)


def write_distractors(corpus: Path, n: int = 300, seed: int = 7) -> None:
    """Synthetic distractors: Lammy on other topics, passports without Lammy, and unrelated news."""
    rng = random.Random(seed)
    topics = ["trade", "climate", "Gaza", "Ukraine", "migration", "China", "aid", "sanctions", "NATO", "tariffs"]
    places = ["Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Dublin", "Accra", "Quito", "Riga", "Perth"]
    lines = []
    for i in range(n):
        kind = i % 3
        topic, place = rng.choice(topics), rng.choice(places)
        if kind == 0:
            title = f"Lammy visits {place} for talks on {topic}"
            body = (
                f"Foreign Secretary David Lammy said on Tuesday that Britain would deepen cooperation on {topic}.\n\n"
                f"Lammy told reporters in {place} that the talks had been constructive. "
                f"He stated that further meetings on {topic} would follow next month."
            )
        elif kind == 1:
            title = f"Passport office in {place} faces delays"
            body = (
                f"Applicants for new passports in {place} face waits of up to {rng.randint(3, 12)} weeks, officials said.\n\n"
                f"The passport agency stated that counterfeit passports seized this year rose by {rng.randint(5, 40)} percent. "
                f"Border police said forged passports were used in {topic}-related smuggling."
            )
        else:
            title = f"{place} council debates {topic} budget"
            body = (
                f"The council in {place} debated a budget for {topic} programmes on Monday.\n\n"
                f"Members said the plan would cost {rng.randint(2, 90)} million and take two years."
            )
        lines.append(
            json.dumps(
                {
                    "id": f"distractor-{i}",
                    "title": title,
                    "body": body,
                    "source": rng.choice(["Wire A", "Wire B", "Daily C"]),
                    "published_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 20):02d}",  # never the seed's 21st
                    "url": f"https://news.example/{i}",
                }
            )
        )
    (corpus / "distractors.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A corpus with the seed article, a fresh data dir, and the fast test embedder."""
    return seed_cli_env(tmp_path, monkeypatch)


def ask(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["ask", *args], input=stdin, catch_exceptions=False)


def markers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"\[(\d+)\]", text)]


def check_contract(answer: dict) -> None:
    """Markers and citations agree one-to-one, and every citation is a retrieved passage."""
    assert sorted(set(markers(answer["answer"]))) == [c["n"] for c in answer["citations"]]
    retrieved = {r["chunk_id"] for r in answer["retrieved"]}
    assert all(c["chunk_id"] in retrieved for c in answer["citations"])


def test_first_use_builds_the_index_and_answers_lammy(env):
    result = ask("What did Lammy say about passports?", "--json")
    assert result.exit_code == 0
    assert "building it from" in result.stderr
    answer = json.loads(result.stdout)
    check_contract(answer)
    assert answer["abstained"] is False
    assert answer["answer"].startswith(LAMMY_SENTENCE + " [1]")
    first = answer["citations"][0]
    assert (first["n"], first["article_id"], first["source"]) == (1, SEED_ID, "KBS News")
    assert first["published_at"] == "2024-10-21T23:55:00+09:00"
    assert LAMMY_SENTENCE in first["passage"]
    assert set(answer["timings"]) >= {"embed", "dense", "lexical", "answer", "total"}


def test_lammy_passage_first_among_hundreds_of_distractors(env):
    write_distractors(env)
    answer = json.loads(ask("What did Lammy say about passports?", "--json").stdout)
    check_contract(answer)
    assert answer["retrieved"][0]["article_id"] == SEED_ID
    assert LAMMY_SENTENCE in answer["retrieved"][0]["passage"]
    assert answer["answer"].startswith(LAMMY_SENTENCE + " [1]")
    assert answer["citations"][0]["article_id"] == SEED_ID


def test_filters_reach_retrieval(env):
    write_distractors(env, n=30)
    answer = json.loads(ask("council budget", "--json", "--source", "Wire A", "--k", "5").stdout)
    assert answer["retrieved"] and {r["source"] for r in answer["retrieved"]} == {"Wire A"}
    answer = json.loads(ask("Lammy", "--json", "--since", "2024-10-21", "--until", "2024-10-21").stdout)
    assert {r["article_id"] for r in answer["retrieved"]} == {SEED_ID}


def test_abstains_with_exit_0_when_the_coverage_does_not_say(env):
    result = ask("How many goals did Haaland score against Arsenal?", "--json")
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["abstained"] is True
    assert answer["answer"] == "I couldn't find that in the coverage."
    assert answer["citations"] == []


def test_stdin_mode_prints_one_json_object_a_line(env):
    result = ask("-", "--json", stdin="What did Lammy say about passports?\n\nWho is the NATO secretary general?\n")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["What did Lammy say about passports?", "Who is the NATO secretary general?"]
    for row in rows:
        check_contract(row)


def test_human_output_lists_numbered_sources_and_developer_view(env):
    result = ask("What did Lammy say about passports?", "--passages")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith(LAMMY_SENTENCE + " [1]")
    assert "[1] KBS News · 2024-10-21" in out
    assert "Retrieved passages:" in out and "Timings:" in out and "fused " in out


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02", "x" * 10_000])
def test_bad_questions_get_a_clear_reply(env, question):
    result = ask(question, "--json")
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["kind"] == "invalid"
    assert answer["answer"]


@pytest.mark.model
def test_lammy_with_the_real_model_and_distractors(env, monkeypatch):
    monkeypatch.setenv("NEWSBOT_EMBEDDING_MODEL", "packaged")
    monkeypatch.setenv("NEWSBOT_EMBEDDING_CACHE", "false")
    write_distractors(env, n=150)
    answer = json.loads(ask("What did Lammy say about passports?", "--json").stdout)
    check_contract(answer)
    assert answer["retrieved"][0]["article_id"] == SEED_ID
    assert answer["answer"].startswith(LAMMY_SENTENCE + " [1]")


def test_a_who_question_leads_with_the_short_answer_in_json_and_text(env):
    result = ask("Who is the UK foreign secretary?", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    short = answer["short_answer"]
    cited = answer["citations"][short["n"] - 1]
    assert short["text"] == "David Lammy"
    assert cited["passage"][short["start"] : short["end"]] == "David Lammy"
    assert answer["answer"].startswith("David Lammy.\n")
    result = ask("Who is the UK foreign secretary?", "--passages")
    out = result.stdout
    assert out.startswith("David Lammy.\n")
    assert "Reader (best sentences; score = weighted sum of the features):" in out
    assert f"  short answer: 'David Lammy' from [{short['n']}] at {short['start']}-{short['end']}" in out
    first_row = next(line for line in out.splitlines() if line.startswith("  1. score "))
    assert re.fullmatch(
        r"  1\. score -?\d+\.\d{3} · retrieved passage \d+ · semantic -?\d\.\d\d lexical \d\.\d\d type \d\.\d\d "
        r"speaker \d\.\d\d passage \d\.\d\d rank \d\.\d\d",
        first_row,
    )


def test_a_speech_question_has_no_short_answer(env):
    answer = json.loads(ask("What did Lammy say about passports?", "--json").stdout)
    assert answer["short_answer"] is None
    assert answer["answer"] == f"{LAMMY_SENTENCE} [1]"
