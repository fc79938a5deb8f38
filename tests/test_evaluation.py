"""`newsbot eval`: metric functions, the runner and the CLI, on a tiny synthetic question set."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer import ABSTAIN_TEXT, Answer, Citation, Passage
from bot.cli import cli
from bot.core import Filters, Newsroom
from bot.evaluation import (
    EvalQuestion,
    QuestionsFileError,
    citation_markers,
    citations_valid,
    contains_answer,
    gold_rank,
    load_questions,
    normalise_answer,
    percentile,
    ranked_article_ids,
    retrieval_metrics,
    run_eval,
)
from bot.wiring import Wiring

try:
    from conftest import FakeNewsroom
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.conftest import FakeNewsroom  # type: ignore[no-redef]

# --- a synthetic set whose metrics are computed by hand ------------------------------------------


def passage(article_id: str, n: int = 0, text: str = "filler text") -> Passage:
    return Passage(
        chunk_id=f"{article_id}#{n}",
        article_id=article_id,
        text=text,
        start=0,
        end=len(text),
        title=f"Title {article_id}",
        source="Synthetic Times",
        published_at=None,
        url=None,
        score=1.0,
    )


def build_set() -> tuple[list[EvalQuestion], dict[str, Answer]]:
    """Four questions: gold ranks 1, 2, 8 and none; containment yes, yes(passage), no(abstained), yes."""
    # q1: gold first; answer text holds the answer; valid citation.
    q1_ret = [passage("g1", 0, "The mayor opened the bridge."), passage("x1"), passage("x2")]
    a1 = Answer(
        question="Who opened the bridge?",
        text="The mayor opened it [1].",
        citations=[Citation(1, q1_ret[0])],
        retrieved=q1_ret,
    )
    # q2: three passages of one article before the gold one -> article rank 2 (not passage rank 4);
    # the answer is only in the cited passage; valid citations.
    q2_ret = [passage("y1", 0), passage("y1", 1), passage("y1", 2), passage("g2", 0, "Rain fell on Oslo.")]
    a2 = Answer(
        question="Where did it rain?",
        text="It rained there [1][2].",
        citations=[Citation(1, q2_ret[3]), Citation(2, q2_ret[0])],
        retrieved=q2_ret,
    )
    # q3: gold at article rank 8; abstained although a retrieved passage holds the answer.
    q3_ret = [passage(f"z{i}") for i in range(1, 8)] + [passage("g3", 0, "The score was 3-1.")]
    a3 = Answer(question="What was the score?", text=ABSTAIN_TEXT, retrieved=q3_ret, abstained=True)
    # q4: gold is the 11th distinct article -> not in the top 10; answer in text (possessive);
    # marker [2] has no citation -> invalid.
    q4_ret = [passage(f"w{i}") for i in range(1, 11)] + [passage("g4")]
    a4 = Answer(
        question="Whose plan was it?",
        text="It was Biden's plan [1], confirmed later [2].",
        citations=[Citation(1, q4_ret[0])],
        retrieved=q4_ret,
    )
    questions = [
        EvalQuestion("q1", a1.question, "the Mayor", ("g1",), date(2022, 6, 1)),
        EvalQuestion("q2", a2.question, "Oslo", ("g2", "other"), date(2022, 6, 2)),
        EvalQuestion("q3", a3.question, "3-1", ("g3",), None),
        EvalQuestion("q4", a4.question, "Biden", ("g4",), date(2022, 6, 4)),
    ]
    answers = {a.question: a for a in (a1, a2, a3, a4)}
    return questions, answers


def stepping_clock(durations: Sequence[float]) -> Iterator[float]:
    """Start/stop readings so that ask number i takes durations[i] seconds."""
    now = 0.0
    for d in durations:
        yield now
        yield now + d
        now += 10.0


def questions_jsonl(questions: Sequence[EvalQuestion]) -> str:
    rows = [
        {
            "id": q.id,
            "question": q.question,
            "answer": q.answer,
            "gold_article_ids": list(q.gold_article_ids),
            **({"question_date": q.question_date.isoformat()} if q.question_date else {}),
        }
        for q in questions
    ]
    return "\n".join(json.dumps(r) for r in rows) + "\n"


# --- run_eval on the synthetic set -----------------------------------------------------------------


def test_run_eval_metrics_are_the_hand_computed_ones():
    questions, answers = build_set()
    newsroom = FakeNewsroom(answers=answers)
    clock = stepping_clock([0.125, 0.25, 0.5, 1.0])
    report = run_eval(newsroom, questions, k=5, clock=lambda: next(clock))

    assert [q.rank for q in report.questions] == [1, 2, 8, None]
    m = report.metrics()
    assert m["hits_at_1"] == 0.25
    assert m["hits_at_5"] == 0.5
    assert m["hits_at_10"] == 0.75
    assert m["mrr_at_10"] == round((1 + 1 / 2 + 1 / 8) / 4, 4) == 0.4062
    assert report.retrieval.mrr_at_10 == 0.40625
    assert m["answer_containment"] == 0.75
    assert [q.contained for q in report.questions] == [True, True, False, True]
    assert m["abstention_rate"] == 0.25
    # answered: q1 valid, q2 valid, q4 invalid ([2] has no citation); q3 abstained is not counted
    assert [q.citations_valid for q in report.questions] == [True, True, False, False]
    assert report.citation_validity == 2 / 3
    assert m["citation_validity"] == 0.6667
    assert [q.latency_ms for q in report.questions] == [125.0, 250.0, 500.0, 1000.0]
    assert m["latency_p50_ms"] == 375.0
    assert m["latency_p95_ms"] == pytest.approx(925.0)


def test_run_eval_asks_as_of_the_question_date_with_enough_depth():
    questions, answers = build_set()
    newsroom = FakeNewsroom(answers=answers)
    run_eval(newsroom, questions, k=5)
    asked = [(c.question, c.filters, c.k) for c in newsroom.calls]
    assert asked[0] == (questions[0].question, Filters(as_of=date(2022, 6, 1)), 20)
    assert asked[2] == (questions[2].question, Filters(as_of=None), 20)

    newsroom = FakeNewsroom(answers=answers)
    report = run_eval(newsroom, questions, k=40)
    assert {call.k for call in newsroom.calls} == {40}
    assert report.k == 40


def test_report_json_shape():
    questions, answers = build_set()
    report = run_eval(FakeNewsroom(answers=answers), questions, k=20)
    out = json.loads(json.dumps(report.to_dict()))
    assert set(out["metrics"]) == {
        "hits_at_1",
        "hits_at_5",
        "hits_at_10",
        "mrr_at_10",
        "answer_containment",
        "strict_containment",
        "choice_accuracy",
        "abstention_rate",
        "citation_validity",
        "latency_p50_ms",
        "latency_p95_ms",
    }
    assert [row["id"] for row in out["questions"]] == ["q1", "q2", "q3", "q4"]
    q2 = out["questions"][1]
    assert q2["ranked_article_ids"] == ["y1", "g2"]
    assert q2["answer"] == "It rained there [1][2]."
    assert q2["abstained"] is False
    assert q2["citations"] == [
        {"n": 1, "article_id": "g2", "chunk_id": "g2#0", "quote": None},
        {"n": 2, "article_id": "y1", "chunk_id": "y1#0", "quote": None},
    ]
    q4 = out["questions"][3]
    assert q4["ranked_article_ids"] == [f"w{i}" for i in range(1, 11)]
    assert q4["gold_rank"] is None
    q3 = out["questions"][2]
    assert (q3["abstained"], q3["citations"], q3["citations_valid"], q3["gold_rank"]) == (True, [], None, 8)
    assert (q4["citations_valid"], q2["citations_valid"]) == (False, True)


# --- pure functions ------------------------------------------------------------------------------


def test_ranked_article_ids_keeps_first_occurrence_and_cuts_at_depth():
    ps = [passage("a"), passage("b"), passage("a", 1), passage("c"), passage("b", 1), passage("d")]
    assert ranked_article_ids(ps) == ["a", "b", "c", "d"]
    assert ranked_article_ids(ps, depth=2) == ["a", "b"]


def test_gold_rank_and_retrieval_metrics():
    assert gold_rank(["a", "b", "c"], {"c", "b"}) == 2
    assert gold_rank(["a"] + [f"x{i}" for i in range(10)] + ["g"], {"g"}) is None
    m = retrieval_metrics([["g", "x"], ["x", "x2", "x3", "x4", "x5", "g"], ["x"]], [{"g"}, {"g"}, {"g"}])
    assert (m.hits_at_1, m.hits_at_5, m.hits_at_10) == (1 / 3, 1 / 3, 2 / 3)
    assert m.mrr_at_10 == (1 + 1 / 6) / 3
    with pytest.raises(ValueError):
        retrieval_metrics([["a"]], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('  The \u201cSquid  Game\u201d! ', "squid game"),
        ("U.S. Open", "u s open"),
        ("An Apple a day", "apple day"),
        ("Ukraine\u2019s army", "ukraine s army"),
        ("\u00abBonjour\u00bb", "bonjour"),
        ("\uff21BC", "abc"),  # NFKC folds the full-width letter
        ("!!!", ""),
    ],
)
def test_normalise_answer(text, expected):
    assert normalise_answer(text) == expected


@pytest.mark.parametrize(
    ("gold", "texts", "expected"),
    [
        ("\u201cSquid Game\u201d", ['Netflix renewed "Squid Game" for a season.'], True),
        ("Europe", ["Europeans will need new cables."], False),  # whole words only
        ("Europe", ["nothing here", "Across EUROPE, phones change."], True),
        ("The Beatles", ["a band like beatles"], True),
        ("U.S.", ["the U.S. said"], True),
        ("Biden", ["Biden's plan"], True),
        ("Ukraine's", ["Ukraine\u2019s army"], True),
        ("3-1", ["won 3 1"], True),
        ("3-1", ["won 31"], False),
        ("!!!", ["!!!"], False),  # an answer that normalises to nothing never matches
        ("Oslo", [], False),
    ],
)
def test_contains_answer(gold, texts, expected):
    assert contains_answer(gold, texts) is expected


def test_citation_markers():
    assert citation_markers("A [1] b [2, 3] c [12][1] d [x] [ 4 ]") == [1, 2, 3, 12, 1]


def _answer(text: str, cited: list[tuple[int, Passage]], retrieved: list[Passage]) -> Answer:
    return Answer(question="q", text=text, citations=[Citation(n, p) for n, p in cited], retrieved=retrieved)


def test_citations_valid_cases():
    a, b, c = passage("a"), passage("b"), passage("c")
    assert citations_valid(_answer("Claim [1].", [(1, a)], [a, b])) is True
    assert citations_valid(_answer("Claims [1, 2].", [(1, a), (2, b)], [a, b])) is True
    # an unreferenced citation does not matter
    assert citations_valid(_answer("Claim [2].", [(1, c), (2, b)], [a, b])) is True
    assert citations_valid(_answer("No marker at all.", [(1, a)], [a])) is False
    assert citations_valid(_answer("Claim [1] and [2].", [(1, a)], [a, b])) is False  # [2] unmapped
    assert citations_valid(_answer("Claim [1].", [(1, c)], [a, b])) is False  # passage not retrieved


def test_percentile():
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 100) == 5.0


# --- the questions file --------------------------------------------------------------------------


def test_load_questions_reads_fields_and_skips_blank_lines(tmp_path: Path):
    questions, _ = build_set()
    path = tmp_path / "q.jsonl"
    path.write_text("\n" + questions_jsonl(questions) + "\n\n", encoding="utf-8")
    assert load_questions(path) == questions


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ("{not json", "q.jsonl:2: not valid JSON"),
        ("[1, 2]", "q.jsonl:2: expected a JSON object, got list"),
        ('{"id": "b", "question": "", "answer": "x", "gold_article_ids": ["g"]}', "q.jsonl:2: field 'question'"),
        ('{"id": "b", "question": "Q?", "answer": "x", "gold_article_ids": []}', "q.jsonl:2: field 'gold_article_ids'"),
        (
            '{"id": "b", "question": "Q?", "answer": "x", "gold_article_ids": ["g"], "question_date": "June 2"}',
            "q.jsonl:2: field 'question_date' must be YYYY-MM-DD (got 'June 2')",
        ),
        ('{"id": "a", "question": "Q?", "answer": "x", "gold_article_ids": ["g"]}', "q.jsonl:2: duplicate question id 'a'"),
    ],
)
def test_load_questions_names_the_bad_line(tmp_path: Path, line2: str, message: str):
    path = tmp_path / "q.jsonl"
    good = '{"id": "a", "question": "Q?", "answer": "x", "gold_article_ids": ["g"]}'
    path.write_text(good + "\n" + line2 + "\n", encoding="utf-8")
    with pytest.raises(QuestionsFileError) as err:
        load_questions(path)
    assert message in str(err.value)


def test_load_questions_keeps_line_separators_inside_strings(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    row = {"id": "a", "question": "Line\u2028two?", "answer": "x", "gold_article_ids": ["g"]}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\r\n", encoding="utf-8")
    assert [q.question for q in load_questions(path)] == ["Line\u2028two?"]


def test_load_questions_rejects_an_empty_file(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(QuestionsFileError, match="no questions"):
        load_questions(path)


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    questions, _ = build_set()
    path = tmp_path / "questions.jsonl"
    path.write_text(questions_jsonl(questions), encoding="utf-8")
    return path


def _factory(newsroom: Newsroom):
    seen = []

    def factory(settings):
        seen.append(settings)
        return newsroom

    return factory, seen


def test_cli_json_prints_only_json(cli_env: Path):
    _, answers = build_set()
    newsroom = FakeNewsroom(answers=answers)
    factory, seen = _factory(newsroom)
    result = CliRunner().invoke(cli, ["eval", str(cli_env), "--json", "--k", "25"], obj=Wiring(newsroom_factory=factory))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["metrics"]["hits_at_1"] == 0.25
    assert out["metrics"]["mrr_at_10"] == 0.4062
    assert out["k"] == 25
    assert [row["id"] for row in out["questions"]] == ["q1", "q2", "q3", "q4"]
    assert len(seen) == 1 and {call.k for call in newsroom.calls} == {25}


def test_cli_table(cli_env: Path):
    _, answers = build_set()
    factory, _ = _factory(FakeNewsroom(answers=answers))
    result = CliRunner().invoke(cli, ["eval", str(cli_env)], obj=Wiring(newsroom_factory=factory))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  Hits@1                  0.250" in lines
    assert "  MRR@10                  0.406" in lines
    assert "  citation validity       0.667" in lines
    assert "  q3                          8    no     -     -  (abstained)" in lines


def test_cli_bad_line_is_a_clear_error(cli_env: Path):
    cli_env.write_text(cli_env.read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
    factory, seen = _factory(FakeNewsroom())
    result = CliRunner().invoke(cli, ["eval", str(cli_env), "--json"], obj=Wiring(newsroom_factory=factory))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"Error: {cli_env}:5: not valid JSON" in result.stderr
    assert seen == []  # nothing was built for a bad file


# --- short answers, strict containment and choice accuracy -----------------------------------------


def choice_set() -> tuple[list[dict], dict[str, Answer]]:
    """Three multiple-choice questions: right short answer, a short answer matching two choices,
    no short answer but a text naming only the gold choice; the answer text of the first is in
    its quote, the second's gold only in the cited passage."""
    bridge = passage("g1", 0, "Mayor Ruth Calder opened the bridge on Monday.")
    a1 = Answer(
        question="Who opened the bridge?",
        text="Ruth Calder.\nMayor Ruth Calder opened the bridge on Monday. [1]",
        citations=[Citation(1, bridge, quote="Mayor Ruth Calder opened the bridge on Monday.")],
        retrieved=[bridge],
        short_answer={"text": "Ruth Calder", "n": 1, "start": 6, "end": 17},
    )
    teams = passage("g2", 0, "Houston Astros fans cheered. The Houston Astros beat the Philadelphia Phillies.")
    a2 = Answer(
        question="Which team won?",
        text="Houston Astros.\nHouston Astros fans cheered. [1]",
        citations=[Citation(1, teams, quote="Houston Astros fans cheered.")],
        retrieved=[teams],
        short_answer={"text": "Houston Astros", "n": 1, "start": 0, "end": 14},
    )
    rain = passage("g3", 0, "Rain fell on Oslo all week.")
    a3 = Answer(
        question="Where did it rain?",
        text="Rain fell on Oslo all week. [1]",
        citations=[Citation(1, rain, quote="Rain fell on Oslo all week.")],
        retrieved=[rain],
    )
    rows = [
        {"id": "c1", "question": a1.question, "answer": "Ruth Calder", "gold_article_ids": ["g1"],
         "choices": ["Ruth Calder", "Anita Verhoeven", "Eirik Halvorsen"]},
        {"id": "c2", "question": a2.question, "answer": "Houston Astros & Philadelphia Phillies",
         "gold_article_ids": ["g2"],
         "choices": ["Houston Astros & New York Yankees", "Houston Astros & Philadelphia Phillies"]},
        {"id": "c3", "question": a3.question, "answer": "Oslo", "gold_article_ids": ["g3"],
         "choices": ["Bergen", "Oslo", "Tromsø"]},
    ]
    return rows, {a.question: a for a in (a1, a2, a3)}


