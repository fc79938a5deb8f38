"""Records that flow through ingestion: files become `Article`s, articles become `Chunk`s."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as parsed from the corpus.

    `id` is stable across edits of the same article: an explicit id (JSON/JSONL `id`,
    front-matter `id`) when given, otherwise derived from the file path relative to the
    corpus (plus `#L<line>` for the n-th article of a JSONL file without ids).
    """

    id: str
    title: str
    body: str
    source: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    path: str | None = None
    notes: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; a changed hash means re-embed."""
        payload = json.dumps(
            [
                self.title,
                self.body,
                self.source,
                self.published_at.isoformat() if self.published_at else None,
                self.url,
                list(self.authors),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ArticleStub:
    """An article of a corpus file whose bytes are unchanged since it was last parsed, without its text.

    What the indexer needs to recognise an unchanged article (index/corpus_state.py keeps these
    per file): `content_hash` is `Article.content_hash()` of the article it stands for,
    `body_chars` its body's length and `short` whether its body is certainly too short for a
    near-copy signature (`index.dedup.certainly_short`). An article that must be chunked or
    written again needs its file parsed.
    """

    id: str
    content_hash: str
    published_at: datetime | None
    body_chars: int
    short: bool
    path: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, article: Article, *, short: bool, content_hash: str | None = None) -> ArticleStub:
        """The stub of a parsed article (`content_hash`: its `content_hash()`, when already known)."""
        return cls(
            id=article.id,
            content_hash=content_hash or article.content_hash(),
            published_at=article.published_at,
            body_chars=len(article.body),
            short=short,
            path=article.path,
            notes=article.notes,
        )


@dataclass(frozen=True, slots=True)
class Skip:
    """A file (or one line of a JSONL file) that could not be used, and why.

    `unreadable` marks a file or folder that exists but could not be read this time (permissions,
    I/O error): the indexer keeps what it indexed from that path before instead of removing it.
    """

    path: str
    reason: str
    line: int | None = None
    unreadable: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "reason": self.reason}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of an article that can be shown as a citation: `body[start:end] == text`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    title: str
    source: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    authors: tuple[str, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class IndexReport:
    """Summary of one `newsbot index` run (counts are articles, `chunks` is the store total)."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    full_rebuild_reason: str | None = None
    repaired: int = 0
    refused: str | None = None
    duplicates: int = 0  # articles indexed as near-copies of another (their original's passages serve them)

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
            "chunks": self.chunks,
            "embedded_chunks": self.embedded_chunks,
            "seconds": round(self.seconds, 3),
            "full_rebuild_reason": self.full_rebuild_reason,
            "repaired": self.repaired,
            "refused": self.refused,
            "duplicates": self.duplicates,
        }


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """A progress tick: `phase` is "scan", "embed" or "commit"; `done`/`total` count chunks or articles."""

    phase: str
    done: int
    total: int
    message: str = ""


@dataclass(slots=True)
class IndexStats:
    """What `newsbot stats` reports."""

    articles: int
    chunks: int
    sources: dict[str, int]
    earliest: datetime | None
    latest: datetime | None
    store: str
    model: str
    chunker: str

    def to_dict(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            "sources": dict(self.sources),
            "earliest": self.earliest.isoformat() if self.earliest else None,
            "latest": self.latest.isoformat() if self.latest else None,
            "store": self.store,
            "model": self.model,
            "chunker": self.chunker,
        }
