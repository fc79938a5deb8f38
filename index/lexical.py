"""A BM25 lexical index (SQLite FTS5) derived from the store and kept in step by its generation.

The store (Chroma) is the source of truth; this index is a disposable projection of its *live*
chunks (those listed by their article's manifest record). `sync(store)` compares the manifest
with the articles recorded here and applies only the difference, in one SQLite transaction, so a
reader never sees an article half old and half new. It is a file under the data dir in local mode
and `:memory:` (rebuilt on start) when the store is a Chroma server.

Tables:
- `fts`: FTS5 over (chunk_id UNINDEXED, article_id UNINDEXED, title, text); its rowid is
  `chunk_rows.row`, which lets us delete an article's rows by rowid instead of scanning.
- `chunk_rows`: chunk id ↔ FTS rowid ↔ article id (indexed by article for deletes).
- `articles`: article id, content hash, a key of its chunk ids, published_ts (UTC epoch seconds)
  and source (plus its case-folded form for filters).
- `statements`: the statement index (index/statements.py): each attributed sentence of an
  article with its speaker, roles, reporting verb, chunk offsets, outlet and date; written and
  deleted with its article's rows, so it is always in step with the chunks.
- `meta`: the store generation this index was synced to, and the schema version.

Questions are analysed by `index.text.analyse_query` (content words and names), the same analysis
the answerer and the retriever's coverage bonus use; every word and name is quoted as an FTS5
phrase, so the FTS tokenizer splits and stems it exactly as it did the documents.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from index.statements import ChunkLike, Statement, StoredStatement, article_statements
from index.store import StoreError, disk_full, disk_full_message, timestamp
from index.text import QueryTerms, analyse_query

if TYPE_CHECKING:
    from index.store import ArticleRecord, ChunkStore, StoredChunk

SCHEMA_VERSION = "2"  # 2: the statements table
TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT = 2.0
TEXT_WEIGHT = 1.0
_FETCH_BATCH = 500  # chunk ids per store.get_chunks call during a sync


class LexicalError(StoreError):
    """The lexical index could not be opened (e.g. SQLite without FTS5) or written (a full disk).

    A `StoreError`, so every command ends with its one line and exit code 4.
    """


def fts_phrase(phrase: str) -> str:
    """Quote a word or phrase for an FTS5 MATCH expression (no query syntax can leak through)."""
    return '"' + phrase.replace('"', '""') + '"'


def utc_timestamp(value: datetime | None) -> int | None:
    """Epoch seconds as the store writes `published_ts` (naive datetimes are taken as UTC)."""
    return None if value is None else timestamp(value)


def _article_filters(
    source: str | None, since_ts: int | None, until_ts: int | None
) -> tuple[list[str], list[object]]:
    """SQL conditions on the `articles` table aliased `a` (outlet, inclusive UTC epoch bounds)
    and their parameters; search and the statement queries share them."""
    where: list[str] = []
    params: list[object] = []
    if source is not None:
        where.append("a.source_key = ?")
        params.append(source_key(source) or "")
    if since_ts is not None:
        where.append("a.published_ts >= ?")
        params.append(int(since_ts))
    if until_ts is not None:
        where.append("a.published_ts <= ?")
        params.append(int(until_ts))
    return where, params


def source_key(source: str | None) -> str | None:
    """The case-insensitive form of an outlet name used by filters."""
    if source is None:
        return None
    key = source.strip().casefold()
    return key or None


@dataclass(slots=True)
class SyncStats:
    """What one `LexicalIndex.sync` did (articles counted by outcome, chunks by rows written)."""

    generation: int
    skipped: bool = False
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    missing_chunks: int = 0  # listed by the manifest but absent from the chunk collection
    statements: int = 0  # statement rows written
    seconds: float = 0.0


@dataclass(slots=True)
class SyncPlan:
    """What a sync must do: articles to drop (removed or changed) and records to (re)write."""

    to_remove: list[str] = field(default_factory=list)
    to_write: list[ArticleRecord] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


def plan_sync(known: dict[str, tuple[str, str]], manifest: dict[str, ArticleRecord]) -> SyncPlan:
    """The diff of the indexed articles (`article id → (content hash, chunks key)`) against the manifest."""
    plan = SyncPlan(to_remove=[aid for aid in known if aid not in manifest])
    plan.removed = len(plan.to_remove)
    for aid, record in manifest.items():
        mine = known.get(aid)
        if mine is None:
            plan.added += 1
            plan.to_write.append(record)
        elif mine != (record.content_hash, _chunks_key(record.chunk_ids)):
            plan.updated += 1
            plan.to_remove.append(aid)
            plan.to_write.append(record)
        else:
            plan.unchanged += 1
    return plan


class LexicalIndex:
    """SQLite FTS5 BM25 index over the live chunks of a `ChunkStore`.

    `path=None` keeps it in memory (Chroma-server mode: nothing is written locally; the first
    sync after start fills it). Knobs: `title_weight` (2.0) and `text_weight` (1.0) are the BM25
    column weights; `coordinate` (True) ranks by coordination level before BM25 (see `search`).
    One connection guarded by a lock: a search that arrives during a sync waits for it; syncs
    after the first are incremental and short.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        title_weight: float = TITLE_WEIGHT,
        text_weight: float = TEXT_WEIGHT,
        coordinate: bool = True,
    ):
        self.path = str(path) if path is not None else None
        self.title_weight = title_weight
        self.text_weight = text_weight
        self.coordinate = coordinate
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        where = self.path or ":memory:"
        try:
            self._db = sqlite3.connect(where, check_same_thread=False, isolation_level=None, timeout=30.0)
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            if disk_full(exc):
                raise LexicalError(disk_full_message(where, exc)) from exc
            reason = " ".join(str(exc).split())
            raise LexicalError(f"cannot open the lexical index at {where}: {reason}") from exc
        self._ensure_schema()

    # --- schema ------------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is not None and row[0] != SCHEMA_VERSION:
                    self._drop_all()
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5("
                    f"chunk_id UNINDEXED, article_id UNINDEXED, title, text, tokenize='{TOKENIZER}')"
                )
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS chunk_rows ("
                    "row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, article_id TEXT NOT NULL)"
                )
                self._db.execute("CREATE INDEX IF NOT EXISTS chunk_rows_article ON chunk_rows(article_id)")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS articles ("
                    "article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, chunks_key TEXT NOT NULL, "
                    "published_ts INTEGER, source TEXT, source_key TEXT)"
                )
                self._db.execute("CREATE INDEX IF NOT EXISTS articles_source ON articles(source_key)")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS statements ("
                    "id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, chunk_id TEXT NOT NULL, "
                    "start INTEGER NOT NULL, end INTEGER NOT NULL, position INTEGER NOT NULL, "
                    "speaker TEXT NOT NULL, speaker_key TEXT NOT NULL, roles TEXT NOT NULL, verb TEXT NOT NULL, "
                    "via TEXT NOT NULL, text TEXT NOT NULL, source TEXT, published_at TEXT, published_ts INTEGER, "
                    "title TEXT NOT NULL)"
                )
                self._db.execute("CREATE INDEX IF NOT EXISTS statements_speaker ON statements(speaker_key)")
                self._db.execute("CREATE INDEX IF NOT EXISTS statements_article ON statements(article_id)")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if disk_full(exc):
                    raise LexicalError(disk_full_message(self.path or ":memory:", exc)) from exc
                if "fts5" in str(exc).lower():
                    raise LexicalError(
                        f"this Python's SQLite ({sqlite3.sqlite_version}) has no FTS5 module: {exc}"
                    ) from exc
                where = self.path or ":memory:"
                raise LexicalError(f"cannot open the lexical index at {where}: {exc}") from exc

    def _drop_all(self) -> None:
        for stmt in (
            "DROP TABLE IF EXISTS fts",
            "DROP TABLE IF EXISTS chunk_rows",
            "DROP TABLE IF EXISTS articles",
            "DROP TABLE IF EXISTS statements",
            "DELETE FROM meta",
        ):
            self._db.execute(stmt)

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a write that fails for lack of space raises `LexicalError`."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if disk_full(exc):
                raise LexicalError(disk_full_message(self.path or ":memory:", exc)) from exc
            raise

    # --- state -------------------------------------------------------------------------------
    def synced_generation(self) -> int | None:
        """The store generation the index was last synced to (None: never synced)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else None

    def article_count(self) -> int:
        """Articles in the index."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def chunk_count(self) -> int:
        """Chunks (FTS rows) in the index."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM chunk_rows").fetchone()[0])

    def live_chunk_ids(self) -> set[str]:
        """Ids of every indexed chunk: the live chunks as of the synced generation."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT chunk_id FROM chunk_rows")}

    def sources_named(self, source: str) -> list[str]:
        """The stored spellings of an outlet name, matched case-insensitively (for Chroma filters)."""
        key = source_key(source)
        if key is None:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT source FROM articles WHERE source_key = ? ORDER BY source", (key,)
            ).fetchall()
        return [r[0] for r in rows]

    # --- sync --------------------------------------------------------------------------------
    def sync(self, store: ChunkStore, *, force: bool = False) -> SyncStats:
        """Bring the index in step with the store's manifest, in one transaction.

        Skipped when the store's generation equals the synced one (unless `force`). Only articles
        whose content hash or chunk list changed are touched; their chunks are fetched from the
        store in batches, so memory stays bounded by one batch, not by the corpus. Safe when
        several processes share the file (a reader and `newsbot index`): the diff is taken inside
        the write transaction, so a second syncer waits and then finds nothing left to do.
        """
        started = time.perf_counter()
        # Read the generation before the manifest: a commit landing in between makes us record
        # an older generation than what we saw, so the next check syncs again (never the reverse).
        generation = store.generation()
        with self._lock:
            if not force and self.synced_generation() == generation:
                return SyncStats(generation=generation, skipped=True, seconds=time.perf_counter() - started)
            manifest = store.manifest()
            with self._transaction() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                if not force and row is not None and int(row[0]) == generation:  # another process synced
                    return SyncStats(generation=generation, skipped=True, seconds=time.perf_counter() - started)
                known = {
                    aid: (content_hash, chunks_key)
                    for aid, content_hash, chunks_key in db.execute(
                        "SELECT article_id, content_hash, chunks_key FROM articles"
                    )
                }
                plan = plan_sync(known, manifest)
                stats = SyncStats(
                    generation=generation,
                    added=plan.added,
                    updated=plan.updated,
                    removed=plan.removed,
                    unchanged=plan.unchanged,
                )
                self._apply(db, store, plan, stats)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
        stats.seconds = time.perf_counter() - started
        return stats

    def add_stored(self, written: Sequence[tuple[ArticleRecord, Sequence[ChunkLike]]]) -> SyncStats:
        """Index articles the indexer has just committed to the store, with the chunks it wrote.

        Called on the indexer's writer thread after each batch (`Indexer(on_stored=...)`), so the
        FTS rows and statements are built while the next batch embeds and the sync after the run
        finds these articles unchanged. The rows are those `sync` would write. An article already
        indexed with the same content hash and chunk list (another process synced it first) is
        left alone. The synced generation is not touched: only `sync` records one.
        """
        started = time.perf_counter()
        stats = SyncStats(generation=-1)  # no generation is recorded here
        if not written:
            return stats
        with self._lock, self._transaction() as db:
            ids = [record.article_id for record, _ in written]
            known: dict[str, tuple[str, str]] = {}
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                marks = ",".join("?" * len(part))
                for aid, content_hash, chunks_key in db.execute(
                    f"SELECT article_id, content_hash, chunks_key FROM articles WHERE article_id IN ({marks})", part
                ):
                    known[aid] = (content_hash, chunks_key)
            for record, chunks in written:
                mine = known.get(record.article_id)
                if mine == (record.content_hash, _chunks_key(record.chunk_ids)):
                    stats.unchanged += 1
                    continue
                if mine is None:
                    stats.added += 1
                else:
                    stats.updated += 1
                    stats.chunks_removed += self._delete_article(db, record.article_id)
                self._insert_article(db, record)
                stats.statements += self._insert_statements(db, record, chunks)
                for chunk in chunks:
                    stats.chunks_added += self._insert_chunk(db, record, chunk)
                known[record.article_id] = (record.content_hash, _chunks_key(record.chunk_ids))
        stats.seconds = time.perf_counter() - started
        return stats

    def _apply(self, db: sqlite3.Connection, store: ChunkStore, plan: SyncPlan, stats: SyncStats) -> None:
        """Carry out `plan` inside the open transaction, counting chunk rows into `stats`."""
        for aid in plan.to_remove:
            stats.chunks_removed += self._delete_article(db, aid)
        for record in plan.to_write:
            self._insert_article(db, record)
        incomplete: set[str] = set()
        # An article's statements are extracted once all its chunks were read (a batch may end
        # inside an article); only articles that straddle a batch are held.
        waiting: dict[str, dict[str, StoredChunk]] = {}
        expected = {r.article_id: len(set(r.chunk_ids)) for r in plan.to_write}
        for chunk_ids, record_of in _batches(plan.to_write):
            found = store.get_chunks(chunk_ids)
            stats.missing_chunks += len(chunk_ids) - len(found)
            got = {c.id for c in found}
            incomplete.update(record_of[cid].article_id for cid in chunk_ids if cid not in got)
            for cid in chunk_ids:
                if cid not in got:
                    expected[record_of[cid].article_id] -= 1
            for chunk in found:
                record = record_of[chunk.id]
                held = waiting.setdefault(record.article_id, {})
                held[chunk.id] = chunk
                if len(held) >= expected[record.article_id]:
                    stats.statements += self._insert_statements(db, record, list(waiting.pop(record.article_id).values()))
                stats.chunks_added += self._insert_chunk(db, record, chunk)
        by_id = {r.article_id: r for r in plan.to_write}
        for aid, held in waiting.items():  # a chunk id shared with another article, read once
            stats.statements += self._insert_statements(db, by_id[aid], list(held.values()))
        # An article whose listed chunks were missing is re-read at the next sync (a repair run
        # rewrites the same ids and manifest record, which would otherwise look unchanged).
        db.executemany(
            "UPDATE articles SET chunks_key = 'incomplete' WHERE article_id = ?", [(a,) for a in incomplete]
        )

    @staticmethod
    def _insert_chunk(db: sqlite3.Connection, record: ArticleRecord, chunk: ChunkLike) -> int:
        """Write one chunk's FTS row; returns 1, or 0 when that chunk id is already indexed."""
        cur = db.execute(
            "INSERT OR IGNORE INTO chunk_rows (chunk_id, article_id) VALUES (?, ?)",
            (chunk.id, record.article_id),
        )
        if cur.rowcount != 1:
            return 0  # the same chunk id listed twice: index it once
        db.execute(
            "INSERT INTO fts (rowid, chunk_id, article_id, title, text) VALUES (?, ?, ?, ?, ?)",
            (cur.lastrowid, chunk.id, record.article_id, chunk.title or record.title, chunk.text),
        )
        return 1

    @staticmethod
    def _insert_statements(db: sqlite3.Connection, record: ArticleRecord, chunks: Sequence[ChunkLike]) -> int:
        """Extract and write one article's statements; returns how many."""
        found = article_statements(chunks)
        published = record.published_at.isoformat() if record.published_at else None
        db.executemany(
            "INSERT INTO statements (article_id, chunk_id, start, end, position, speaker, speaker_key, roles, "
            "verb, via, text, source, published_at, published_ts, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (s.article_id, s.chunk_id, s.start, s.end, s.position, s.speaker, s.speaker_key, "|".join(s.roles),
                 s.verb, s.via, s.text, record.source, published, utc_timestamp(record.published_at),
                 record.title or "")
                for s in found
            ],
        )
        return len(found)

    @staticmethod
    def _delete_article(db: sqlite3.Connection, article_id: str) -> int:
        rows = db.execute(
            "DELETE FROM fts WHERE rowid IN (SELECT row FROM chunk_rows WHERE article_id = ?)", (article_id,)
        )
        removed = rows.rowcount
        db.execute("DELETE FROM chunk_rows WHERE article_id = ?", (article_id,))
        db.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))
        db.execute("DELETE FROM statements WHERE article_id = ?", (article_id,))
        return max(removed, 0)

    @staticmethod
    def _insert_article(db: sqlite3.Connection, record: ArticleRecord) -> None:
        db.execute(
            "INSERT INTO articles (article_id, content_hash, chunks_key, published_ts, source, source_key) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.article_id,
                record.content_hash,
                _chunks_key(record.chunk_ids),
                utc_timestamp(record.published_at),
                record.source,
                source_key(record.source),
            ),
        )

    # --- statements --------------------------------------------------------------------------
    def statement_count(self) -> int:
        """Statement rows in the index."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM statements").fetchone()[0])

    def speaker_names(self, speaker_key: str) -> dict[str, int]:
        """Canonical speaker names with the surname lemma `speaker_key` → statement counts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT speaker, count(*) FROM statements WHERE speaker_key = ? GROUP BY speaker", (speaker_key,)
            ).fetchall()
        return {name: int(n) for name, n in rows}

    def speakers_with_role(self, wanted: frozenset[str]) -> dict[tuple[str, str], int]:
        """(speaker, surname lemma) → statement counts, for speakers given a role that has all the
        lemmas `wanted` (see `index.text.role_keys`)."""
        out: dict[tuple[str, str], int] = {}
        if not wanted:
            return out
        with self._lock:
            rows = self._db.execute(
                "SELECT speaker, speaker_key, roles, count(*) FROM statements WHERE roles != '' "
                "GROUP BY speaker, speaker_key, roles"
            ).fetchall()
        for speaker, key, roles, n in rows:
            if any(wanted <= set(role.split()) for role in roles.split("|")):
                out[(speaker, key)] = out.get((speaker, key), 0) + int(n)
        return out

    def statement_sources(self) -> list[str]:
        """The outlets of the statements, by name."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT source FROM statements WHERE source IS NOT NULL ORDER BY source")
            return [r[0] for r in rows]

    def top_speakers(self, limit: int = 10) -> list[tuple[str, int]]:
        """The speakers with the most statements, most first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT speaker, count(*) AS n FROM statements GROUP BY speaker ORDER BY n DESC, speaker LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [(name, int(n)) for name, n in rows]

    def statements(
        self,
        speaker_key: str,
        *,
        speaker: str | None = None,
        topic: str | None = None,
        source: str | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[StoredStatement]:
        """The statements of a speaker (surname lemma `speaker_key`, and exactly the canonical name
        `speaker` when given), oldest first (undated last), then in article order.

        `topic`: only statements whose passage (chunk text and article title) has every content
        word of it, matched by the FTS tokenizer as search does. `source` is matched
        case-insensitively; dates are inclusive UTC epoch bounds.
        """
        where = ["s.speaker_key = ?"]
        params: list[object] = [speaker_key]
        if speaker is not None:
            where.append("s.speaker = ?")
            params.append(speaker)
        if topic:
            terms = analyse_query(topic)
            if not terms.empty:
                match = " AND ".join(fts_phrase(w) for w in terms.words)
                where.append("s.chunk_id IN (SELECT chunk_id FROM fts WHERE fts MATCH ?)")
                params.append(match)
        filters, filter_params = _article_filters(source, since_ts, until_ts)
        if filters:
            where.append(f"s.article_id IN (SELECT a.article_id FROM articles a WHERE {' AND '.join(filters)})")
            params.extend(filter_params)
        sql = (
            "SELECT article_id, chunk_id, start, end, text, speaker, speaker_key, roles, verb, via, position, "
            f"source, published_at, published_ts, title FROM statements s WHERE {' AND '.join(where)} "
            "ORDER BY s.published_ts IS NULL, s.published_ts, s.article_id, s.position"
        )
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            StoredStatement(
                Statement(aid, cid, start, end, text, spk, key, tuple(r for r in roles.split("|") if r), verb, via, pos),
                source=src,
                published_at=pub,
                published_ts=ts,
                title=title,
            )
            for aid, cid, start, end, text, spk, key, roles, verb, via, pos, src, pub, ts, title in rows
        ]

    # --- search ------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int,
        *,
        source: str | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[tuple[str, float]]:
        """BM25 search: (chunk id, score) best first; the score is -bm25, higher is better.

        Coordination levels first, BM25 within a level (with `coordinate`, the default): passages
        with every query term, then passages with every name and some other term, then passages
        with any term. Plain BM25 over OR-ed terms lets a passage that repeats one common term
        ("passports" three times, "Passport" in the title) beat the one passage that has both the
        name and the topic asked about; short questions are exactly where that hurts.

        Every word and name phrase is quoted, so user text can never inject FTS syntax. Filters:
        `source` case-insensitive exact outlet; `since_ts` / `until_ts` inclusive UTC epoch bounds
        on the article's date (undated articles never match a date filter).
        """
        terms = analyse_query(query)
        if terms.empty or k <= 0:
            return []
        where, params = _article_filters(source, since_ts, until_ts)
        join = " JOIN articles a ON a.article_id = fts.article_id" if where else ""
        # `rank MATCH` + `ORDER BY rank` lets FTS5 sort internally (faster than ORDER BY bm25()).
        sql = (
            f"SELECT fts.chunk_id, fts.rank FROM fts{join} "
            f"WHERE {' AND '.join(['fts MATCH ?', 'fts.rank MATCH ?', *where])} ORDER BY fts.rank LIMIT ?"
        )
        ranking = f"bm25(0.0, 0.0, {float(self.title_weight)!r}, {float(self.text_weight)!r})"
        out: dict[str, float] = {}
        with self._lock:
            for match in self._match_levels(terms):
                for cid, rank in self._db.execute(sql, [match, ranking, *params, int(k)]):
                    if cid not in out:
                        out[cid] = -float(rank)
                if len(out) >= k:
                    break
        return list(out.items())[:k]

    def _match_levels(self, terms: QueryTerms) -> list[str]:
        """FTS5 MATCH expressions from the strictest coordination level to plain OR."""
        names = [fts_phrase(n) for n in terms.names]
        plain = [fts_phrase(w) for w in terms.plain_words]
        # Multi-word names also count as phrases in the OR level: "Boris Johnson" together outranks
        # "Boris" and "Johnson" apart.
        any_term = " OR ".join([fts_phrase(w) for w in terms.words] + [n for n in names if " " in n])
        if not self.coordinate:
            return [any_term]
        levels: list[str] = []
        units = names + plain
        if len(units) >= 2:
            levels.append(" AND ".join(units))
        if names and len(plain) >= 2:
            levels.append(" AND ".join(names) + " AND (" + " OR ".join(plain) + ")")
        levels.append(any_term)
        return levels

    def phrase_presence(
        self, chunk_ids: Sequence[str], phrases: Sequence[str]
    ) -> dict[str, tuple[set[str], set[str]]]:
        """For each phrase, which of `chunk_ids` contain it in their text and in their title.

        Matching goes through the FTS tokenizer (stemming, diacritics), so it agrees with search.
        Returns phrase -> (chunk ids with it in the text, chunk ids with it only in the title).
        """
        out: dict[str, tuple[set[str], set[str]]] = {p: (set(), set()) for p in phrases}
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return out
        with self._lock:
            rows = self._db.execute(
                f"SELECT row FROM chunk_rows WHERE chunk_id IN ({','.join('?' * len(ids))})", ids
            ).fetchall()
            rowids = [r[0] for r in rows]
            if not rowids:
                return out
            content = self._db.execute(
                f"SELECT chunk_id, title, text FROM fts WHERE rowid IN ({','.join('?' * len(rowids))})", rowids
            ).fetchall()
        # Matching inside a scratch FTS table of just the candidates costs what the candidates
        # cost; a MATCH on the whole index walks the doclist of every common term.
        scratch = sqlite3.connect(":memory:")
        try:
            scratch.execute(f"CREATE VIRTUAL TABLE c USING fts5(chunk_id UNINDEXED, title, text, tokenize='{TOKENIZER}')")
            scratch.executemany("INSERT INTO c VALUES (?, ?, ?)", content)
            for phrase in phrases:
                quoted = fts_phrase(phrase)
                anywhere = {r[0] for r in scratch.execute("SELECT chunk_id FROM c WHERE c MATCH ?", [quoted])}
                if not anywhere:
                    continue
                in_text = {r[0] for r in scratch.execute("SELECT chunk_id FROM c WHERE c MATCH ?", [f"text : {quoted}"])}
                out[phrase] = (in_text, anywhere - in_text)
        finally:
            scratch.close()
        return out


def _chunks_key(chunk_ids: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(sorted(chunk_ids)).encode("utf-8")).hexdigest()[:20]


def _batches(records: Sequence[ArticleRecord]) -> Iterator[tuple[list[str], dict[str, ArticleRecord]]]:
    """Chunk ids of `records` in batches of about `_FETCH_BATCH`, with each id's record."""
    ids: list[str] = []
    record_of: dict[str, ArticleRecord] = {}
    for record in records:
        for cid in record.chunk_ids:
            if cid in record_of:
                continue
            ids.append(cid)
            record_of[cid] = record
            if len(ids) >= _FETCH_BATCH:
                yield ids, record_of
                ids, record_of = [], {}
    if ids:
        yield ids, record_of
