"""Conversation helpers without an LLM: input validation, chit-chat, follow-up resolution.

All functions are pure: `Newsroom.ask` calls them in the order validate → clean → chit-chat →
resolve follow-up, before anything is searched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.core import Turn
from index.text import (
    SPEECH_QUESTION,
    TITLES,
    content_terms,
    lemma,
    question_names,
    replace_lone_surrogates,
    tokens,
)

MAX_QUESTION_CHARS = 2000
EXAMPLE_QUESTION = "What did the prime minister say about the budget?"

# --- validation -------------------------------------------------------------------------------


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")

def clean_question(text: str) -> str:
    """The question with ANSI escapes removed, control characters turned into spaces (so
    "harbour\x00bridge" stays two words), lone surrogates (bytes that were not UTF-8) turned
    into U+FFFD and whitespace runs collapsed to one space."""
    text = replace_lone_surrogates(_ANSI_ESCAPE.sub(" ", text))
    spaced = "".join(" " if ch.isspace() or unicodedata.category(ch) == "Cc" else ch for ch in text)
    return " ".join(spaced.split())


def validate_question(text: str) -> str | None:
    """A message saying what is wrong with the input, or None when it can be asked."""
    if not text or not text.strip():
        return "Please type a question, for example: " + EXAMPLE_QUESTION
    cleaned = clean_question(text)
    if not cleaned:
        return "That message contains only control characters; please type a question."
    if len(cleaned) > MAX_QUESTION_CHARS:
        return (
            f"That question is too long ({len(cleaned)} characters); "
            f"please keep it under {MAX_QUESTION_CHARS}."
        )
    return None


# --- chit-chat --------------------------------------------------------------------------------

_GREETINGS = [
    "hi", "hello", "hey", "heya", "hiya", "howdy", "yo", "greetings", "hallo", "hola", "sup",
    "good morning", "good afternoon", "good evening", "good day", "morning", "evening",
    "what's up", "whats up",
]
_THANKS = [
    "thanks", "thank you", "thank u", "thx", "ty", "cheers", "many thanks", "much appreciated",
    "appreciate it", "a lot", "so much", "very much",
]
_ABOUT_BOT = [
    "who are you", "what are you", "what can you do", "what do you do", "how do you work",
    "how does this work", "what is this", "what's this", "help", "help me", "start", "how are you",
    "how are you doing", "how's it going", "are you a bot", "are you human", "what can i ask",
    "what should i ask", "what is newsbot", "what's newsbot",
]
_ACKS = [
    "ok", "okay", "k", "cool", "great", "nice", "awesome", "perfect", "got it", "i see", "alright",
    "all right", "sure", "yes", "no", "yep", "nope", "lol", "haha", "wow", "good", "fine", "bye",
    "goodbye", "good bye", "see you", "see ya", "later", "good night", "gn", "please",
]
_ADDRESS = ["there", "all", "everyone", "bot", "newsbot", "friend", "folks", "team", "again"]
_BYE = {"bye", "goodbye", "good bye", "see you", "see ya", "later", "good night", "gn"}


def _alternation(phrases: list[str]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


_CHITCHAT = re.compile(
    r"^(?:(?:" + _alternation(_GREETINGS + _THANKS + _ABOUT_BOT + _ACKS + _ADDRESS) + r")\b\s*)+$"
)


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text)
    return " ".join(text.split())


def is_chitchat(text: str) -> bool:
    """True for greetings, thanks, "who are you", "help", emoji or punctuation only — not searches.

    The whole message must be made of such phrases: "hi, what did Lammy say?" is a question.
    """
    if not text.strip():
        return False
    norm = _normalise(text)
    if not norm:
        return True  # emoji or punctuation only
    return bool(_CHITCHAT.match(norm))


def chitchat_reply(text: str) -> str:
    """A short friendly reply that says what the bot does, with one example question."""
    norm = _normalise(text)
    what = (
        "I answer questions from the newsroom's articles and cite the passages I used "
        "(outlet, date, title, link); when the coverage doesn't say, I tell you so."
    )
    example = f"Try: “{EXAMPLE_QUESTION}”"
    thanks = ("thanks", "thank you", "thank u", "thx", "cheers")
    if any(re.search(rf"\b{re.escape(t)}\b", norm) for t in thanks):
        return f"You're welcome! {what} {example}"
    if norm in _BYE:
        return f"Goodbye! Come back any time: {what[0].lower()}{what[1:]}"
    if re.search(r"\b(?:who|what|how|help|start)\b", norm):
        return f"I'm newsbot. {what} {example}"
    return f"Hi! {what} {example}"


# --- follow-ups -------------------------------------------------------------------------------

_PERSONAL = {"he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs"}
_DEMONSTRATIVE = {"it", "that", "this", "those", "these", "there"}
_FOLLOWUP_START = re.compile(
    r"^\W*(?:and|but|also|more|tell me more|anything else|what else|who else|what more|"
    r"what about|how about|any more|anymore)\b",
    re.IGNORECASE,
)
_ABOUT_FORM = re.compile(
    r"^\W*(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+)?about\s+(?P<y>.+?)\s*[?.!]*\s*$", re.IGNORECASE
)
_SHORT_AND = re.compile(r"^\W*(?:and|but)\s+(?P<y>[^?]+?)\s*[?.!]*\s*$", re.IGNORECASE)
_AUX_START = re.compile(
    r"^(?:what|who|whom|whose|when|where|which|why|how|did|does|do|is|was|were|are|has|have|had|will|"
    r"would|can|could|should)\b",
    re.IGNORECASE,
)
_ELSE = re.compile(r"\b(?:else|other|another)\b", re.IGNORECASE)
_MORE = re.compile(r"\b(?:more|again|besides)\b", re.IGNORECASE)
_MAX_CARRIED = 8


def resolve_followup(question: str, history: Sequence[Turn]) -> str:
    """A standalone search query for a follow-up question; other questions come back unchanged.

    - "And about Ukraine?" after "What did Lammy say about passports?" → "What did Lammy say about Ukraine?"
    - "What else did he say?" → "What else did Lammy say?" (the pronoun becomes the previous name;
      "else" means something new, so the previous topic is not carried)
    - "When was that?" → "When was that (Lammy passports)?" (the previous names and topic terms)
    """
    previous = _previous_query(history)
    if previous is None or not is_followup(question):
        return question

    about = _ABOUT_FORM.match(question) or _short_and(question)
    if about:
        return _replace_topic(previous, about.group("y"))

    names_before = question_names(question)
    question = _drop_leading_conjunction(question)
    rewritten, substituted = _substitute_pronoun(question, _main_name(previous))
    present = {lemma(t) for t in tokens(rewritten)}
    name_keys = _name_lemmas(names_before + substituted)
    own_topic = [t for t in content_terms(rewritten) if lemma(t) not in name_keys]
    own_topic = [t for t in own_topic if not t[:1].isupper()]
    carry_names = not names_before and not substituted
    carry_topic = not own_topic and not _ELSE.search(question)

    previous_names = {lemma(t) for n in question_names(previous) for t in tokens(n)}
    carried: list[str] = []
    for term in content_terms(previous):
        key = lemma(term)
        if key in present or term.lower() in TITLES:
            continue
        is_name = key in previous_names
        if (is_name and carry_names) or (not is_name and carry_topic):
            carried.append(term)
    carried = carried[:_MAX_CARRIED]
    if not carried:
        return rewritten
    core, punct = _split_punct(rewritten)
    return f"{core} ({' '.join(carried)}){punct}"


def asks_for_more(question: str, history: Sequence[Turn]) -> bool:
    """True for follow-ups such as "What else did he say?": the earlier answers' sentences should not repeat."""
    return bool(history) and is_followup(question) and bool(_ELSE.search(question) or _MORE.search(question))


