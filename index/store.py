"""The vector store: chunks and the article manifest in Chroma (embedded on disk, or a server).

We use chromadb directly rather than LangChain's `Chroma` wrapper: the indexer needs exact control
over ids, metadata filters, batched upserts and deletes, and the same calls must work against a
`PersistentClient` and an `HttpClient`. The wrapper adds nothing we use and hides `include`/`where`.

Two collections:
- `<prefix>_chunks`: one record per passage (our own embedding, the passage text, its metadata).
- `<prefix>_articles`: the manifest, one record per *committed* article: its content hash and the
  ids of its chunks. A chunk is live only if its article's manifest record lists it.

Write order makes every step crash-safe: chunks first, then the manifest record (the commit
point), then the deletion of chunks no longer listed. Readers only trust chunk ids listed in the
manifest, so a question asked mid-reindex never sees an article half old and half new, and a
crash leaves at worst unlisted chunks, which the next run deletes.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from index.errors import BackendUnavailable
from index.models import Chunk

_T = TypeVar("_T")

log = logging.getLogger(__name__)

MANIFEST_VECTOR = [1.0]  # manifest records are never searched; Chroma still wants a vector
_BATCH = 1000


class StoreError(BackendUnavailable):
    """The store could not be opened or reached; the message says where and what to do."""


DEFAULT_CHROMA_TIMEOUT = 30.0
_FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"))  # kernel views; /dev/shm is a fine place for data


def one_line(exc: BaseException) -> str:
    """`Type: message` of an exception on one line (chromadb and SQLite messages may span several)."""
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def writable_data_dir(data_dir: Path | str) -> Path:
    """Make sure `data_dir` (NEWSBOT_DATA_DIR) is a folder this process can write, creating it if needed.

    Raises `StoreError` naming the path when it is a file, sits under /proc or /sys, cannot
    be created, or refuses a test file (read-only mount, permissions). Called before the embedded
    store, its lock files or the caches are opened, so no command gets as far as a traceback.
    """
    path = Path(data_dir)
    resolved = path.expanduser().resolve()
    for root in _FORBIDDEN_ROOTS:
        if resolved == root or root in resolved.parents:
            raise StoreError(f"NEWSBOT_DATA_DIR {str(path)!r} is under {root}, which is not a place for data")
    if resolved.exists() and not resolved.is_dir():
        raise StoreError(f"NEWSBOT_DATA_DIR {str(path)!r} is not a folder (a file is in the way)")
    try:
        resolved.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or one_line(exc)
        raise StoreError(f"cannot create NEWSBOT_DATA_DIR {str(path)!r}: {reason}") from None
    probe = resolved / f".newsbot-write-test-{os.getpid()}"
    try:
        with probe.open("wb") as handle:
            handle.write(b"ok")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or one_line(exc)
        raise StoreError(f"NEWSBOT_DATA_DIR {str(path)!r} is not writable: {reason}") from None
    return path


def disk_full(exc: BaseException) -> bool:
    """True for a write that failed for lack of space: a full disk, a quota, or the file size limit.

    SQLite reports a full disk as "database or disk is full" but a file size limit (EFBIG) as a
    "disk I/O error" (code 778), and chromadb passes either on inside its own error's text.
    """
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(
        marker in text
        for marker in ("disk is full", "no space left", "file too large", "quota exceeded", "disk i/o error")
    )


def disk_full_message(where: str | Path, exc: BaseException) -> str:
    """What to tell the user when a write failed under `where` for lack of space."""
    return (
        f"could not write under {where}, is the disk full? ({one_line(exc)}); free some space and "
        "try again (`newsbot index` repairs an interrupted reindex)"
    )


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A committed article in the manifest."""

    article_id: str
    content_hash: str
    chunk_ids: tuple[str, ...]
    title: str
    source: str | None
    published_at: datetime | None
    url: str | None
    path: str | None
    duplicate_of: str | None = None  # a near-copy of that article: no chunks of its own (index/dedup.py)
    signature: str | None = None  # the body's MinHash signature (index.dedup.encode), reused while unchanged

    def to_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "content_hash": self.content_hash,
            "chunk_ids": json.dumps(list(self.chunk_ids)),
            "title": self.title,
        }
        _put(meta, "source", self.source)
        _put(meta, "url", self.url)
        _put(meta, "path", self.path)
        # Always written ("" for none): an upsert merges metadata, so a key left out would keep its old value.
        meta["duplicate_of"] = self.duplicate_of or ""
        meta["signature"] = self.signature or ""
        if self.published_at:
            meta["published_at"] = self.published_at.isoformat()
        return meta

    @classmethod
    def from_metadata(cls, article_id: str, meta: dict[str, Any]) -> ArticleRecord:
        return cls(
            article_id=article_id,
            content_hash=str(meta.get("content_hash", "")),
            chunk_ids=tuple(json.loads(meta.get("chunk_ids") or "[]")),
            title=str(meta.get("title", "")),
            source=meta.get("source"),
            published_at=_parse_dt(meta.get("published_at")),
            url=meta.get("url"),
            path=meta.get("path"),
            duplicate_of=meta.get("duplicate_of") or None,
            signature=meta.get("signature") or None,
        )


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as read back from the store."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    title: str
    source: str | None
    published_at: datetime | None
    url: str | None
    authors: tuple[str, ...]


