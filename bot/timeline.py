"""Statement timelines: "What has X said about Y [since …]" answered from the statement index.

The statement index (index/statements.py, stored beside the BM25 table by `index.lexical`) holds
every attributed sentence of the coverage. A timeline question names a speaker (a name, a
surname, or a role such as "the foreign secretary"), optionally a topic and a date range; the
answer lists the speaker's statements on the topic, one a line, `date · outlet · statement [n]`,
oldest first (newest first when the question asks for the latest), each line its own citation.

Pure parts live here (question parsing, date clauses, speaker resolution against an index,
composing the answer); `bot.service.NewsroomService` wires them to the retriever.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.answer import ABSTAIN_TEXT, Answer, Citation, Passage
from index.statements import StoredStatement
from index.text import MONTHS, TITLES, lemma, question_names, role_keys, tokens

MAX_LISTED = 50  # statements listed in one answer; the rest are counted and can be asked for by date
MAX_EARLIER = 5
DENSE_AFTER = 12  # more statements than this, with days repeating, are grouped under one heading a day
_WORDS = re.compile(r"\w+")  # "Earlier statements" after a "What did X say about Y?" answer (the latest of them)


class StatementIndex(Protocol):
    """What timelines need of the statement index (`index.lexical.LexicalIndex`)."""

    def speaker_names(self, speaker_key: str) -> dict[str, int]: ...

    def speakers_with_role(self, wanted: frozenset[str]) -> dict[tuple[str, str], int]: ...

    def statement_sources(self) -> list[str]: ...

    def statements(
        self,
        speaker_key: str,
        *,
        speaker: str | None = None,
        topic: str | None = None,
        source: str | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[StoredStatement]: ...


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """A timeline question: who (as asked), about what, which dates and outlet, which order."""

    speaker: str
    topic: str = ""
    since: date | None = None
    until: date | None = None
    source: str | None = None
    newest_first: bool = False
    date_words: str = ""  # the date clause as asked, resolved later against the coverage's dates

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TimelineQuery:
        """The query an earlier answer's `timeline` recorded."""
        since, until = data.get("since"), data.get("until")
        return cls(
            speaker=str(data["speaker"]),
            topic=str(data.get("topic") or ""),
            since=date.fromisoformat(str(since)) if since else None,
            until=date.fromisoformat(str(until)) if until else None,
            source=str(data["source"]) if data.get("source") else None,
            newest_first=bool(data.get("newest_first")),
        )

    def to_dict(self) -> dict[str, object]:
        """The query as recorded in `Answer.timeline`."""
        return {
            "speaker": self.speaker,
            "topic": self.topic,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "source": self.source,
            "newest_first": self.newest_first,
        }


@dataclass(frozen=True, slots=True)
class Speaker:
    """A speaker as found in the statement index: the canonical names that count as them and the
    surname lemma; `names` None means every name with that surname."""

    label: str
    key: str
    names: tuple[str, ...] | None


# --- question parsing -------------------------------------------------------------------------

_WHEN = r"(?P<when>\s+(?:since|before|after|until|till|between|from|in|during|prior\s+to)\s+[^?]+?)?"
_TOPIC = r"(?:\s+(?:about|on|regarding|over|of)\s+(?P<y>[^?]+?))?"
_PATTERNS = (
    re.compile(
        r"^\W*(?:and\s+)?what\s+(?:has|have)\s+(?P<x>.+?)\s+(?:said|stated|told\s+\w+|announced|claimed)"
        + _TOPIC + _WHEN + r"\s*[?.!]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\W*(?:list\s+|show\s+(?:me\s+)?)?(?P<x>.+?)['’]s?\s+(?:statements?|quotes|remarks|comments)"
        + _TOPIC + _WHEN + r"\s*[?.!]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\W*how\s+(?:has|have)\s+(?P<x>.+?)['’]s?\s+(?:position|stance|views?|tone|line)\s+(?:on|about)\s+"
        r"(?P<y>[^?]+?)\s+(?:changed|shifted|evolved|developed)" + _WHEN + r"\s*[?.!]*\s*$",
        re.IGNORECASE,
    ),
)
_NEWEST = re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest|recently)\b", re.IGNORECASE)


def parse_timeline(question: str) -> TimelineQuery | None:
    """The timeline a question asks for, or None when it is not a timeline question.

    "What has X said about Y [since/before/between …]", "X's statements on Y", "How has X's
    position on Y changed". "What did X say about Y?" is not one: it gets the single best answer.
    """
    text = " ".join(question.split())
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        x = m.group("x").strip()
        if x.lower() in ("he", "she", "they", "it", "you", "i", "we"):
            return None  # a follow-up; resolved by the conversation into a name first
        y = (m.groupdict().get("y") or "").strip()
        newest = bool(_NEWEST.search(y))
        y = _NEWEST.sub("", y).strip()
        return TimelineQuery(speaker=x, topic=y, newest_first=newest, date_words=(m.group("when") or "").strip())
    return None


