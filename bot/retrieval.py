"""Hybrid retrieval: dense (Chroma) + lexical (FTS5 BM25), fused, boosted, diversified.

Scoring of one candidate passage, in order:

1. Reciprocal rank fusion of the two rankings:
   `rrf = dense_weight / (rrf_k + dense_rank) + lexical_weight / (rrf_k + lexical_rank)`
   (a ranker that did not return the passage contributes nothing). RRF needs no score
   calibration between cosine similarities and BM25 values.
2. Coverage bonus: `× (1 + coverage_alpha · coverage)`, where `coverage` ∈ [0, 1] is the weighted
   fraction of the question's terms present in the passage. Terms are the names found in the
   question (weight `name_weight`) and the other content words (weight 1); a term found only in
   the article title counts `title_credit`. Matching goes through the FTS tokenizer (stemming),
   so "passports" matches "passport". This is what makes "What did Lammy say about passports?"
   prefer the passage with both Lammy *and* passports over passages with only one of them, which
   either ranker alone may rank higher.
3. Recency (only with `filters.as_of`): `× r(age)` where age is days between the passage's date
   and the end of the as-of day: `r = floor + (1 - floor) · 0.5^(age / half_life)` for coverage
   on or before as_of (up to `future_grace_days` after it counts as age 0); later coverage gets
   `future_penalty · r(days after)`; undated passages get `r(half_life)`, i.e. treated as
   neither fresh nor stale.

Then at most `max_per_article` passages per article are kept, filling the k slots from the fused
ranking. A passage is only ever returned if it is live: listed by its article's manifest record
as of the lexical index's synced generation (see index/store.py on the write order).
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from bot.answer import Copy, Passage
from bot.core import Filters
from index.embedder import Embedder
from index.lexical import LexicalIndex, SyncStats
from index.store import ChunkFilter, ChunkStore, StoredChunk
from index.text import QueryTerms, analyse_query

_DAY = 86400.0


@dataclass(slots=True)
class RetrievalResult:
    """Ranked passages (best first), per-stage timings and the candidate pool size.

    `timings` (ms): "embed", "dense", "lexical", "fetch" (reading candidate chunks from the
    store), "fuse" (RRF, coverage, recency, diversity), plus "sync" when this query triggered a
    lexical sync. `candidates`: distinct live passages the two rankers proposed.
    """

    passages: list[Passage]
    timings: dict[str, float] = field(default_factory=dict)
    candidates: int = 0


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """The retriever's tuning knobs (the module docstring says how each enters the score).

    - `dense_weight`, `lexical_weight`: RRF weights of the two rankers.
    - `rrf_k`: the RRF rank offset (the usual value from Cormack et al.).
    - `fetch_k`: candidates asked from each ranker (at least 4·k).
    - `coverage_alpha`: strength of the term-coverage bonus; 0 disables it.
    - `name_weight`: weight of a name relative to another content word in coverage.
    - `title_credit`: credit for a term found only in the article title.
    - `max_per_article`: diversity cap in the final k.
    - `recency_half_life_days`, `recency_floor`, `future_grace_days`, `future_penalty`: the
      as-of recency multiplier.
    - `article_support`: per-article multiplier from the article's other candidate passages.

    The defaults were tuned on the RealTimeQA 2022 dev questions against the whole 3,698-article
    corpus (docs/benchmarks.md); each one was kept only where it raised MRR@10 there.
    """

    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: int = 60
    fetch_k: int = 100
    coverage_alpha: float = 1.0
    name_weight: float = 2.0
    title_credit: float = 0.5
    max_per_article: int = 2
    recency_half_life_days: float = 14.0
    recency_floor: float = 0.05
    future_grace_days: float = 0.0
    future_penalty: float = 0.1
    article_support: float = 1.0


class Retrieval(ABC):
    """What the core needs from retrieval: ranked live passages, one passage by id, keeping in step."""

    @abstractmethod
    def retrieve(self, query: str, *, k: int = 8, filters: Filters | None = None) -> RetrievalResult:
        """The k best live passages for `query` under `filters`, best first."""

    @abstractmethod
    def passage(self, chunk_id: str) -> Passage | None:
        """One live passage by chunk id, or None if it is gone."""

    @abstractmethod
    def refresh(self, *, force: bool = False) -> SyncStats | None:
        """Bring side indexes in step with the store (cheap when nothing changed)."""


class _Stopwatch:
    """Accumulates milliseconds per named stage: `with watch("dense"): ...`."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + _ms(started)