def chunk_metadata(chunk: Chunk, content_hash: str) -> dict[str, Any]:
    """Flatten a chunk's metadata for Chroma (no None values; dates also as sortable numbers)."""
    meta: dict[str, Any] = {
        "article_id": chunk.article_id,
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": chunk.title,
        "content_hash": content_hash,
    }
    _put(meta, "source", chunk.source)
    _put(meta, "url", chunk.url)
    if chunk.authors:
        meta["authors"] = json.dumps(list(chunk.authors), ensure_ascii=False)
    if chunk.published_at:
        meta["published_at"] = chunk.published_at.isoformat()
        meta["published_ts"] = timestamp(chunk.published_at)
    return meta


def _unreachable(exc: BaseException) -> bool:
    """True for a failure to talk to the Chroma server at all (refused, reset, timed out)."""
    import httpx

    return isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError))


def _stale_local_store(exc: BaseException) -> bool:
    """True when the embedded store's files changed under this client (another process rebuilt it).

    chromadb 1.5 then raises InternalError, e.g. "Error creating hnsw segment reader: Nothing found
    on disk"; a fresh client reads the new files.
    """
    from chromadb.errors import InternalError

    return isinstance(exc, InternalError)


def _stale_collection(exc: BaseException) -> bool:
    """True when a cached Collection names an id the server no longer has (dropped by a rebuild)."""
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError)


