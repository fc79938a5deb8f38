"""What the indexer remembers about the corpus between runs, beside the store (local mode only).

One SQLite file under the data dir, `corpus-<prefix>.sqlite`. Everything in it is derived:
deleting it costs one run that parses every file and reads the whole manifest, nothing else.

- `files`: a parse cache. Per corpus file (its record path): the size and SHA-256 of the bytes the
  parser read, the parser key (`parser_key`: `max_chars`, the parsers' source and the versions
  of the libraries they call), and what those bytes parsed into: Skips, and articles as
  `ArticleStub`s. A row holds for any file with those bytes, whatever happened to the store since.
- `meta` key `clean`: the state of the store as the last successful run left it: its
  fingerprint (`ChunkStore.fingerprint`: the generation and the collections' ids), model and
  chunker, a hash of the scan (every article id and content hash in corpus order), and what a
  run over the same scan reports (articles unchanged, near-copies, articles skipped at
  chunking, chunks in the store). It is deleted before a run writes to the store, so a run that
  is killed or fails leaves none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import sys
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from index.models import Article, ArticleStub, Skip
from index.parsers import CachedRecord, Located
from index.store import StoreError, disk_full, disk_full_message, one_line

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
# The libraries whose behaviour is part of a parse (YAML front matter, sentence ends, HTML extraction).
_PARSER_LIBRARIES = ("PyYAML", "blingfire", "trafilatura", "lxml", "htmldate", "justext", "courlan")
_INDEX_DIR = Path(__file__).resolve().parent
_PARSER_SOURCES = ("parsers/*.py", "text.py", "models.py", "dedup.py")


class CorpusStateError(StoreError):
    """The corpus state file could not be written (a full disk): one line, exit code 4."""


@dataclass(frozen=True, slots=True)
class CleanState:
    """The store as the last successful run left it, and what a run over the same scan reports."""

    scan: str  # `scan_digest` of that run's articles
    model: str
    chunker: str
    store: tuple[int, str, str]  # `ChunkStore.fingerprint()` after the run
    chunks: int
    unchanged: int
    duplicates: int
    chunk_skips: tuple[Skip, ...] = ()  # articles with no text to index after chunking

    def to_json(self) -> str:
        fields = {
            "scan": self.scan,
            "model": self.model,
            "chunker": self.chunker,
            "store": list(self.store),
            "chunks": self.chunks,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "chunk_skips": [[s.path, s.reason, s.line] for s in self.chunk_skips],
        }
        return json.dumps(fields)  # ASCII: an id may hold a lone surrogate, which SQLite cannot store

    @classmethod
    def from_json(cls, text: str) -> CleanState | None:
        try:
            raw = json.loads(text)
            return cls(
                scan=str(raw["scan"]),
                model=str(raw["model"]),
                chunker=str(raw["chunker"]),
                store=(int(raw["store"][0]), str(raw["store"][1]), str(raw["store"][2])),
                chunks=int(raw["chunks"]),
                unchanged=int(raw["unchanged"]),
                duplicates=int(raw["duplicates"]),
                chunk_skips=tuple(Skip(str(p), str(r), line=line) for p, r, line in raw["chunk_skips"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def scan_digest(items: list[tuple[str, str]]) -> str:
    """A hash of a scan's (article id, content hash) pairs, in corpus order."""
    digest = hashlib.sha256()
    for aid, content_hash in items:
        digest.update(f"{aid}\0{content_hash}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def parser_key(max_chars: int) -> str:
    """What a parse depends on besides a file's bytes and path: `max_chars`, the parsers' source
    code, the libraries they call, and Python's Unicode tables."""
    from importlib import metadata

    head = f"{SCHEMA_VERSION}\0{max_chars}\0{sys.version_info[:2]}\0{unicodedata.unidata_version}"
    digest = hashlib.sha256(head.encode())
    for name in _PARSER_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"\0{name}={version}".encode())
    for pattern in _PARSER_SOURCES:
        for source in sorted(_INDEX_DIR.glob(pattern)):
            digest.update(b"\0" + source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:32]


