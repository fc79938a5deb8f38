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
    SPEAKER_AFTER_VERB,
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
    strip_possessive,
)

_LOOK_BACK = 5  # sentences a pronoun may reach back to its speaker
# '"We will keep going," she said.': a quotation closed by a pronoun and a speech verb.
_TRAILING_PRONOUN = re.compile(
    r"[,.!?…][\"”’']\s+(?:he|she|they)\s+(?:" + "|".join(sorted(SPEECH_VERBS)) + r")\b", re.IGNORECASE
)
_OPENING_QUOTES = "\"“«"
_QUOTE_CHARS = "\"“”«»"
# A name followed by one of these (or by another lower-case plural) modifies the speaker rather
# than being it: "Republican lawmakers said", "U.S. officials said", "Biden administration
# officials said". Verbs after a name ("Marsh welcomed the deal and said") keep it the speaker.
_SPEAKER_NOUNS = frozenset(
    """
    administration agency army authority campaign command committee council court department
    government health media military ministry office official police press prosecutor spokesman
    spokeswoman spokesperson state team
    """.split()
)
_NOT_PLURAL_NOUNS = frozenset("has was is does says adds tells always perhaps as thus".split())


def _modifies_speaker(word: str) -> bool:
    """True when lower-case `word` after a name makes the name a modifier of the speaker."""
    if word in SPEECH_VERBS or word in _NOT_PLURAL_NOUNS:
        return False
    return word in _SPEAKER_NOUNS or (word.endswith("s") and not word.endswith("ss") and len(word) > 3)


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
    same_paragraph: bool = False  # follows the sentence before it in the same paragraph


def _name_groups(text: str, possessive: set[int] | None = None) -> list[tuple[list[str], int, int]]:
    """(words, first token index, last token index) of the capitalised name groups of a sentence;
    titles end a group and are left out, a possessive ends it; "of" between capitalised words
    joins them ("Department of Health"). The last index of each possessive group is added to
    `possessive` when given."""
    found = list(TOKEN_RE.finditer(text))
    possessive = set() if possessive is None else possessive  # last token indices of "Trump's"-like groups
    groups: list[tuple[list[str], int, int]] = []
    current: list[str] = []
    first = 0
    for i, m in enumerate(found):
        tok = m.group(0)
        joined = i > 0 and text[found[i - 1].end() : m.start()] in (" ", "-")
        if (
            tok == "of" and current and joined and i + 1 < len(found)
            and text[m.end() : found[i + 1].start()] == " "
            and is_capitalised(found[i + 1].group(0)) and not is_title(found[i + 1].group(0))
        ):
            current.append(tok)  # "Department of Health", "Bank of England"
            continue
        name_like = is_capitalised(tok) and not is_title(tok) and not tok.isdigit()
        if current and not (name_like and joined):
            groups.append((current, first, i - 1))
            current = []
        if name_like:
            if not current:
                first = i
                if i >= 2 and found[i - 1].group(0) == "of" and is_title(found[i - 2].group(0)):
                    continue  # "Secretary of State Antony Blinken": "State" belongs to the title
            word = strip_possessive(tok)
            current.append(word)
            if word != tok:
                groups.append((current, first, i))
                possessive.add(i)
                current = []
    if current:
        groups.append((current, first, len(found) - 1))
    return groups