class _CallGate:
    """Store calls share the client; a reopen waits until no call is in flight and holds new ones back.

    Without this, a reader that reopened the client (closing chromadb's shared state for the
    folder) would pull it from under the other threads of the process: the bot's in-process
    reindex, or other questions. Re-entrant per thread: a call made from inside another call
    (`bump_generation` → `generation`) passes even while a reopen waits.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._closing = False
        self._local = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        with self._cond:
            while self._closing and depth == 0:
                self._cond.wait()
            self._active += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._closing:
                self._cond.wait()
            self._closing = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closing = False
                self._cond.notify_all()


def _reconnecting(method: Callable[..., _T]) -> Callable[..., _T]:
    """Run a store call; on a lost connection or a stale collection, re-fetch the collections and
    retry once. An embedded store whose files changed under this client (a rebuild by another
    process) is reopened before the retry, once no other call of this process is in flight. A
    failure that persists becomes a `StoreError`: a server still unreachable names host:port, an
    embedded store names its folder, a full disk says so.

    Every decorated method is idempotent (upserts, deletes by id, reads), so running it twice is
    safe. Arguments must not be one-shot iterators (the retry would see them exhausted).
    """

    @functools.wraps(method)
    def call(self: ChunkStore, *args: Any, **kwargs: Any) -> _T:
        nested = getattr(self._gate._local, "depth", 0) > 0
        with self._gate.shared():
            client = self._client
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if disk_full(exc):
                    raise StoreError(disk_full_message(self.location, exc)) from exc
                if _unreachable(exc) or _stale_collection(exc):
                    self._forget_collections()
                    stale = False
                elif self.can_reopen and _stale_local_store(exc) and not nested:
                    log.info("reopening the store at %s after %s", self.location, one_line(exc))
                    stale = True
                else:
                    raise
        if stale:
            self.reopen(stale=client)
        with self._gate.shared():
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if disk_full(exc):
                    raise StoreError(disk_full_message(self.location, exc)) from exc
                if _unreachable(exc):
                    raise StoreError(self.unreachable_message(exc)) from exc
                if self.can_reopen and _stale_local_store(exc):
                    raise StoreError(
                        f"the store at {self.location} changed while it was read (another process "
                        f"rebuilding it?): {one_line(exc)}; try again"
                    ) from exc
                raise

    return call


class ChunkStore:
    """Chunks and manifest in one Chroma client. `location` is shown in stats and errors.

    `server` is "host:port" of a Chroma server (None for an embedded store). Every call survives a
    server restart or a rebuild by another process (collections are re-fetched and the call is
    retried once); a server that stays away raises `StoreError` naming `server`.

    `data_dir` is the folder of an embedded store (where its lock files live, see index/locking.py);
    None for a Chroma server.

    `reopen` (embedded store) makes a fresh client on the same folder: another process may rebuild
    the store (`newsbot index --rebuild`), which leaves this client reading files that are gone; a
    failed call then reopens the client and is retried once (see `_reconnecting`).
    """

    def __init__(
        self,
        client: Any,
        *,
        location: str,
        prefix: str = "newsbot",
        data_dir: Path | None = None,
        server: str | None = None,
        reopen: Callable[[], Any] | None = None,
    ):
        self._client = client
        self._reopen = reopen
        self._reopen_lock = threading.Lock()
        self._gate = _CallGate()
        self.location = location
        self.data_dir = data_dir
        self._prefix = prefix
        self.server = server
        self._chunks = None
        self._articles = None

    @property
    def prefix(self) -> str:
        """The collection name prefix (NEWSBOT_COLLECTION_PREFIX)."""
        return self._prefix

    def _forget_collections(self) -> None:
        """Drop cached Collection objects; the next access fetches them (and their ids) again."""
        self._chunks = None
        self._articles = None

    @property
    def can_reopen(self) -> bool:
        """True when this store can make a fresh client (an embedded store opened by `open_store`)."""
        return self._reopen is not None

    def reopen(self, *, stale: Any = None) -> None:
        """Close the client and open a new one on the same folder (drops chromadb's cached segments).

        chromadb shares one System per folder inside a process, so the old client is closed first;
        otherwise the new one would get the same stale System back. With `stale` (the client a
        failed call used), nothing happens if another thread has already replaced that client.
        """
        if self._reopen is None:
            raise StoreError(f"the store at {self.location} cannot be reopened")
        with self._reopen_lock, self._gate.exclusive():
            if stale is not None and self._client is not stale:
                return
            old = self._client  # stays in place (closed) until the new one is open
            self._forget_collections()
            try:
                old.close()
            except Exception as exc:  # noqa: BLE001 - a client too broken to close is replaced anyway
                log.debug("closing the old store client failed: %s", one_line(exc))
            self._client = self._reopen()
            self._forget_collections()

    def unreachable_message(self, exc: BaseException) -> str:
        """What to tell the user when the store stopped answering."""
        where = (
            f"the Chroma server at {self.server} (NEWSBOT_CHROMA_HOST/NEWSBOT_CHROMA_PORT)"
            if self.server
            else f"the store at {self.location}"
        )
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return f"{where} did not answer within the timeout (NEWSBOT_CHROMA_TIMEOUT): {one_line(exc)}"
        return f"lost connection to {where}: {one_line(exc)}; is the server running?"

    # --- collections -----------------------------------------------------------------
    @property
    def chunks(self):
        if self._chunks is None:
            self._chunks = self._client.get_or_create_collection(
                f"{self._prefix}_chunks",
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}},
            )
        return self._chunks

    @property
    def articles(self):
        if self._articles is None:
            self._articles = self._client.get_or_create_collection(
                f"{self._prefix}_articles", embedding_function=None, metadata={"generation": 0}
            )
        return self._articles

    def reset(self) -> None:
        """Drop both collections (for `--rebuild` and a model/chunker change).

        The generation counter carries over, one higher: it lives in the manifest collection's
        metadata, and starting again from 0 could land on the very generation a running reader
        (or a persisted lexical index) last synced to, which would then never see the rebuild.
        """
        generation = self.generation()
        for name in (f"{self._prefix}_chunks", f"{self._prefix}_articles"):
            self._drop_collection(name)
        self._forget_collections()
        self.set_info(generation=generation + 1)

    @_reconnecting
    def _drop_collection(self, name: str) -> None:
        try:
            self._client.delete_collection(name)
        except Exception as exc:  # noqa: BLE001 - absent is fine; a lost server is not
            if _unreachable(exc):
                raise

    # --- index key and generation ------------------------------------------------------
    @_reconnecting
    def info(self) -> dict[str, Any]:
        """Collection metadata of the manifest: model, chunker, generation.

        Raises chromadb's NotFoundError when nothing was indexed yet (no manifest collection).
        """
        meta = self._client.get_collection(f"{self._prefix}_articles", embedding_function=None).metadata
        return dict(meta or {})

    @_reconnecting
    def fingerprint(self) -> tuple[int, str, str] | None:
        """(generation, manifest collection id, chunk collection id), or None when either collection
        is missing. Reads no records, only the collections' metadata.

        It changes with every committed change (the generation), a rebuild, and a collection that
        was deleted (and perhaps made again): what the indexer's no-change shortcut checks.
        """
        found = []
        for name in (f"{self._prefix}_articles", f"{self._prefix}_chunks"):
            try:
                found.append(self._client.get_collection(name, embedding_function=None))
            except Exception as exc:  # noqa: BLE001 - classified: only "no such collection" means None
                if _stale_collection(exc):
                    return None
                raise
        generation = int(dict(found[0].metadata or {}).get("generation", 0))
        return generation, str(found[0].id), str(found[1].id)

    @_reconnecting
    def set_info(self, **values: Any) -> None:
        meta = dict(self.articles.metadata or {})
        meta.update({k: v for k, v in values.items() if v is not None})
        self.articles.modify(metadata=meta)
        self._articles = None  # re-read metadata next time

    def generation(self) -> int:
        """A counter bumped after every committed change; readers compare it to refresh caches."""
        try:
            return int(self.info().get("generation", 0))
        except Exception as exc:  # noqa: BLE001 - classified: only "no manifest yet" means 0
            if _stale_collection(exc):
                return 0
            raise

    def bump_generation(self) -> int:
        gen = self.generation() + 1
        self.set_info(generation=gen)
        return gen

    # --- manifest ------------------------------------------------------------------------
    @_reconnecting
    def manifest(self) -> dict[str, ArticleRecord]:
        """All committed articles by id."""
        out: dict[str, ArticleRecord] = {}
        total = self.articles.count()
        for offset in range(0, total, _BATCH * 5):
            got = self.articles.get(include=["metadatas"], limit=_BATCH * 5, offset=offset)
            for aid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                out[aid] = ArticleRecord.from_metadata(aid, meta or {})
        return out

    @_reconnecting
    def commit_articles(self, records: Sequence[ArticleRecord]) -> None:
        """Upsert manifest records: from now on their listed chunks are live."""
        for i in range(0, len(records), _BATCH):
            part = records[i : i + _BATCH]
            self.articles.upsert(
                ids=[r.article_id for r in part],
                embeddings=[MANIFEST_VECTOR] * len(part),
                metadatas=[r.to_metadata() for r in part],
            )

    @_reconnecting
    def uncommit_articles(self, article_ids: Sequence[str]) -> None:
        """Remove manifest records: their chunks stop being live at once."""
        for i in range(0, len(article_ids), _BATCH):
            self.articles.delete(ids=list(article_ids[i : i + _BATCH]))

    # --- chunks --------------------------------------------------------------------------
    @_reconnecting
    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray, content_hashes: Sequence[str]) -> None:
        """Write chunks with their vectors (not yet live until their article is committed)."""
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i : i + _BATCH]
            self.chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + _BATCH].tolist(),
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c, h) for c, h in zip(part, content_hashes[i : i + _BATCH], strict=True)],
            )

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        """Delete chunks by id (absent ids are fine)."""
        self._delete_chunk_list(list(chunk_ids))  # a generator could not be replayed by the retry

    @_reconnecting
    def _delete_chunk_list(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self.chunks.delete(ids=ids[i : i + _BATCH])

    @_reconnecting
    def chunk_ids(self) -> set[str]:
        """Every chunk id in the store, live or not."""
        out: set[str] = set()
        total = self.chunks.count()
        for offset in range(0, total, _BATCH * 10):
            out.update(self.chunks.get(include=[], limit=_BATCH * 10, offset=offset)["ids"])
        return out

    @_reconnecting
    def count_chunks(self) -> int:
        """Chunks in the store, live or not."""
        return self.chunks.count()

    @_reconnecting
    def count_articles(self) -> int:
        """Committed articles (0 when nothing was indexed yet)."""
        return self.articles.count()

    @_reconnecting
    def get_chunks(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        found: dict[str, StoredChunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), _BATCH):
            got = self.chunks.get(ids=ids[i : i + _BATCH], include=["documents", "metadatas"])
            for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False):
                found[cid] = _stored_chunk(cid, doc or "", meta or {})
        return [found[c] for c in ids if c in found]

    @_reconnecting
    def query(self, vector: np.ndarray, k: int, filters: ChunkFilter | None = None) -> list[tuple[str, float]]:
        """Nearest chunks as (chunk id, cosine similarity), best first, among those `filters` admit."""
        where = chroma_where(filters) if filters is not None else None
        total = self.chunks.count()
        if total == 0:
            return []
        got = self.chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
            n_results=min(k, total),
            where=where or None,
            include=["distances"],
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]


@dataclass(frozen=True, slots=True)
class ChunkFilter:
    """Which chunks a query may return: outlets (stored spellings; empty = any) and a publication range.

    `since_ts` / `until_ts` are inclusive UTC epoch seconds (None: unbounded).
    """

    sources: tuple[str, ...] = ()
    since_ts: int | None = None
    until_ts: int | None = None


def chroma_where(filters: ChunkFilter) -> dict[str, Any] | None:
    """The Chroma `where` on chunk metadata (`source`, `published_ts`) for `filters`, or None."""
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.since_ts is not None:
        clauses.append({"published_ts": {"$gte": filters.since_ts}})
    if filters.until_ts is not None:
        clauses.append({"published_ts": {"$lte": filters.until_ts}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def open_store(
    *,
    data_dir: str | None = None,
    host: str | None = None,
    port: int | None = None,
    prefix: str = "newsbot",
    timeout: float = DEFAULT_CHROMA_TIMEOUT,
) -> ChunkStore:
    """Open the embedded on-disk store under `data_dir`, or a Chroma server when `host` is set.

    `timeout` (seconds, NEWSBOT_CHROMA_TIMEOUT) bounds every request to a Chroma server: a server
    that accepts the connection and never answers ends the call with `StoreError` instead of
    blocking it forever. A heartbeat with that timeout is sent before chromadb's client is made,
    because its constructor already talks to the server (and would wait without a timeout).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        server = f"{host}:{port or 8000}"
        location = f"chroma server http://{server}"
        try:
            _probe_server(host, port or 8000, timeout)
            client = chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
            _set_http_timeout(client, timeout)
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {server} "
                f"(NEWSBOT_CHROMA_HOST/NEWSBOT_CHROMA_PORT): {_describe_transport(exc, timeout)}"
            ) from exc
        return ChunkStore(client, location=location, prefix=prefix, server=server)
    if not data_dir:
        raise StoreError("NEWSBOT_DATA_DIR is empty: the embedded store needs a folder")
    writable_data_dir(data_dir)
    path = Path(data_dir) / "chroma"

    def connect() -> Any:
        try:
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:  # noqa: BLE001 - any failure to open is one line naming the folder
            if disk_full(exc):
                raise StoreError(disk_full_message(path, exc)) from exc
            raise StoreError(f"cannot open the store at {path}: {one_line(exc)}") from exc

    return ChunkStore(connect(), location=str(path), prefix=prefix, data_dir=Path(data_dir), reopen=connect)