# --- follow-ups -------------------------------------------------------------------------------

_ONLY = re.compile(r"^\W*(?:and\s+)?(?:only|just)\s+(?:from\s+|in\s+|on\s+|by\s+)?(?P<s>[^?]+?)\s*[?.!]*\s*$", re.IGNORECASE)
_BEFORE = re.compile(r"^\W*(?:and\s+)?(?:before|earlier\s+than)\s+(?:that|then)\s*[?.!]*\s*$", re.IGNORECASE)
_AFTER = re.compile(r"^\W*(?:and\s+)?(?:after|since)\s+(?:that|then)\s*[?.!]*\s*$", re.IGNORECASE)


def followup(question: str, previous: TimelineQuery, shown: Sequence[date], sources: Sequence[str]) -> TimelineQuery | None:
    """The timeline a follow-up of a timeline answer asks for, or None.

    "and before that?" (before the oldest date shown), "and since then?" (after the newest),
    "only KBS" (one outlet; `sources` are the outlet names known, matched by their first words).
    """
    if _BEFORE.match(question):
        if not shown:
            return None
        return replace(previous, since=None, until=min(shown) - timedelta(days=1), date_words="")
    if _AFTER.match(question):
        if not shown:
            return None
        return replace(previous, since=max(shown) + timedelta(days=1), until=None, date_words="")
    m = _ONLY.match(question)
    if m:
        wanted = m.group("s").strip().casefold()
        for source in sources:
            folded = source.casefold()
            if folded == wanted or folded.startswith(wanted + " ") or folded.split()[0] == wanted:
                return replace(previous, source=source)
    return None


# --- dates ------------------------------------------------------------------------------------

_MONTH_NUMBER = {name: i for i, name in enumerate(calendar.month_name) if name} | {
    name: i for i, name in enumerate(calendar.month_abbr) if name
}
_MONTH_NUMBER = {k.lower(): v for k, v in _MONTH_NUMBER.items()} | {"sept": 9}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_A_DATE = re.compile(
    rf"(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
    rf"|(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH_RE})\.?(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<m2>{_MONTH_RE})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{{4}}))?"
    rf"|(?P<m3>{_MONTH_RE})\.?(?:\s+(?P<y3>\d{{4}}))?"
    rf"|(?P<y4>\d{{4}})",
    re.IGNORECASE,
)


def _one_date(text: str, reference: date) -> tuple[date, date] | None:
    """The first and last day a date expression covers ("October" → 1–31 Oct); a missing year is
    the latest that is not after `reference` (the newest statement)."""
    m = _A_DATE.search(text)
    if not m:
        return None
    g = m.groupdict()
    if g["iso"]:
        d = date.fromisoformat(g["iso"])
        return d, d
    if g["y4"]:
        year = int(g["y4"])
        return date(year, 1, 1), date(year, 12, 31)
    month = _MONTH_NUMBER[(g["m1"] or g["m2"] or g["m3"]).lower().rstrip(".")]
    day = g["d1"] or g["d2"]
    year_text = g["y1"] or g["y2"] or g["y3"]
    year = int(year_text) if year_text else reference.year
    first = date(year, month, int(day) if day else 1)
    if not year_text and first > reference:
        year -= 1
        first = date(year, month, int(day) if day else 1)
    last = first if day else date(year, month, calendar.monthrange(year, month)[1])
    return first, last


def date_range(words: str, reference: date) -> tuple[date | None, date | None]:
    """(since, until) of a date clause: "since 5 October", "before October 2024", "between 1 and
    15 October", "in October"; (None, None) when there is none or it cannot be read."""
    words = words.strip()
    if not words:
        return None, None
    low = words.lower()
    head, _, rest = low.partition(" ")
    if head == "prior":
        head, rest = "before", rest.removeprefix("to ").strip()
    if head == "between":
        left, sep, right = rest.partition(" and ")
        if not sep:
            return None, None
        end = _one_date(right, reference)
        if end is None:
            return None, None
        start = _one_date(left, end[1]) if _A_DATE.fullmatch(left.strip()) and not left.strip().isdigit() else None
        if start is None and left.strip().isdigit():  # "between 1 and 15 October"
            start = (end[0].replace(day=int(left.strip())),) * 2
        return (start[0] if start else None), end[1]
    span = _one_date(rest, reference)
    if span is None:
        return None, None
    if head in ("since", "from"):
        return span[0], None
    if head == "after":
        return span[1] + timedelta(days=1), None
    if head in ("before",):
        return None, span[0] - timedelta(days=1)
    if head in ("until", "till"):
        return None, span[1]
    return span  # in, during