def _speaker_group(text: str, toks: list[str], known: set[str]) -> tuple[list[str], str, int] | None:
    """The name group positioned as the speaker of a sentence, its reporting verb and the index
    of its last word, or None.

    The name must stand right by its verb: "Marsh said", "Marsh also told", "Marsh, the foreign
    secretary, said", "said Marsh", "said the union's leader, Tom Marsh", "according to (Secretary)
    Marsh". A name followed by a plural or a speaker noun ("Republican lawmakers said") modifies
    the speaker; a passive verb ("Jackson was confirmed") reports no speech. A single word opening
    the sentence ("Officials said") counts only when the article names a person with that surname
    elsewhere.
    """
    lower = [t.lower() for t in toks]
    spans = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
    verbs = [i for i, t in enumerate(lower) if t in SPEECH_VERBS and not (i > 0 and lower[i - 1] in _PASSIVE)]
    best: tuple[int, int, list[str], str, int] | None = None
    possessive: set[int] = set()
    groups = _name_groups(text, possessive)
    # "After Trump announced the plan, the club sent a letter": a verb in an opening subordinate
    # clause reports no statement of the sentence.
    clause_end = len(toks)
    if lower and lower[0] in _SUBORDINATORS:
        comma = text.find(",")
        clause_end = next((i for i, (a, _) in enumerate(spans) if comma != -1 and a > comma), len(toks))
    verbs = [
        v for v in verbs
        if not (lower and lower[0] in _SUBORDINATORS and v < clause_end)
        and not (lower[v] in ("state", "states") and (v + 1 >= len(lower) or lower[v + 1] != "that"))
    ]
    if _TRANSCRIPT_LABEL.match(text):
        return None  # "Welker: I have a follow up …": a transcript line, its speaker is the label
    for words, first, last in groups:
        if last in possessive:
            continue  # "Trump's claims", "Trump's tweet": the name owns the noun, it does not speak
        head = first - 1
        while head >= 0 and not _PUNCT_GAP.search(text[spans[head][1] : spans[head + 1][0]]) and (
            is_title(toks[head]) or is_capitalised(toks[head]) or toks[head].isupper() or lower[head] in _NAME_MODIFIERS
        ):
            head -= 1
        title_of = head > 0 and lower[head] == "of" and is_title(toks[head - 1])  # "Secretary of State X"
        if head >= 0 and not title_of and not _according_to(toks, lower, first) and not _opens_clause(
            text, toks, lower, spans, head
        ):
            # "an attorney for Musk accuses", "a lawyer defending Trump, said", "the data Musk
            # says he needs", "something that President Trump said": not the subject of the verb.
            continue
        after = lower[last + 1] if last + 1 < len(lower) else ""
        if after and toks[last + 1][:1].islower() and _modifies_speaker(after):
            continue
        if len(words) == 1 and first == 0 and lemma(words[0]) not in known:
            continue
        found: tuple[int, str] | None = None  # (distance, verb)
        for v in verbs:
            if v > last and _joined_before_verb(text, lower, spans, last, v):
                found = (v - last, lower[v])
                break
        if found is None:
            before = [
                v for v in verbs
                if v < first and lower[v] in SPEAKER_AFTER_VERB and _joined_after_verb(text, toks, spans, v, first)
            ]
            if before:
                found = (first - before[-1], lower[before[-1]])
        if found is None and _according_to(toks, lower, first):
            found = (1, "")
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], first, words, found[1], last)
    return None if best is None else (best[2], best[3], best[4])


_PASSIVE = frozenset("was were is are be been being".split())
_NOT_SUBJECT_BEFORE = frozenset(
    "for to of by with from against about that what which whom under as than like over after before".split()
)
_PUNCT_GAP = re.compile(r"[,;:\"“”()—–]")
_NAME_MODIFIERS = frozenset("former then late acting incoming outgoing current interim".split())
# Lower-case role words before a name: leader, founder, spokesman, chairwoman, activist, resident.
_ROLE_SUFFIX = re.compile(r"(?:er|or|ist|man|woman|person|ent|ant|ian|chief|head|boss|official)$")
_TRANSCRIPT_LABEL = re.compile(r"^[\W\d:.]*[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)?:\s")
_SUBORDINATORS = frozenset("after before when as since while although though because if once until unless".split())
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Lower-case words that may stand between a speaker's name and the verb ("Marsh also said",
# "Biden on Tuesday said", "Trump has repeatedly claimed").
_BETWEEN_NAME_AND_VERB = frozenset(
    """
    also has had have would will could should may might then later earlier again once previously
    recently repeatedly initially further still on in last this week night morning afternoon evening
    today yesterday
    """.split()
) | _WEEKDAYS


def _opens_clause(text: str, toks: list[str], lower: list[str], spans: list[tuple[int, int]], head: int) -> bool:
    """True when what precedes a name (token `head`, titles and capitalised words skipped) lets it
    be a clause's subject: punctuation between them, a conjunction, or a role word ("union
    leader Tom Marsh", "SpaceX founder Elon Musk")."""
    if head + 1 < len(spans) and _PUNCT_GAP.search(text[spans[head][1] : spans[head + 1][0]]):
        return True
    word = lower[head]
    if word in _NOT_SUBJECT_BEFORE:
        return False
    return word in ("and", "but", "then", "so", "also") or _ROLE_SUFFIX.search(word) is not None