def is_followup(question: str) -> bool:
    """True if the question leans on the conversation: starts with "and"/"what else"/"more",
    has a personal pronoun and no name, or is a bare "When was that?" / "Why?" without names."""
    if _FOLLOWUP_START.match(question):
        return True
    names = question_names(question)
    if names:
        return False
    words = {t.lower() for t in tokens(question)}
    if words & _PERSONAL:
        return True
    content = content_terms(question)
    if words & _DEMONSTRATIVE and len(content) <= 1:
        return True
    return not content


def _previous_query(history: Sequence[Turn]) -> str | None:
    """The standalone form of the latest real question (chit-chat and invalid turns skipped)."""
    for turn in reversed(history):
        answer = turn.answer
        if answer is not None and answer.kind != "answer":
            continue
        if answer is not None and answer.standalone_query:
            return answer.standalone_query
        return turn.question
    return None


def _short_and(question: str) -> re.Match[str] | None:
    """ "And Ukraine?" — "and" + a few words that are not a question of their own."""
    m = _SHORT_AND.match(question)
    if not m or _AUX_START.match(m.group("y")) or len(m.group("y").split()) > 4:
        return None
    if {t.lower() for t in tokens(m.group("y"))} & (_PERSONAL | _DEMONSTRATIVE):
        return None
    return m


