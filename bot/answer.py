"""The answer contract shared by the core, the CLI, the REPL and the Telegram bot."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ABSTAIN_TEXT = "I couldn't find that in the coverage."
# An unexpected failure while answering one question (kind "error"); the details go to the log.
ERROR_TEXT = "Sorry, something went wrong while answering that question. It has been logged; please try again."


@dataclass(frozen=True, slots=True)
class Copy:
    """Another outlet's run of the same story: a near-duplicate article served by its original's passages."""

    article_id: str
    title: str
    source: str | None
    published_at: datetime | None
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title, "source": self.source,
                "published_at": _iso(self.published_at), "url": self.url}

    def label(self) -> str:
        """`outlet YYYY-MM-DD`, as "also in" lists it."""
        when = self.published_at.date().isoformat() if self.published_at else "undated"
        return f"{self.source or 'unknown outlet'} {when}"


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage with its rank-fusion score and the per-ranker details."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    title: str
    source: str | None
    published_at: datetime | None
    url: str | None
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    authors: tuple[str, ...] = ()
    also_in: tuple[Copy, ...] = ()  # near-copies of this passage's article (index/dedup.py), oldest first

    def article_ids(self) -> list[str]:
        """This passage's article, then its copies' (how evaluation by article id sees it)."""
        return [self.article_id, *(c.article_id for c in self.also_in)]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "chunk_id": self.chunk_id,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "published_at": _iso(self.published_at),
            "url": self.url,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "lexical_score": None if self.lexical_score is None else round(self.lexical_score, 6),
            "start": self.start,
            "end": self.end,
            "passage": self.text,
        }
        if self.also_in:
            out["also_in"] = [c.to_dict() for c in self.also_in]
        return out


@dataclass(frozen=True, slots=True)
class Citation:
    """Marker `[n]` in the answer text points at this passage."""

    n: int
    passage: Passage
    quote: str | None = None  # the sentence(s) of the passage the answer relies on, when known

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "n": self.n,
            "article_id": p.article_id,
            "chunk_id": p.chunk_id,
            "title": p.title,
            "source": p.source,
            "published_at": _iso(p.published_at),
            "url": p.url,
            "passage": p.text,
            "quote": self.quote,
            "start": p.start,
            "end": p.end,
            **({"also_in": [c.to_dict() for c in p.also_in]} if p.also_in else {}),
        }


@dataclass(slots=True)
class Answer:
    """What the core returns for one question."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    abstained: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    standalone_query: str | None = None  # the query actually searched, after follow-up resolution
    answerer: str = "extractive"
    fallback_reason: str | None = None  # set when the LLM failed and the extractive answer was used
    warnings: list[str] = field(default_factory=list)
    kind: str = "answer"  # "answer" | "chitchat" | "invalid" | "error" (the answerer failed unexpectedly)
    # The direct answer: {"text", "n", "start", "end"} — a verbatim span of citation n's quote, with
    # character offsets in that citation's passage; None when the question has no span answer.
    short_answer: dict[str, Any] | None = None
    # The reader's best candidate sentences with their features and scores (developer view).
    reader: list[dict[str, Any]] = field(default_factory=list)
    # A timeline answer's statements, one per line of the text: {speaker, published_at, source, text, n}.
    statements: list[dict[str, Any]] = field(default_factory=list)
    # What a timeline answer listed (speaker, topic, dates, outlet, the days shown), for its follow-ups.
    timeline: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [p.to_dict() for p in self.retrieved],
            "abstained": self.abstained,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "standalone_query": self.standalone_query,
            "answerer": self.answerer,
            "fallback_reason": self.fallback_reason,
            "warnings": list(self.warnings),
            "kind": self.kind,
            "short_answer": None if self.short_answer is None else dict(self.short_answer),
            "reader": [dict(r) for r in self.reader],
            **({"statements": [dict(r) for r in self.statements]} if self.timeline is not None else {}),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Answerer(ABC):
    """Writes an `Answer` from the question and the ranked passages (extractive or LLM)."""

    name = "answerer"

    @abstractmethod
    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        query: str | None = None,
        avoid: frozenset[str] = frozenset(),
    ) -> Answer:
        """`question` is what the user typed; `query` the standalone form after follow-up resolution;
        `avoid` holds sentences already given in this conversation ("What else did he say?")."""

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for (servers call this at start)."""