def _joined_before_verb(text: str, lower: list[str], spans: list[tuple[int, int]], last: int, v: int) -> bool:
    """True when the name ending at token `last` is the subject of the verb at token `v`: only
    adverbs, auxiliaries and times between them, or an appositive set off by commas."""
    between = lower[last + 1 : v]
    if len(between) <= 4 and all(w in _BETWEEN_NAME_AND_VERB or w.endswith("ly") for w in between):
        return True
    if 2 <= len(between) <= 8 and between[-1] == "and" and between[0].endswith("ed") and "," not in text[
        spans[last][1] : spans[v][0]
    ]:
        return True  # "Marsh welcomed the deal and said"
    gap = text[spans[last][1] : spans[v][0]].strip()
    return len(between) <= 14 and gap.startswith(",") and gap.endswith(",") and not any(w in SPEECH_VERBS for w in between)


def _joined_after_verb(text: str, toks: list[str], spans: list[tuple[int, int]], v: int, first: int) -> bool:
    """True when the name starting at token `first` is the speaker of the verb before it ("said
    Marsh", "said Foreign Secretary Helen Marsh", "said the union's leader, Tom Marsh")."""
    between = toks[v + 1 : first]
    if len(between) > 5 or any(t.lower() in SPEECH_VERBS for t in between):
        return False
    gap = text[spans[v][1] : spans[first][0]]
    if any(c in gap for c in ".;:!?\"“”"):
        return False
    if not all(t[:1].islower() or is_title(t) for t in between):
        return False
    # "said York." / "said Marsh, adding …" / "said Marsh on Tuesday": the name ends the clause;
    # "said Trump and Giuliani had made her a target" reports what someone else said of Trump.
    last = next((i for i in range(first, len(toks)) if i + 1 >= len(toks) or not is_capitalised(toks[i + 1])), first)
    rest = text[spans[last][1] :].lstrip()
    return not rest or rest[0] in ",.;:!?)—–-" or rest.split(" ", 1)[0].lower() in ("on", "in", "at", "during", "who")


def _according_to(toks: list[str], lower: list[str], first: int) -> bool:
    """ "according to Marsh", "according to Secretary Marsh"."""
    if first >= 2 and lower[first - 2 : first] == ["according", "to"]:
        return True
    return first >= 3 and lower[first - 3 : first - 1] == ["according", "to"] and is_title(toks[first - 1])


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
        previous_end: int | None = None
        for s, e, _ in sentence_spans(chunk.text, headings=True):
            body_start = chunk.start + s
            joined = previous_end is not None and "\n" not in chunk.text[previous_end:s]
            previous_end = e
            if body_start in seen:
                continue
            seen.add(body_start)
            sentences.append(_Sentence(chunk.id, s, e, chunk.text[s:e], joined))
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
        mentions = [n for n in full.get(key, []) if len(n.split()) > 1]
        widest = [n for n in mentions if not any(m != n and m.endswith(" " + n) for m in mentions)]
        if not widest:
            return given, key
        # Two full names with the surname ("Joe Biden", "Hunter Biden"): the bare surname is the
        # one the article names most, when it names them clearly more (else it stays bare).
        counts = {n: widest.count(n) for n in dict.fromkeys(widest)}
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 or ranked[0][1] >= 2 * ranked[1][1]:
            return ranked[0][0], key
        return given, key

    out: list[Statement] = []
    last: tuple[int, str, str] | None = None  # (sentence index, speaker, key) of the last statement
    for i in flagged:
        s = sentences[i]
        if s.text.rstrip().endswith((":", "?")) and not any(q in s.text for q in _QUOTE_CHARS):
            continue  # a heading or the reporter's question ("What has the Justice Department said?")
        toks = TOKEN_RE.findall(s.text)
        found = _speaker_group(s.text, toks, known)
        trailing = _TRAILING_PRONOUN.search(s.text) is not None
        # A pronoun inside an opening quotation ("“They need to confirm …,” Brauer said") is the
        # quoted speaker's, not the sentence's subject.
        opens = trailing or (s.text[:1] not in _OPENING_QUOTES and pronoun_speech(s.text, toks))
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
        elif (
            s.text[:1] in _OPENING_QUOTES and last is not None and last[0] == i - 1
            and (s.same_paragraph or sentences[i - 1].text.rstrip().endswith(":"))
        ):
            # A quotation continues the statement before it in its paragraph ("… Marsh said.
            # “We will not stop.”") or after a colon; a new paragraph opening with a quotation is
            # often a new speaker, named only after it.
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