def _replace_topic(previous: str, topic: str) -> str:
    """Swap what the previous question was about: "…say about passports?" → "…say about Ukraine?"."""
    core, punct = _split_punct(previous)
    matches = list(re.finditer(r"\babout\b", core, re.IGNORECASE))
    if matches:
        return f"{core[: matches[-1].end()]} {topic}{punct or '?'}"
    return f"{core}, about {topic}{punct or '?'}"


def _main_name(previous: str) -> str | None:
    """Who "he"/"she" most likely refers to: the speaker of the previous question, else its first
    person-like name (two words, or a title + name), else its first name."""
    m = SPEECH_QUESTION.match(previous)
    if m:
        names = question_names(m.group("x"), at_sentence_start=False)
        if names and any(t.lower() not in TITLES for n in names for t in n.split()):
            return " ".join(names)
    names = question_names(previous)
    for name in names:
        if len(name.split()) >= 2:
            return name
    return names[0] if names else None


def _substitute_pronoun(question: str, name: str | None) -> tuple[str, list[str]]:
    """Replace the first he/she/him/her/his with `name` ("his" → "Name's")."""
    if not name:
        return question, []
    m = re.search(r"\b(he|she|him|her|his)\b", question, re.IGNORECASE)
    if not m:
        return question, []
    word = m.group(1).lower()
    after = question[m.end() :].lstrip()
    next_word = after.split()[0].lower().strip("?.!,") if after.split() else ""
    object_followers = ("", "about", "on", "to", "for", "with")
    possessive = word == "his" or (word == "her" and next_word not in object_followers)
    replacement = f"{name}'s" if possessive else name
    return question[: m.start()] + replacement + question[m.end() :], [name]


def _drop_leading_conjunction(question: str) -> str:
    """ "And what did Biden say?" → "What did Biden say?" (only when a real question follows)."""
    m = re.match(r"^\W*(?:and|but|also|so)\s+(?P<rest>.+)$", question, re.IGNORECASE | re.DOTALL)
    if not m or not _AUX_START.match(m.group("rest")):
        return question
    rest = m.group("rest")
    return rest[:1].upper() + rest[1:]


def _name_lemmas(names: list[str]) -> set[str]:
    return {lemma(t) for n in names for t in tokens(n)}


def _split_punct(text: str) -> tuple[str, str]:
    stripped = text.rstrip()
    core = stripped.rstrip("?.!")
    return core.rstrip(), stripped[len(core) :]
