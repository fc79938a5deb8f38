"""The statement index's extraction: who said what, sentence by sentence, from an article's chunks.

A statement is a sentence with a speaker. Only sentences that a cheap lexical filter flags
(`index.text.may_report_speech`: a speech verb or a quotation mark) are read; each is attributed
by the reader's rules (`index.text.speaker_at`, `pronoun_speech`, `roles_in`), so the answerer
and the index agree on who speaks:

- a name group (capitalised words, titles left out) positioned as the speaker ("Marsh said",
  "said Helen Marsh", "according to Marsh"); the one nearest a speech verb wins;
- a sentence opened by a pronoun or a role ("He added …", "The minister said …") goes to the last
  speaker within five sentences, else to the one person the sentence before it names;
- a sentence opening with a quotation mark right after a statement continues that statement.

The speaker is canonicalised within the article to the longest name ending in the surname that
the article's flagged sentences or title give ("Marsh" → "Helen Marsh"); the roles seen for that
surname (titles and appositives) are kept for questions like "the foreign secretary".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from index.text import (
    SPEECH_VERBS,
    TOKEN_RE,
    is_capitalised,
    is_title,
    lemma,
    may_report_speech,
    person_names,
    pronoun_speech,
    roles_in,
    sentence_spans,
    speaker_at,
    strip_possessive,
)

_LOOK_BACK = 5  # sentences a pronoun may reach back to its speaker
# '"We will keep going," she said.': a quotation closed by a pronoun and a speech verb.
_TRAILING_PRONOUN = re.compile(
    r"[,.!?…][\"”’']\s+(?:he|she|they)\s+(?:" + "|".join(sorted(SPEECH_VERBS)) + r")\b", re.IGNORECASE
)
_OPENING_QUOTES = "\"“«"


class ChunkLike(Protocol):
    """What extraction reads of a stored chunk."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    title: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One attributed sentence: `chunk.text[start:end] == text`.

    `speaker` is the canonical name as written ("Helen Marsh"), `speaker_key` the surname's lemma,
    `roles` the role phrases the article gives the speaker (each its role lemmas, space-joined and
    sorted, e.g. "foreign secretary"), `verb` the reporting verb ("" for a continued quotation),
    `via` how it was attributed: "name", "pronoun" or "quote"; `position` its order in the article.
    """

    article_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    speaker: str
    speaker_key: str
    roles: tuple[str, ...]
    verb: str
    via: str
    position: int


@dataclass(frozen=True, slots=True)
class _Sentence:
    chunk_id: str
    start: int
    end: int
    text: str


def _name_groups(text: str) -> list[tuple[list[str], int, int]]:
    """(words, first token index, last token index) of the capitalised name groups of a sentence;
    titles end a group and are left out, a possessive ends it."""
    found = list(TOKEN_RE.finditer(text))
    groups: list[tuple[list[str], int, int]] = []
    current: list[str] = []
    first = 0
    for i, m in enumerate(found):
        tok = m.group(0)
        joined = i > 0 and text[found[i - 1].end() : m.start()] in (" ", "-")
        name_like = is_capitalised(tok) and not is_title(tok) and not tok.isdigit()
        if current and not (name_like and joined):
            groups.append((current, first, i - 1))
            current = []
        if name_like:
            if not current:
                first = i
            word = strip_possessive(tok)
            current.append(word)
            if word != tok:
                groups.append((current, first, i))
                current = []
    if current:
        groups.append((current, first, len(found) - 1))
    return groups


def _speaker_group(text: str, toks: list[str], known: set[str]) -> tuple[list[str], str, int] | None:
    """The name group positioned as the speaker of a sentence, its reporting verb and the index
    of its last word, or None.

    A single word opening the sentence ("Officials said") counts only when the article names a
    person with that surname elsewhere.
    """
    lower = [t.lower() for t in toks]
    verbs = [i for i, t in enumerate(lower) if t in SPEECH_VERBS]
    best: tuple[int, int, list[str], str, int] | None = None
    for words, first, last in _name_groups(text):
        if not speaker_at(lower, last):
            continue
        if len(words) == 1 and first == 0 and lemma(words[0]) not in known:
            continue
        if not verbs:
            distance, verb = abs(last - first), ""  # "according to X"
        else:
            near = min(verbs, key=lambda v: (abs(v - last), v))
            distance, verb = abs(near - last), lower[near]
        if best is None or distance < best[0]:
            best = (distance, first, words, verb, last)
    return None if best is None else (best[2], best[3], best[4])


def article_statements(chunks: Sequence[ChunkLike]) -> list[Statement]:
    """The statements of one article, in article order, from all of its chunks (overlapping
    sentences of neighbouring chunks are read once, from the first chunk that holds them)."""
    ordered = sorted(chunks, key=lambda c: c.index)
    if not ordered:
        return []
    sentences: list[_Sentence] = []
    seen: set[int] = set()
    for chunk in ordered:
        if not may_report_speech(chunk.text):
            continue  # no sentence of it can be a statement; pronoun look-back stays within flagged text
        for s, e, _ in sentence_spans(chunk.text, headings=True):
            body_start = chunk.start + s
            if body_start in seen:
                continue
            seen.add(body_start)
            sentences.append(_Sentence(chunk.id, s, e, chunk.text[s:e]))
    title = ordered[0].title or ""
    flagged = [i for i, s in enumerate(sentences) if may_report_speech(s.text)]

    # Full names and roles the article gives each surname (from the title and the sentences of
    # the chunks the filter let through).
    full: dict[str, list[str]] = {}
    roles: dict[str, set[str]] = {}
    for text in [title, *(s.text for s in sentences)]:
        for words, _, _ in _name_groups(text):
            full.setdefault(lemma(words[-1]), []).append(" ".join(words))
        for keys, surname in roles_in(text):
            roles.setdefault(lemma(surname), set()).add(" ".join(sorted(keys)))
    known = {key for key, names in full.items() if any(" " in n for n in names)} | set(roles)

    def canonical(words: list[str]) -> tuple[str, str]:
        # A full name stays itself (Tom Marsh is not Helen Marsh); a bare surname becomes the one
        # full name the article gives it, and stays bare when the article has two.
        key = lemma(words[-1])
        given = " ".join(words)
        if len(words) > 1:
            longer = [n for n in full.get(key, []) if n == given or n.endswith(" " + given)]
            return max(longer, key=lambda n: (len(n.split()), len(n)), default=given), key
        fulls = {n for n in full.get(key, []) if len(n.split()) > 1}
        widest = {n for n in fulls if not any(m != n and m.endswith(" " + n) for m in fulls)}
        return (next(iter(widest)) if len(widest) == 1 else given), key

    out: list[Statement] = []
    last: tuple[int, str, str] | None = None  # (sentence index, speaker, key) of the last statement
    for i in flagged:
        s = sentences[i]
        toks = TOKEN_RE.findall(s.text)
        found = _speaker_group(s.text, toks, known)
        trailing = _TRAILING_PRONOUN.search(s.text) is not None
        opens = trailing or pronoun_speech(s.text, toks)
        if trailing:
            found = None  # names inside the quotation are not its speaker
        elif found is not None and opens:
            # "He said he would help South Korea respond": the pronoun is the subject unless
            # the name comes before the first speech verb ("The minister, Helen Marsh, said").
            first_verb = next((j for j, t in enumerate(toks) if t.lower() in SPEECH_VERBS), len(toks))
            if found[2] > first_verb:
                found = None
        via = "name"
        if found is not None:
            speaker, key = canonical(found[0])
            verb = found[1]
        elif opens:
            via = "pronoun"
            verb = next((t.lower() for t in toks if t.lower() in SPEECH_VERBS), "")
            if last is not None and i - last[0] <= _LOOK_BACK:
                speaker, key = last[1], last[2]
            else:
                previous = TOKEN_RE.findall(sentences[i - 1].text) if i > 0 else []
                people = {lemma(n.split()[-1]): n for n in person_names(tuple(previous))}
                if len(people) != 1:
                    continue
                speaker, key = canonical(next(iter(people.values())).split())
        elif s.text[:1] in _OPENING_QUOTES and last is not None and last[0] == i - 1:
            via, verb = "quote", ""
            speaker, key = last[1], last[2]
        else:
            continue
        last = (i, speaker, key)
        out.append(
            Statement(
                article_id=ordered[0].article_id,
                chunk_id=s.chunk_id,
                start=s.start,
                end=s.end,
                text=s.text,
                speaker=speaker,
                speaker_key=key,
                roles=tuple(sorted(roles.get(key, ()))),
                verb=verb,
                via=via,
                position=i,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A statement as the index returns it, with its article's outlet, date and title."""

    statement: Statement
    source: str | None
    published_at: str | None  # ISO 8601 as the article gives it
    published_ts: int | None
    title: str

    def to_dict(self) -> dict[str, object]:
        """The JSON form of `newsbot quotes --json` (offsets are into the chunk's text)."""
        s = self.statement
        return {
            "speaker": s.speaker,
            "published_at": self.published_at,
            "source": self.source,
            "title": self.title,
            "article_id": s.article_id,
            "text": s.text,
            "start": s.start,
            "end": s.end,
        }
