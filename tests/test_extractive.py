"""The extractive answerer: which sentences it cites, speaker preference, question kinds, abstention."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.answer import ABSTAIN_TEXT, Answer, Passage
from bot.extractive import ExtractiveAnswerer, analyse_question
from index.text import content_terms, lemma, question_names

YOON = (
    "Meanwhile, President Yoon also emphasized joint responses against cooperation between North Korea "
    "and Russia during a meeting with UK Foreign Secretary David Lammy."
)
LAMMY = (
    "Secretary Lammy stated that Russia is even using counterfeit passports to draw in North Korea's "
    "military deployment and expressed a commitment to actively cooperate against security threats to "
    "Europe and South Korea."
)


def passage(
    text: str,
    n: int = 1,
    *,
    score: float | None = None,
    dense: float | None = 0.6,
    lexical: float | None = 5.0,
    title: str = "Synthetic article",
) -> Passage:
    return Passage(
        chunk_id=f"chunk-{n}",
        article_id=f"article-{n}",
        text=text,
        start=0,
        end=len(text),
        title=title,
        source="Test Wire",
        published_at=datetime(2024, 10, 21),
        url=f"https://example.test/{n}",
        score=score if score is not None else 1.0 / (60 + n),
        dense_score=dense,
        lexical_score=lexical,
    )


def markers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"\[(\d+)\]", text)]


def assert_markers_match_citations(answer: Answer, passages: list[Passage]) -> None:
    """Every marker has exactly one citation and vice versa; each quote is the sentence before its marker."""
    found = markers(answer.text)
    assert sorted(set(found)) == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    chunk_ids = {p.chunk_id for p in passages}
    for c in answer.citations:
        assert c.passage.chunk_id in chunk_ids
        assert c.quote is not None and c.quote in c.passage.text
        assert f"{' '.join(c.quote.split())} [{c.n}]" in answer.text


@pytest.fixture
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer()


# --- the seed example -------------------------------------------------------------------------


def test_lammy_passports_cites_the_lammy_sentence_not_the_yoon_one(answerer):
    p = passage(f"{YOON}\n\n{LAMMY}")
    answer = answerer.answer("What did Lammy say about passports?", [p])

    assert not answer.abstained
    assert answer.text == f"{LAMMY} [1]"
    assert [(c.n, c.passage.chunk_id, c.quote) for c in answer.citations] == [(1, "chunk-1", LAMMY)]
    assert answer.answerer == "extractive"
    assert answer.retrieved == [p]
    assert list(answer.timings) == ["answer"] and answer.timings["answer"] >= 0
    assert answer.warnings == []


# --- speaker preference -----------------------------------------------------------------------


def test_prefers_the_sentence_where_x_speaks_over_one_that_mentions_x(answerer):
    mentioned = "Farm groups told Senator Okafor on Tuesday that the tariffs would ruin dairy exports."
    speaks = "Okafor said the tariffs were a necessary signal to trading partners."
    # The "mentioned" passage ranks first and shares more words with the question.
    answer = answerer.answer(
        "What did Okafor say about the tariffs on dairy exports?",
        [passage(mentioned, 1), passage(speaks, 2)],
    )
    assert answer.citations[0].quote == speaks
    assert answer.citations[0].passage.chunk_id == "chunk-2"
    assert answer.text.startswith(f"{speaks} [1]")


@pytest.mark.parametrize(
    "speaker_sentence",
    [
        "According to Okafor, the tariffs are a necessary signal to trading partners.",
        "The tariffs are a necessary signal to trading partners, said Okafor.",
        "Okafor, the trade committee chair, warned that the tariffs are a necessary signal.",
    ],
)
def test_speaker_patterns(answerer, speaker_sentence):
    mentioned = "Reporters asked Okafor about the tariffs after the hearing in the capital."
    answer = answerer.answer(
        "What did Okafor say about the tariffs?", [passage(f"{mentioned} {speaker_sentence}")]
    )
    assert answer.citations[0].quote == speaker_sentence


def test_pronoun_after_a_sentence_naming_x_counts_as_x_speaking(answerer):
    text = (
        "Okafor arrived at the hearing on the tariffs late in the afternoon.\n\n"
        "She warned that the tariffs would stay until the talks resume.\n\n"
        "Committee members debated the tariffs for hours without Okafor."
    )
    answer = answerer.answer("What did Okafor say about the tariffs?", [passage(text)])
    assert answer.citations[0].quote == "She warned that the tariffs would stay until the talks resume."


def test_x_speaking_about_y_beats_x_speaking_about_something_else(answerer):
    off_topic = "Okafor said the committee would meet again next month."
    on_topic = "Okafor said the tariffs were a necessary signal."
    answer = answerer.answer("What did Okafor say about the tariffs?", [passage(off_topic, 1), passage(on_topic, 2)])
    assert answer.citations[0].quote == on_topic


# --- question kinds ---------------------------------------------------------------------------


def test_how_many_needs_a_number(answerer):
    wordy = "The flooding in Valdoria displaced families across the river valley overnight."
    numeric = "Officials said 4,200 families were displaced by the flooding."
    answer = answerer.answer("How many families were displaced by the flooding in Valdoria?", [passage(f"{wordy} {numeric}")])
    assert [c.quote for c in answer.citations] == [numeric]


def test_number_words_count_as_numbers(answerer):
    numeric = "Rescuers pulled twelve families from the flooding."
    answer = answerer.answer("How many families did rescuers save from the flooding?", [passage(numeric)])
    assert [c.quote for c in answer.citations] == [numeric]


def test_when_needs_a_date(answerer):
    undated = "The Valdoria bridge reopened to traffic after repairs to the flooding damage."
    dated = "The bridge reopened on March 3 after months of repairs."
    answer = answerer.answer("When did the Valdoria bridge reopen?", [passage(f"{undated} {dated}")])
    assert [c.quote for c in answer.citations] == [dated]


def test_who_needs_a_person_name(answerer):
    nameless = "The new finance minister of Valdoria was sworn in after the vote."
    named = "Maria Castellanos was named finance minister of Valdoria."
    answer = answerer.answer("Who is the finance minister of Valdoria?", [passage(f"{nameless} {named}")])
    assert [c.quote for c in answer.citations] == [named]


def test_where_needs_a_place(answerer):
    placeless = "The summit on river flooding will be held next spring, organisers said."
    placed = "The flooding summit will be held in Marenburg, organisers said."
    answer = answerer.answer("Where will the flooding summit be held?", [passage(f"{placeless} {placed}")])
    assert [c.quote for c in answer.citations] == [placed]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many troops were sent?", "number"),
        ("How much did the bridge cost?", "number"),
        ("When did the talks start?", "date"),
        ("What year did the war end?", "date"),
        ("Who won the election?", "who"),
        ("Where was the summit held?", "where"),
        ("What did Lammy say about passports?", "speech"),
        ("How did Okafor respond to the tariffs?", "speech"),
        ("What is the new tariff rate?", "free"),
        ("And when was that?", "date"),
    ],
)
def test_question_kind(question, kind):
    assert analyse_question(question).kind == kind


# --- abstention -------------------------------------------------------------------------------


def assert_abstained(answer: Answer, passages: list[Passage], warning: str) -> None:
    assert answer.abstained
    assert answer.text == ABSTAIN_TEXT
    assert answer.citations == []
    assert answer.retrieved == passages
    assert answer.warnings == [warning]
    assert answer.answerer == "extractive"


def test_abstains_without_passages(answerer):
    assert_abstained(answerer.answer("What did Lammy say?", []), [], "abstained: no passages retrieved")


def test_abstains_when_nothing_is_relevant(answerer):
    passages = [passage("The orchestra opened its winter season with a Brahms symphony.", dense=0.12)]
    answer = answerer.answer("What is the unemployment rate in Valdoria?", passages)
    assert_abstained(
        answer,
        passages,
        "abstained: nothing relevant enough (top dense similarity 0.12 < 0.55, term overlap 0.00 < 0.80)",
    )


def test_high_dense_similarity_alone_is_relevant_enough(answerer):
    text = "Valdoria's jobless figures rose sharply, with unemployment reaching 7 percent in May."
    answer = answerer.answer("What is the unemployment rate in Valdoria?", [passage(text, dense=0.8)])
    assert not answer.abstained


def test_thresholds_are_parameters():
    passages = [passage("The orchestra opened its winter season in Valdoria with a symphony.", dense=0.12)]
    strict = ExtractiveAnswerer(min_dense=0.2, min_overlap=0.9)
    lenient = ExtractiveAnswerer(min_dense=0.1, min_overlap=0.9)
    assert strict.answer("What happened in Valdoria's winter season?", passages).abstained
    assert not lenient.answer("What happened in Valdoria's winter season?", passages).abstained


def test_abstains_when_the_person_is_in_no_passage(answerer):
    passages = [passage(f"{YOON}\n\n{LAMMY}")]
    answer = answerer.answer("What did Rishi Sunak say about passports?", passages)
    assert_abstained(answer, passages, "abstained: person 'Sunak' not in any retrieved passage")


def test_speaker_asked_about_but_absent(answerer):
    passages = [passage("Secretary Reyes stated that counterfeit passports were being used.")]
    answer = answerer.answer("What did Lammy say about passports?", passages)
    assert_abstained(answer, passages, "abstained: person 'Lammy' not in any retrieved passage")


@pytest.mark.parametrize(
    ("question", "warning"),
    [
        ("How many passports did Russia forge?", "abstained: no sentence gives a number (how many/how much)"),
        ("When did Lammy discuss passports?", "abstained: no sentence gives a date or time (when)"),
        ("Where did Lammy discuss passports?", "abstained: no sentence names a place (where)"),
        ("Who forged the counterfeit passports?", "abstained: no sentence names a person (who)"),
    ],
)
def test_abstains_when_no_sentence_fits_the_kind(answerer, question, warning):
    text = (
        "Lammy stated that Russia is even using counterfeit passports.\n\n"
        "The counterfeit passports were a concern, he said."
    )
    passages = [passage(text)]
    assert_abstained(answerer.answer(question, passages), passages, warning)


def test_abstains_when_no_sentence_shares_a_term(answerer):
    passages = [passage("The orchestra opened its winter season with a symphony.", dense=0.9)]
    answer = answerer.answer("What is the unemployment rate in Valdoria?", passages)
    assert_abstained(answer, passages, "abstained: no sentence matches the question's terms")


# --- composition ------------------------------------------------------------------------------


def test_several_sentences_from_several_passages_are_numbered_in_order():
    a = "The Valdoria central bank raised interest rates to 5 percent on Thursday."
    b = "Analysts expected the Valdoria central bank to raise interest rates again."
    c = "The central bank of Valdoria said interest rates would stay high."
    noise = "A football match was postponed because of rain."
    passages = [passage(f"{noise} {b}", 1), passage(a, 2), passage(c, 3)]
    answer = ExtractiveAnswerer(max_sentences=3).answer("Did the Valdoria central bank raise interest rates?", passages)

    assert len(answer.citations) == 3
    assert [c.n for c in answer.citations] == [1, 2, 3]
    assert {c.quote for c in answer.citations} == {a, b, c}
    assert noise not in answer.text
    assert_markers_match_citations(answer, passages)


def test_max_sentences_caps_the_answer():
    sentences = [
        "The Valdoria central bank raised interest rates on Monday.",
        "Interest rates in Valdoria were raised by the central bank to curb inflation.",
        "Valdoria's central bank said the rise in interest rates was its third this year.",
        "Economists had expected the central bank of Valdoria to raise interest rates.",
    ]
    passages = [passage(s, i) for i, s in enumerate(sentences, start=1)]
    answer = ExtractiveAnswerer(max_sentences=2).answer("Did the Valdoria central bank raise interest rates?", passages)
    assert len(answer.citations) == 2
    assert_markers_match_citations(answer, passages)


def test_two_sentences_of_one_passage_get_a_citation_each():
    s1 = "The Valdoria central bank raised interest rates on Thursday."
    s2 = "The Valdoria central bank also said interest rates would stay high."
    passages = [passage(f"{s1} {s2}")]
    answer = ExtractiveAnswerer().answer("What did the Valdoria central bank do with interest rates?", passages)
    assert [(c.n, c.passage.chunk_id, c.quote) for c in answer.citations] == [(1, "chunk-1", s1), (2, "chunk-1", s2)]
    assert answer.text == f"{s1} [1] {s2} [2]"


def test_near_duplicate_sentences_are_cited_once():
    s = "The Valdoria central bank raised interest rates to 5 percent on Thursday."
    passages = [passage(s, 1), passage(s, 2)]
    answer = ExtractiveAnswerer().answer("Did the Valdoria central bank raise interest rates?", passages)
    assert [(c.n, c.passage.chunk_id) for c in answer.citations] == [(1, "chunk-1")]


def test_query_is_used_for_the_search_terms(answerer):
    p = passage(f"{YOON}\n\n{LAMMY}")
    answer = answerer.answer("What did he say?", [p], query="What did Lammy say about passports?")
    assert answer.question == "What did he say?"
    assert answer.standalone_query == "What did Lammy say about passports?"
    assert [c.quote for c in answer.citations] == [LAMMY]


def test_whitespace_inside_a_sentence_is_collapsed_in_the_text_but_the_quote_is_exact(answerer):
    text = "Secretary Lammy stated that counterfeit\npassports were being used."
    answer = answerer.answer("What did Lammy say about passports?", [passage(text)])
    assert answer.text == "Secretary Lammy stated that counterfeit passports were being used. [1]"
    assert answer.citations[0].quote == text


# --- text helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("passports", "passport"),
        ("Passport", "passport"),
        ("Lammy's", "lammy"),
        ("stated", "stat"),
        ("state", "stat"),
        ("cities", "city"),
        ("stopped", "stop"),
        ("deploying", "deploy"),
        ("deployed", "deploy"),
        ("news", "new"),
        ("2022", "2022"),
    ],
)
def test_lemma(word, expected):
    assert lemma(word) == expected


def test_question_names_and_content_terms():
    assert question_names("What did David Lammy say about North Korea's troops?") == ["David Lammy", "North Korea"]
    assert question_names("Tell me more") == []
    assert content_terms("What did Lammy say about the passports?") == ["Lammy", "passports"]


def test_once_x_is_quoted_other_peoples_sentences_are_left_out(answerer):
    text = (
        "Okafor said the committee would meet again in the spring.\n\n"
        "Farmers from Valdoria protested outside the ministry on Monday.\n\n"
        "Okafor added that the committee had no quorum."
    )
    answer = answerer.answer("What did Okafor say about Valdoria?", [passage(text)])
    assert [c.quote for c in answer.citations] == [
        "Okafor said the committee would meet again in the spring.",
        "Okafor added that the committee had no quorum.",
    ]


def test_full_term_overlap_rescues_a_low_dense_similarity(answerer):
    text = "Okafor said the tariffs were a necessary signal."
    answer = answerer.answer("What did Okafor say about the tariffs?", [passage(text, dense=0.2)])
    assert [c.quote for c in answer.citations] == [text]


def test_a_question_in_the_coverage_is_never_quoted_as_the_answer():
    quiz = Passage(
        chunk_id="quiz-0", article_id="quiz", text=(
            "Which major change will soon be introduced to Netflix? "
            "Netflix will soon introduce advertisements on a cheaper plan, the company said."
        ),
        start=0, end=0, title="News quiz", source="Wire", published_at=None, url=None,
        score=1.0, dense_score=0.8, lexical_score=5.0,
    )
    answer = ExtractiveAnswerer().answer("Which major change will soon be introduced to Netflix?", [quiz])
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [
        "Netflix will soon introduce advertisements on a cheaper plan, the company said."
    ]
