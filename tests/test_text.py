"""index/text.py: tokens, lemmas, names, content terms, the question analysis and sentence spans."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.extractive import analyse_question
from index.text import (
    analyse_query,
    content_terms,
    lemma,
    question_names,
    sentence_spans,
    tokens,
)

try:
    from newsbot_env import cli, seed_cli_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import cli, seed_cli_env  # type: ignore[no-redef]


def test_tokens_keep_possessives_inner_apostrophes_and_dots():
    assert tokens("North Korea's troops, O'Brien and the U.S. — 2,000 “rockets”!") == [
        "North", "Korea's", "troops", "O'Brien", "and", "the", "U.S", "2", "000", "rockets",
    ]


def test_lemma_folds_initialisms_so_a_question_says_us_for_the_passages_u_s():
    words = ("U.S.", "U.S", "US", "Lammy's", "passports")
    assert [lemma(w) for w in words] == ["us", "us", "us", "lammy", "passport"]


def test_names_and_terms_of_a_question():
    question = "What did David Lammy say about North Korea's troops?"
    assert question_names(question) == ["David Lammy", "North Korea"]
    assert content_terms(question) == ["David", "Lammy", "North", "Korea", "troops"]
    terms = analyse_query(question)
    assert terms.names == ("David Lammy", "North Korea")
    assert terms.words == ("david", "lammy", "north", "korea", "troops")
    assert terms.plain_words == ("troops",)


def test_names_continue_over_stopwords_and_titles_but_not_over_punctuation():
    names = analyse_query("What did Theresa May tell the New York Times?").names
    assert names == ("Theresa May", "New York Times")
    assert analyse_query("Who is Dr. Lee?").names == ("Dr Lee",)
    names = analyse_query("Did Biden, Trump and Jean-Luc Picard meet?").names
    assert names == ("Biden", "Trump", "Jean Luc Picard")
    assert question_names("What did Donald Trump's White House say?") == ["Donald Trump", "White House"]


def test_a_first_word_is_a_name_only_with_more_evidence_than_its_capital():
    assert question_names("Passports: what did the minister say?") == ["Passports"]
    assert question_names("Joe Biden said what?") == ["Joe Biden"]
    assert question_names("NASA and SpaceX launched what?") == ["NASA", "SpaceX"]
    assert question_names("Approximately how many people fled Kherson?") == ["Kherson"]
    assert question_names("Really?") == []
    assert analyse_query("Tell me more").words == ()
    question = "Scientists at NASA said what about the US budget?"
    assert list(analyse_query(question).names) == question_names(question) == ["NASA", "US"]


def test_the_retriever_and_the_answerer_agree_on_the_terms_of_a_question():
    question = "What did the US say about NATO?"
    retriever = analyse_query(question)
    answerer = analyse_question(question)
    assert (retriever.names, retriever.words, retriever.plain_words) == (("US", "NATO"), ("us", "nato"), ())
    assert answerer.query == retriever
    assert answerer.names == retriever.names
    assert answerer.terms == {"us": 2.0, "nato": 2.0}
    assert set(answerer.terms) == {lemma(w) for w in retriever.words}


def test_a_question_about_the_us_is_not_answered_from_an_article_without_it(tmp_path, monkeypatch):
    # The seed article is about NATO and South Korea; the answerer used to drop "US" as a stopword
    # and answered with NATO sentences. Now "US" is one of the question's names for it too.
    seed_cli_env(tmp_path, monkeypatch)
    question = "What did the US say about NATO?"
    result = CliRunner().invoke(cli, ["ask", question, "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert answer["abstained"] is True
    # The reader reads "the US" as a speaker (US ~ Washington ~ Pentagon): nobody of the kind speaks.
    assert answer["warnings"] == ["abstained: person 'US' not in any retrieved passage"]


def test_search_framing_words_are_terms_for_the_answerer_only():
    question = "What happened in Valdoria's winter season?"
    assert analyse_query(question).words == ("valdoria", "winter", "season")
    assert analyse_question(question).terms == {"happen": 1.0, "valdoria": 2.0, "winter": 1.0, "season": 1.0}


def test_sentence_spans_split_paragraphs_and_sentences_with_exact_offsets():
    text = "First one. Second one.\n\nThird “quoted” one — with Ünïcode. Fourth."
    spans = sentence_spans(text)
    assert spans == [(0, 10, True), (11, 22, False), (24, 58, True), (59, 66, False)]
    assert [text[s:e] for s, e, _ in spans] == [
        "First one.", "Second one.", "Third “quoted” one — with Ünïcode.", "Fourth.",
    ]


def test_sentence_spans_with_headings_split_heading_lines_apart():
    text = (
        "Related: Ten things to know\nThe minister said 5 people died. Rescue crews searched.\n\n"
        "A new paragraph."
    )
    spans = sentence_spans(text, headings=True)
    assert [text[s:e] for s, e, _ in spans] == [
        "Related: Ten things to know",
        "The minister said 5 people died.",
        "Rescue crews searched.",
        "A new paragraph.",
    ]
    assert [p for _, _, p in spans] == [True, False, False, True]
    start, end, _ = sentence_spans(text)[0]
    assert text[start:end] == "Related: Ten things to know\nThe minister said 5 people died."


def test_sentence_spans_of_empty_or_blank_text():
    assert sentence_spans("") == []
    assert sentence_spans("  \n\n  ") == []
    assert sentence_spans("  \n\n  ", headings=True) == []


def test_a_country_acronym_does_not_make_a_person_of_the_next_word():
    assert analyse_question("Which US Senate seat is most likely to flip?").names == ("US Senate",)
    assert analyse_question("Which US Senate seat is most likely to flip?").person is None


def test_lemma_folds_irregular_past_forms_onto_their_verb():
    assert [lemma(w) for w in ("fled", "won", "took", "sold", "met", "paid")] == [
        lemma(w) for w in ("flees", "wins", "takes", "sells", "meets", "pays")
    ]
    assert lemma("left") == "left" and lemma("shots") == lemma("shot")  # nouns too often: not folded