class Retriever(Retrieval):
    """Hybrid retriever over a `ChunkStore` and its `LexicalIndex`, tuned by a `RetrievalConfig`.

    `refresh_seconds` (10.0): how often to check the store generation; 0 checks on every query.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        lexical: LexicalIndex,
        config: RetrievalConfig = RetrievalConfig(),
        *,
        refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._embedder = embedder
        self._lexical = lexical
        self.config = config
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last_check: float | None = None
        self._seen_generation: int | None = None
        self._live: frozenset[str] = frozenset()
        self._copies: dict[str, tuple[Copy, ...]] = {}  # original article id → its near-copies

    # --- keeping in step -----------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> SyncStats | None:
        """Sync the lexical index and the live-id snapshot if the store generation changed.

        Checks at most every `refresh_seconds`; `force` checks now even if the generation looks
        unchanged (the lexical index still skips work if it is already at that generation).
        Returns the sync stats when a sync was attempted, else None.

        The snapshot (live chunk ids, near-copies: a read of the whole manifest) is loaded or
        reloaded whenever the lexical index is synced, except by a forced refresh that found the
        lexical index already in step while no snapshot is loaded yet: that one is left to the
        first retrieval, so `newsbot index` with nothing to do does not read the manifest.
        """
        with self._lock:
            now = self._clock()
            loaded = self._seen_generation is not None
            if (
                loaded and not force and self._last_check is not None
                and now - self._last_check < self.refresh_seconds
            ):
                return None
            generation = self._store.generation()
            if loaded and not force and generation == self._seen_generation:
                self._last_check = now
                return None
            stats = self._lexical.sync(self._store)
            if loaded or not force or not stats.skipped:
                self._live = frozenset(self._lexical.live_chunk_ids())
                self._copies = copies_by_original(self._store)
                self._seen_generation = stats.generation
                self._last_check = now
            return stats

    # --- retrieval -----------------------------------------------------------------------------
    def retrieve(self, query: str, *, k: int = 8, filters: Filters | None = None) -> RetrievalResult:
        """The k best live passages for `query` under `filters` (see the module docstring)."""
        watch = _Stopwatch()
        t = time.perf_counter()
        if self.refresh() is not None:
            watch.timings["sync"] = _ms(t)
        live = self._live
        filters = filters or Filters()
        if not query.strip() or k <= 0:
            return RetrievalResult([], watch.timings, 0)

        source_values: list[str] | None = None
        if filters.source:
            source_values = self._lexical.sources_named(filters.source)
            if not source_values:
                return RetrievalResult([], watch.timings, 0)
        since_ts, until_ts = date_bounds(filters.since, filters.until)
        if since_ts is not None and until_ts is not None and since_ts > until_ts:
            return RetrievalResult([], watch.timings, 0)
        cfg = self.config
        fetch = max(cfg.fetch_k, 4 * k)

        with watch("embed"):
            vector = self._embedder.embed_query(query)
        with watch("dense"):
            where = ChunkFilter(sources=tuple(source_values or ()), since_ts=since_ts, until_ts=until_ts)
            dense = [(cid, s) for cid, s in self._store.query(vector, k=fetch, filters=where) if cid in live]
        with watch("lexical"):
            found = self._lexical.search(query, fetch, source=filters.source, since_ts=since_ts, until_ts=until_ts)
            lexical = [(cid, s) for cid, s in found if cid in live]
        with watch("fuse"):
            rrf = self._fuse(dense, lexical)
        with watch("fetch"):
            chunks = {c.id: c for c in self._store.get_chunks(list(rrf))}  # drops ids deleted meanwhile
        with watch("fuse"):
            scored = self._score(chunks, rrf, query, filters)
            passages = self._diversify(scored, chunks, dict(dense), dict(lexical), k)
        return RetrievalResult(passages, watch.timings, len(chunks))

    def passage(self, chunk_id: str) -> Passage | None:
        """One live passage by chunk id (score 0), or None if it is gone or not live."""
        self.refresh()
        if chunk_id not in self._live:
            return None
        found = self._store.get_chunks([chunk_id])
        return self._with_copies(to_passage(found[0], score=0.0)) if found else None

    def _with_copies(self, passage: Passage) -> Passage:
        copies = self._copies.get(passage.article_id)
        return replace(passage, also_in=copies) if copies else passage

    # --- scoring parts -------------------------------------------------------------------------
    def _fuse(self, dense: list[tuple[str, float]], lexical: list[tuple[str, float]]) -> dict[str, float]:
        """Reciprocal rank fusion of the dense and lexical rankings (chunk id → RRF score)."""
        cfg = self.config
        rrf: dict[str, float] = {}
        for weight, ranking in ((cfg.dense_weight, dense), (cfg.lexical_weight, lexical)):
            for rank, (cid, _) in enumerate(ranking, start=1):
                rrf[cid] = rrf.get(cid, 0.0) + weight / (cfg.rrf_k + rank)
        return rrf

    def _score(
        self, chunks: dict[str, StoredChunk], rrf: dict[str, float], query: str, filters: Filters
    ) -> list[tuple[float, str]]:
        """RRF × coverage bonus × article support × recency, best first (ties by chunk id)."""
        coverage = self._coverage(list(chunks), analyse_query(query))
        alpha = self.config.coverage_alpha
        base = {cid: rrf[cid] * (1.0 + alpha * coverage.get(cid, 0.0)) for cid in chunks}
        support = self._article_support(chunks, base)
        scored: list[tuple[float, str]] = []
        for cid, chunk in chunks.items():
            score = base[cid] * support.get(chunk.article_id, 1.0)
            if filters.as_of is not None:
                score *= self.recency(chunk.published_at, filters.as_of)
            scored.append((score, cid))
        scored.sort(key=lambda sc: (-sc[0], sc[1]))
        return scored

    def _diversify(
        self,
        scored: list[tuple[float, str]],
        chunks: dict[str, StoredChunk],
        dense_score: dict[str, float],
        lexical_score: dict[str, float],
        k: int,
    ) -> list[Passage]:
        """The first k of `scored` with at most `max_per_article` passages per article."""
        passages: list[Passage] = []
        per_article: dict[str, int] = {}
        for score, cid in scored:
            chunk = chunks[cid]
            if per_article.get(chunk.article_id, 0) >= self.config.max_per_article:
                continue
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
            passages.append(self._with_copies(
                to_passage(chunk, score=score, dense_score=dense_score.get(cid), lexical_score=lexical_score.get(cid))
            ))
            if len(passages) >= k:
                break
        return passages

    def _coverage(self, chunk_ids: list[str], terms: QueryTerms) -> dict[str, float]:
        """Weighted fraction of the question's names and other content words in each passage."""
        units = [(name, self.config.name_weight) for name in terms.names] + [(w, 1.0) for w in terms.plain_words]
        total = sum(w for _, w in units)
        if not chunk_ids or total <= 0 or self.config.coverage_alpha == 0:
            return {}
        presence = self._lexical.phrase_presence(chunk_ids, [u for u, _ in units])
        out: dict[str, float] = {}
        for cid in chunk_ids:
            got = 0.0
            for unit, weight in units:
                in_text, title_only = presence[unit]
                if cid in in_text:
                    got += weight
                elif cid in title_only:
                    got += weight * self.config.title_credit
            out[cid] = got / total
        return out

    def _article_support(self, chunks: dict[str, StoredChunk], base: dict[str, float]) -> dict[str, float]:
        """Per-article multiplier `1 + article_support · (other candidates' score / best score)`, capped at 1.

        An article about the question tends to have several matching passages; a round-up that
        mentions the topic in one paragraph has one. Without this, digests ("5 things to know…")
        outrank the article the question is about.
        """
        if self.config.article_support <= 0:
            return {}
        by_article: dict[str, list[float]] = {}
        for cid, chunk in chunks.items():
            by_article.setdefault(chunk.article_id, []).append(base[cid])
        out = {}
        for aid, scores in by_article.items():
            scores.sort(reverse=True)
            rest = sum(scores[1:]) / scores[0] if scores[0] > 0 else 0.0
            out[aid] = 1.0 + self.config.article_support * min(rest, 1.0)
        return out

    def recency(self, published_at: datetime | None, as_of: date) -> float:
        """The as-of recency multiplier in (0, 1] for a passage dated `published_at`."""
        cfg = self.config
        half_life = max(cfg.recency_half_life_days, 1e-9)

        def decay(days: float) -> float:
            return cfg.recency_floor + (1.0 - cfg.recency_floor) * math.pow(0.5, max(days, 0.0) / half_life)

        if published_at is None:
            return decay(half_life)
        end_of_day = datetime.combine(as_of + timedelta(days=1), dtime.min, tzinfo=UTC)
        age = (end_of_day - _utc(published_at)).total_seconds() / _DAY  # < 0: after the as-of day
        if age >= 0:
            return decay(age)
        ahead = -age
        if ahead <= cfg.future_grace_days:
            return decay(0.0)
        return cfg.future_penalty * decay(ahead)