# --- speakers ---------------------------------------------------------------------------------

_ROLE_WORDS = frozenset(lemma(t) for t in TITLES) | {"head", "boss", "leader", "chief", "spokesman", "official"}


def resolve_speaker(index: StatementIndex, asked: str) -> Speaker | None:
    """The speaker a question names, as the statement index knows them, or None when nobody fits.

    A role ("the foreign secretary") is the person the coverage most often gives that role; a
    full name ("Helen Marsh") matches that canonical name only (not "Tom Marsh"), and also bare
    "Marsh" statements when no other Marsh speaks; a surname alone is its most quoted bearer.
    """
    names = question_names(asked, at_sentence_start=False)
    words = [strip for n in names for strip in tokens(n) if strip.lower() not in TITLES]
    if not words:
        wanted = role_keys(re.sub(r"^(?:the|a|an)\s+", "", asked.strip(), flags=re.IGNORECASE))
        if not wanted or not (wanted & _ROLE_WORDS or any(w.startswith("~") for w in wanted)):
            return None
        holders = index.speakers_with_role(wanted)
        if not holders:
            return None
        (name, key), _ = max(holders.items(), key=lambda kv: (kv[1], kv[0]))
        return _with_bare(index, Speaker(name, key, (name,)))
    key = lemma(words[-1])
    counts = index.speaker_names(key)
    if not counts:
        return None
    if len(words) > 1:
        given = " ".join(words).lower()
        exact = [n for n in counts if n.lower() == given or n.lower().endswith(" " + given)]
        if not exact:
            return None
        # "Joe Biden" is labelled so, not "AP Joe Biden" (a dateline run into the name).
        label = next((n for n in exact if n.lower() == given), max(exact, key=lambda n: (counts[n], n)))
        return _with_bare(index, Speaker(label, key, tuple(exact)))
    full = [n for n in counts if len(n.split()) > 1]
    if not full:
        return Speaker(max(counts, key=lambda n: (counts[n], n)), key, None)
    best = max(full, key=lambda n: (counts[n], n))
    return _with_bare(index, Speaker(best, key, (best,)))


def _with_bare(index: StatementIndex, speaker: Speaker) -> Speaker:
    """Add the bare-surname statements ("Marsh said", with no first name in the article) when
    only one full name has that surname."""
    counts = index.speaker_names(speaker.key)
    full = [n for n in counts if len(n.split()) > 1]
    bare = [n for n in counts if len(n.split()) == 1]
    if speaker.names is not None and len(full) <= 1 and bare:
        return replace(speaker, names=(*speaker.names, *bare))
    return speaker