def test_cli_json_rows_carry_short_answer_strict_containment_and_choice(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows, answers = choice_set()
    path = tmp_path / "choices.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    newsroom = FakeNewsroom(answers=answers)
    factory, _ = _factory(newsroom)
    result = CliRunner().invoke(cli, ["eval", str(path), "--json"], obj=Wiring(newsroom_factory=factory))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    got = [(q["id"], q["short_answer"], q["answer_contained"], q["strict_contained"], q["choice_correct"])
           for q in out["questions"]]
    assert got == [
        ("c1", {"text": "Ruth Calder", "n": 1, "start": 6, "end": 17}, True, True, True),
        ("c2", {"text": "Houston Astros", "n": 1, "start": 0, "end": 14}, False, False, False),
        ("c3", None, True, True, True),
    ]
    assert (out["metrics"]["choice_accuracy"], out["metrics"]["strict_containment"]) == (0.6667, 0.6667)
    # the choices are only read by the metric: the questions are asked as written
    assert [c.question for c in newsroom.calls] == [r["question"] for r in rows]


def test_choice_accuracy_is_none_without_choices():
    questions, answers = build_set()
    report = run_eval(FakeNewsroom(answers=answers), questions, k=20)
    assert report.metrics()["choice_accuracy"] is None
    assert [r.choice_correct for r in report.questions] == [None, None, None, None]
    # strict: q1 and q4 in the text; q2's gold only in its cited passage
    assert [r.strict_contained for r in report.questions] == [True, False, False, True]


def test_choices_must_be_strings(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "1", "question": "Q?", "answer": "A", "gold_article_ids": ["g"],
                                "choices": ["A", 3]}) + "\n", encoding="utf-8")
    with pytest.raises(QuestionsFileError, match=r"q.jsonl:1: field 'choices' must be a list of non-empty strings"):
        load_questions(path)
