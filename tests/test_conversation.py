"""Follow-up resolution, chit-chat detection and input validation (no LLM)."""

from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.conversation import (
    EXAMPLE_QUESTION,
    chitchat_reply,
    clean_question,
    is_chitchat,
    is_followup,
    resolve_followup,
    validate_question,
)
from bot.core import Turn

LAMMY_Q = "What did Lammy say about passports?"


def turn(question: str, standalone: str | None = None, kind: str = "answer") -> Turn:
    return Turn(question=question, answer=Answer(question=question, text="…", standalone_query=standalone, kind=kind))


# --- follow-ups -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What else did he say?", "What else did Lammy say?"),
        ("And about Ukraine?", "What did Lammy say about Ukraine?"),
        ("What about Ukraine?", "What did Lammy say about Ukraine?"),
        ("And Ukraine?", "What did Lammy say about Ukraine?"),
        ("When was that?", "When was that (Lammy passports)?"),
        ("Why?", "Why (Lammy passports)?"),
        ("Tell me more", "Tell me more (Lammy passports)"),
        ("Why did he resign?", "Why did Lammy resign?"),
        ("What is his job?", "What is Lammy's job?"),
        ("And what did Biden say?", "What did Biden say (passports)?"),
    ],
)
def test_followups_become_standalone(question, expected):
    assert resolve_followup(question, [turn(LAMMY_Q, LAMMY_Q)]) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What did Biden say about tariffs?",
        "How many troops did North Korea send?",
        "Is it true that prices rose sharply?",
        "What is the unemployment rate in Valdoria?",
    ],
)
def test_standalone_questions_are_unchanged(question):
    assert not is_followup(question)
    assert resolve_followup(question, [turn(LAMMY_Q, LAMMY_Q)]) == question


def test_without_history_nothing_changes():
    assert resolve_followup("What else did he say?", []) == "What else did he say?"


def test_previous_standalone_query_is_preferred_over_its_question():
    history = [turn("What did he say about passports?", "What did David Lammy say about passports?")]
    assert resolve_followup("And about Ukraine?", history) == "What did David Lammy say about Ukraine?"
    assert resolve_followup("What else did he say?", history) == "What else did David Lammy say?"


def test_previous_question_is_used_when_there_is_no_standalone_query():
    history = [Turn(question="What did Okafor say about tariffs?")]
    assert resolve_followup("When was that?", history) == "When was that (Okafor tariffs)?"


def test_chitchat_turns_are_skipped_when_looking_back():
    history = [turn(LAMMY_Q, LAMMY_Q), turn("thanks", kind="chitchat")]
    assert resolve_followup("When was that?", history) == "When was that (Lammy passports)?"


def test_chained_followups_keep_the_context():
    first = resolve_followup("When was that?", [turn(LAMMY_Q, LAMMY_Q)])
    second = resolve_followup("Why?", [turn(LAMMY_Q, LAMMY_Q), turn("When was that?", first)])
    assert second == "Why (Lammy passports)?"


def test_speaker_with_title_replaces_the_pronoun():
    history = [turn("What did President Yoon say about North Korea?")]
    assert resolve_followup("What else did he say?", history) == "What else did President Yoon say?"


def test_previous_question_without_about_gets_the_new_topic_appended():
    history = [turn("How many troops did North Korea send?")]
    assert resolve_followup("What about Russia?", history) == "How many troops did North Korea send, about Russia?"


# --- chit-chat --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["hi", "Hello there!", "hey bot", "Good morning", "thanks!", "Thank you so much", "ok thanks, bye",
     "who are you?", "What can you do?", "help", "👍", "🙂🙂", "?!", "cool"],
)
def test_chitchat(text):
    assert is_chitchat(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi, what did Lammy say about passports?",
        "hi what is the latest on Ukraine",
        "Thanks — and what did Biden say?",
        "Who are the candidates in Valdoria?",
        "help for flood victims",
        "What's up with the tariffs?",
        "",
    ],
)
def test_questions_are_not_chitchat(text):
    assert not is_chitchat(text)


def test_chitchat_replies_say_what_the_bot_does_with_an_example():
    for text in ("hi", "who are you?", "thanks"):
        reply = chitchat_reply(text)
        assert "I answer questions from the newsroom's articles" in reply
        assert f"Try: “{EXAMPLE_QUESTION}”" in reply
    assert chitchat_reply("thanks").startswith("You're welcome!")
    assert chitchat_reply("who are you?").startswith("I'm newsbot.")
    assert chitchat_reply("hello").startswith("Hi!")
    assert chitchat_reply("bye").startswith("Goodbye!")


# --- validation -------------------------------------------------------------------------------


def test_validation_messages():
    assert validate_question("") == f"Please type a question, for example: {EXAMPLE_QUESTION}"
    assert validate_question("   \n\t ") == f"Please type a question, for example: {EXAMPLE_QUESTION}"
    assert validate_question("\x00\x07\x1b") == "That message contains only control characters; please type a question."
    assert validate_question("a" * 2001) == "That question is too long (2001 characters); please keep it under 2000."
    assert validate_question("a" * 2000) is None
    assert validate_question("What did Lammy say?") is None


def test_clean_question_strips_control_characters_and_collapses_whitespace():
    assert clean_question("What\x00 did\tLammy\n\nsay?\x1b ") == "What did Lammy say?"
    assert clean_question("Ünïcode — “quotes” 🙂") == "Ünïcode — “quotes” 🙂"
    assert clean_question("harbour\x00bridge") == "harbour bridge"
    assert clean_question("\x1b[31mWhat did Lammy say?\x1b[0m") == "What did Lammy say?"