def _probe_server(host: str, port: int, timeout: float) -> None:
    """One heartbeat with a deadline; raises httpx's error (or HTTPStatusError) when it fails."""
    import httpx

    httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=timeout).raise_for_status()


def _set_http_timeout(client: Any, timeout: float) -> None:
    """Give chromadb's HTTP session a timeout (chromadb 1.5 makes it with `timeout=None`, no setting)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise StoreError(
            "this chromadb version's HTTP client has no session to set NEWSBOT_CHROMA_TIMEOUT on; "
            "use chromadb 1.5"
        )
    session.timeout = httpx.Timeout(timeout)


def _describe_transport(exc: BaseException, timeout: float) -> str:
    """One line for a failed request; a timeout says how long we waited and which setting sets it."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s (NEWSBOT_CHROMA_TIMEOUT); is the server hung?"
    return one_line(exc)


def timestamp(value: datetime) -> int:
    """Epoch seconds; a naive datetime (time zone unknown) is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def _put(meta: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        meta[key] = value


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _stored_chunk(cid: str, doc: str, meta: dict[str, Any]) -> StoredChunk:
    authors = meta.get("authors")
    return StoredChunk(
        id=cid,
        article_id=str(meta.get("article_id", "")),
        index=int(meta.get("index", 0)),
        text=doc,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        title=str(meta.get("title", "")),
        source=meta.get("source"),
        published_at=_parse_dt(meta.get("published_at")),
        url=meta.get("url"),
        authors=tuple(json.loads(authors)) if authors else (),
    )