def find_statements(
    index: StatementIndex,
    speaker: Speaker,
    *,
    topic: str = "",
    source: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[StoredStatement]:
    """The speaker's statements, oldest first, exact repeats (the same sentence in two articles)
    kept once, at their first date. Dates are the articles' own days (a story published on 21 Oct
    in Seoul is of 21 Oct, whatever the UTC date)."""
    found: list[StoredStatement] = []
    for name in speaker.names if speaker.names is not None else (None,):
        found.extend(index.statements(speaker.key, speaker=name, topic=topic or None, source=source))
    found = within_dates(found, since, until)
    found.sort(key=lambda s: (s.published_ts is None, s.published_ts or 0, s.statement.article_id, s.statement.position))
    seen: set[str] = set()
    out = []
    for s in found:
        key = " ".join(_WORDS.findall(s.statement.text.lower()))  # quotes and spacing aside
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def within_dates(statements: list[StoredStatement], since: date | None, until: date | None) -> list[StoredStatement]:
    """The statements whose article's day is within the inclusive bounds (all when there are none;
    undated ones only then)."""
    if since is None and until is None:
        return statements
    return [
        s for s in statements
        if (day := statement_date(s)) is not None
        and (since is None or day >= since)
        and (until is None or day <= until)
    ]


# --- composing --------------------------------------------------------------------------------


def statement_date(s: StoredStatement) -> date | None:
    """The day of a statement's article, as the article gives it."""
    if not s.published_at:
        return None
    try:
        return datetime.fromisoformat(s.published_at).date()
    except ValueError:
        return None


def day_label(day: date | None) -> str:
    """`21 Oct 2024` (or "undated")."""
    return f"{day.day} {calendar.month_abbr[day.month]} {day.year}" if day else "undated"


def statement_line(s: StoredStatement, n: int) -> str:
    """`21 Oct 2024 · KBS News · the statement [n]`."""
    return f"{day_label(statement_date(s))} · {s.source or 'unknown outlet'} · {' '.join(s.statement.text.split())} [{n}]"


def compose(
    question: str,
    query: TimelineQuery,
    speaker: Speaker,
    statements: list[StoredStatement],
    passage_of: Callable[[str], Passage | None],
) -> Answer:
    """The timeline answer: a heading line, then one line per statement, each cited."""
    about = f" about {query.topic}" if query.topic else ""
    if not statements:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            abstained=True,
            warnings=[f"abstained: no statement by {speaker.label}{about} in the coverage"],
            timeline=query.to_dict(),
        )
    ordered = list(reversed(statements)) if query.newest_first else list(statements)
    listed = ordered[:MAX_LISTED]
    lines = [f"What {speaker.label} has said{about}, {'newest' if query.newest_first else 'oldest'} first:"]
    citations: list[Citation] = []
    rows: list[dict[str, object]] = []
    days = [statement_date(s) for s in listed]
    dense = len(listed) > DENSE_AFTER and len(set(days)) < len(days)
    shown_day: object = None
    for s in listed:
        passage = passage_of(s.statement.chunk_id)
        if passage is None:
            continue  # gone since the index was synced
        n = len(citations) + 1
        citations.append(Citation(n=n, passage=passage, quote=s.statement.text))
        if dense:
            # Many statements, several a day: one heading a day, then `outlet · statement [n]`.
            day = statement_date(s)
            if day != shown_day:
                lines.append(f"{day_label(day)}:")
                shown_day = day
            lines.append(f"  {s.source or 'unknown outlet'} · {' '.join(s.statement.text.split())} [{n}]")
        else:
            lines.append(statement_line(s, n))
        rows.append({"speaker": s.statement.speaker, "published_at": s.published_at, "source": s.source,
                     "text": s.statement.text, "n": n})
    if len(ordered) > len(listed):
        last = statement_date(listed[-1])
        hint = f"; ask with 'since {last.isoformat()}'" if last and not query.newest_first else ""
        lines.append(f"({len(ordered) - len(listed)} more statements not listed{hint}.)")
    shown = [d for d in (statement_date(s) for s in listed) if d]
    timeline = query.to_dict() | {"shown": [d.isoformat() for d in shown], "speaker_label": speaker.label}
    return Answer(
        question=question,
        text="\n".join(lines),
        citations=citations,
        retrieved=[c.passage for c in citations],
        statements=rows,
        timeline=timeline,
    )


_CITED_PART = re.compile(r"(.+?) \[(\d+)\](?: |$)")


def add_other_statements(
    answer: Answer, statements: Sequence[StoredStatement], passage_of: Callable[[str], Passage | None]
) -> None:
    """Rework a "What did X say about Y?" answer around the statement index: the best answer's
    own article stays first; X's other statements on Y follow as dated lines under "Earlier
    statements:" (the `MAX_EARLIER` latest before that article's day, oldest first) and "Later
    statements:", each its own citation. Sentences the reader had stacked from other articles
    leave the body: undated there, they are dated in the lists when they are X's statements."""
    first = answer.citations[0].passage
    if first.published_at is None:
        return
    parts = _CITED_PART.findall(answer.text)
    if "\n" in answer.text or " ".join(f"{t} [{n}]" for t, n in parts) != answer.text:
        return  # not a plain run of cited sentences: leave it as the answerer made it
    kept = [(t, answer.citations[int(n) - 1]) for t, n in parts
            if answer.citations[int(n) - 1].passage.article_id == first.article_id]
    citations = [Citation(n=i, passage=c.passage, quote=c.quote) for i, (_, c) in enumerate(kept, start=1)]
    body = " ".join(f"{t} [{i}]" for i, (t, _) in enumerate(kept, start=1))
    day = first.published_at.date()
    quoted = {" ".join((c.quote or "").split()) for c in citations}
    others = [s for s in statements if s.statement.article_id != first.article_id
              and " ".join(s.statement.text.split()) not in quoted and statement_date(s) is not None]
    earlier = [s for s in others if statement_date(s) < day][-MAX_EARLIER:]  # type: ignore[operator]
    later = [s for s in others if statement_date(s) >= day][:MAX_EARLIER]  # type: ignore[operator]
    retrieved = {p.chunk_id for p in answer.retrieved}
    sections = []
    for heading, group in (("Earlier statements:", earlier), ("Later statements:", later)):
        lines = []
        for s in group:
            passage = passage_of(s.statement.chunk_id)
            if passage is None:
                continue
            n = len(citations) + 1
            citations.append(Citation(n=n, passage=passage, quote=s.statement.text))
            if passage.chunk_id not in retrieved:
                answer.retrieved.append(passage)
                retrieved.add(passage.chunk_id)
            lines.append(statement_line(s, n))
        if lines:
            sections.append("\n".join([heading, *lines]))
    if not sections and len(kept) == len(parts):
        return
    answer.text = "\n".join([body, *sections])
    answer.citations = citations