def to_passage(
    chunk: StoredChunk, *, score: float, dense_score: float | None = None, lexical_score: float | None = None
) -> Passage:
    """A `Passage` from a stored chunk and its scores."""
    return Passage(
        chunk_id=chunk.id,
        article_id=chunk.article_id,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        title=chunk.title,
        source=chunk.source,
        published_at=chunk.published_at,
        url=chunk.url,
        score=score,
        dense_score=dense_score,
        lexical_score=lexical_score,
        authors=chunk.authors,
    )


def copies_by_original(store: ChunkStore) -> dict[str, tuple[Copy, ...]]:
    """The manifest's near-copies grouped under their original, oldest first (index/dedup.py)."""
    grouped: dict[str, list[Copy]] = {}
    for aid, record in store.manifest().items():
        if record.duplicate_of:
            grouped.setdefault(record.duplicate_of, []).append(
                Copy(aid, record.title, record.source, record.published_at, record.url))
    return {
        original: tuple(sorted(copies, key=lambda c: (c.published_at is None,
                                                      _utc(c.published_at).timestamp() if c.published_at else 0.0,
                                                      c.article_id)))
        for original, copies in grouped.items()
    }


def date_bounds(since: date | None, until: date | None) -> tuple[int | None, int | None]:
    """Inclusive UTC epoch-second bounds for a since/until date filter."""
    since_ts = int(datetime.combine(since, dtime.min, tzinfo=UTC).timestamp()) if since else None
    until_ts = (
        int(datetime.combine(until + timedelta(days=1), dtime.min, tzinfo=UTC).timestamp()) - 1
        if until
        else None
    )
    return since_ts, until_ts


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