class CorpusState:
    """The parse cache and the clean state in one SQLite file (see the module docstring).

    Opened at first use. A file that is not a database (or of another schema) is replaced. The
    indexer uses it only while it holds the index lock (one run at a time, from whichever
    thread runs it), so one connection, guarded by a lock, is enough.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._parser_keys: dict[int, str] = {}

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            return self._db if self._db is not None else self._reconnect()

    def _reconnect(self) -> sqlite3.Connection:
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if disk_full(exc):
                raise CorpusStateError(disk_full_message(self.path, exc)) from exc
            log.warning("replacing the corpus state file %s (%s)", self.path, one_line(exc))
            self._discard()
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as again:
                message = f"cannot open the corpus state file {self.path}: {one_line(again)}"
                raise CorpusStateError(message) from again
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a write lost with the power costs a parse
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS files")
                db.execute("DELETE FROM meta")
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, parser TEXT NOT NULL, "
                "size INTEGER NOT NULL, digest TEXT NOT NULL, records TEXT NOT NULL)"
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except BaseException:
            db.close()
            raise
        return db

    def _discard(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _write(self, statement: str, *args: Any) -> None:
        """One write; a full disk is `CorpusStateError`."""
        try:
            with self._lock:
                self._connect().execute(statement, args)
        except sqlite3.DatabaseError as exc:
            if disk_full(exc):
                raise CorpusStateError(disk_full_message(self.path, exc)) from exc
            message = f"cannot write the corpus state file {self.path}: {one_line(exc)}"
            raise CorpusStateError(message) from exc

    def _read(self, statement: str, *args: Any) -> Any:
        """One row, or None; a file that cannot be read (damaged) reads as empty, with a warning."""
        try:
            with self._lock:
                return self._connect().execute(statement, args).fetchone()
        except sqlite3.DatabaseError as exc:
            log.warning("cannot read the corpus state file %s (%s); going on without it", self.path,
                        one_line(exc))
            return None

    def close(self) -> None:
        """Close the connection (it opens again at the next use)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- the clean state -----------------------------------------------------------------------
    def clean(self) -> CleanState | None:
        """The clean state the last successful run recorded, or None."""
        row = self._read("SELECT value FROM meta WHERE key = 'clean'")
        return CleanState.from_json(row[0]) if row else None

    def forget_clean(self) -> None:
        """Delete the clean state, durably (before a run writes to the store)."""
        with self._lock:
            db = self._connect()
            db.execute("PRAGMA synchronous=FULL")
            try:
                self._write("DELETE FROM meta WHERE key = 'clean'")
            finally:
                db.execute("PRAGMA synchronous=NORMAL")

    def record_clean(self, state: CleanState) -> None:
        """Record the clean state at the end of a successful run."""
        self._write("INSERT OR REPLACE INTO meta VALUES ('clean', ?)", state.to_json())

    # --- the parse cache -----------------------------------------------------------------------
    def parse_cache(self, max_chars: int, *, reuse: bool = True) -> FileCache:
        """The parse cache for one `max_chars` and the parsers as they are now (`reuse=False`: it
        answers nothing, so every file is parsed, and records what it is given)."""
        if max_chars not in self._parser_keys:
            self._parser_keys[max_chars] = parser_key(max_chars)
        return FileCache(self, self._parser_keys[max_chars], reuse=reuse)

    def file_row(self, path: str) -> tuple[str, int, str, str] | None:
        """(parser key, size, digest, records JSON) recorded for the file at record path `path`."""
        return self._read("SELECT parser, size, digest, records FROM files WHERE path = ?", path)

    def put_file(self, path: str, parser: str, size: int, digest: str, records: str) -> None:
        """Record (or replace) the parse of the file at record path `path`."""
        self._write("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", path, parser, size, digest,
                    records)

    def forget_files(self, keep: set[str]) -> None:
        """Drop the cached parses of files whose record paths are not in `keep` (gone from the corpus)."""
        try:
            with self._lock:
                gone = [p for (p,) in self._connect().execute("SELECT path FROM files") if p not in keep]
        except sqlite3.DatabaseError as exc:
            raise CorpusStateError(f"cannot read the corpus state file {self.path}: {one_line(exc)}") from exc
        for path in gone:
            self._write("DELETE FROM files WHERE path = ?", path)


class FileCache:
    """`index.parsers.ParseCache` over the `files` table for one run, bound to one parser key.

    It also keeps what it was given this run (the `Article`s themselves), so a second scan of
    the run gets those back instead of stubs. `reparse` (record paths) and `reuse=False` (every
    file) make it answer only with what was parsed this run, so those files are parsed. `seen`
    collects the record paths looked up, so a run can drop the rows of files that left the
    corpus (`CorpusState.forget_files`).
    """

    def __init__(self, state: CorpusState, parser: str, *, reuse: bool = True):
        self._state = state
        self._parser = parser
        self.reuse = reuse
        self.reparse: set[str] = set()
        self.seen: set[str] = set()
        self._parsed: dict[str, tuple[int, str, list[Located]]] = {}
        self._hashes: dict[Article, str] = {}  # of the articles parsed this run (hashing serialises the body)

    def get(self, path: str, size: int, digest: str) -> list[Located | CachedRecord] | None:
        """The records of a file parsed before with exactly these bytes, else None."""
        self.seen.add(path)
        parsed = self._parsed.get(path)
        if parsed is not None and parsed[:2] == (size, digest):
            return list(parsed[2])
        if not self.reuse or path in self.reparse:
            return None
        row = self._state.file_row(path)
        if row is None or (row[0], row[1], row[2]) != (self._parser, size, digest):
            return None
        try:
            return [_decode(entry) for entry in json.loads(row[3])]
        except (ValueError, KeyError, TypeError, IndexError):
            return None

    def put(self, path: str, size: int, digest: str, records: list[Located]) -> None:
        """Record what a file with these bytes parsed into."""
        from index import dedup

        self.seen.add(path)
        self._parsed[path] = (size, digest, list(records))
        entries = []
        for record, line in records:
            if isinstance(record, Article):
                short = dedup.certainly_short(record.body)
                record = ArticleStub.of(record, short=short, content_hash=self.content_hash(record))
            entries.append(_encode(record, line))
        self._state.put_file(path, self._parser, size, digest, json.dumps(entries))

    def content_hash(self, article: Article) -> str:
        """`article.content_hash()`, computed once per article parsed this run."""
        known = self._hashes.get(article)
        if known is None:
            known = self._hashes[article] = article.content_hash()
        return known


def _encode(record: ArticleStub | Skip, line: int | None) -> list[Any]:
    if isinstance(record, Skip):
        return ["s", record.path, record.reason, record.line, record.unreadable, line]
    stub = record
    when = stub.published_at.isoformat() if stub.published_at else None
    return ["a", stub.id, stub.content_hash, when, stub.body_chars, stub.short, stub.path, list(stub.notes),
            line]


def _decode(entry: list[Any]) -> CachedRecord:
    if entry[0] == "s":
        _, path, reason, skip_line, unreadable, line = entry
        return Skip(path, reason, line=skip_line, unreadable=bool(unreadable)), line
    _, aid, content_hash, when, chars, short, path, notes, line = entry
    published = datetime.fromisoformat(when) if when else None
    return ArticleStub(aid, content_hash, published, int(chars), bool(short), path, tuple(notes)), line
