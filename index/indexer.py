"""The incremental indexer: make the store match the corpus, embedding only what changed.

The manifest lives in the store itself (`ChunkStore.manifest()`), so a Chroma server holds all
state. Each run also repairs what an interrupted run left: chunks that no manifest record lists
are deleted, and articles whose listed chunks are missing are re-embedded.

With a `CorpusState` (index/corpus_state.py, local mode), two shortcuts, both derived and safe to
lose: a corpus file whose bytes were parsed before is not parsed again (its articles arrive as
`ArticleStub`s, and a stub that must be written after all has its file parsed in a second scan),
and a run whose scan equals that of the last successful run, on a store that no one wrote to
since (`ChunkStore.fingerprint`: the generation and the collections' ids), reports that nothing
changed without reading the manifest or the chunk ids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from index import dedup
from index.chunking import DEFAULT_CONFIG, ChunkerConfig, chunk_article, embedding_text
from index.embedder import Embedder
from index.models import Article, ArticleStub, Chunk, IndexProgress, IndexReport, IndexStats, Skip
from index.store import ArticleRecord, ChunkStore, timestamp

if TYPE_CHECKING:
    import numpy as np

    from index.corpus_state import CorpusState, FileCache

ProgressCallback = Callable[[IndexProgress], None]
ArticleSource = Callable[[Path], Iterable[Article | ArticleStub | Skip]]
# Scans of one run at most: with the parse cache, then parsing the files of the stubs the plan
# needs the text of, then (only if the corpus changed in between) parsing every file.
_MAX_SCANS = 3


StoredCallback = Callable[[list[tuple[ArticleRecord, list[Chunk]]]], object]
"""Receives the records and chunks of each batch once the store has committed it."""


class IndexRefused(RuntimeError):
    """The run would do something drastic (e.g. remove most articles) and was not forced."""


@dataclass(slots=True)
class _Pending:
    article: Article
    chunks: list[Chunk]
    old: ArticleRecord | None
    kind: str  # "added" | "updated" | "repaired"
    duplicate_of: str | None = None
    signature: str | None = None


@dataclass(slots=True)
class _Scan:
    """What one walk of the corpus found."""

    articles: dict[str, Article | ArticleStub] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # article id → content hash
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)  # positions in `skipped` of unreadable paths

    def digest(self) -> str:
        from index.corpus_state import scan_digest

        return scan_digest(list(self.hashes.items()))


@dataclass(slots=True)
class IndexerHooks:
    """Test seams: `after_write(n)` is called after every n-th store write (to simulate a crash)."""

    after_write: Callable[[int], None] | None = None
    writes: int = field(default=0)

    def wrote(self) -> None:
        self.writes += 1
        if self.after_write:
            self.after_write(self.writes)


class Indexer:
    """Brings a `ChunkStore` in step with a corpus folder."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        *,
        articles: ArticleSource | None = None,
        chunker: ChunkerConfig = DEFAULT_CONFIG,
        max_chars: int = 200_000,
        batch_chunks: int = 1024,
        hooks: IndexerHooks | None = None,
        state: CorpusState | None = None,
        on_stored: StoredCallback | None = None,
    ):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.max_chars = max_chars
        self.batch_chunks = batch_chunks
        self.hooks = hooks or IndexerHooks()
        # Called on the writer thread with each committed batch's records and chunks (the lexical
        # index builds its rows there, beside the embedding of the next batch); its failure ends
        # the run like a store failure, with the batches before it committed.
        self.on_stored = on_stored
        self._articles = articles
        # The corpus state describes what the corpus parsers read, so it is not used with `articles`.
        self.state = state if articles is None else None

    def _iter_articles(
        self, corpus_dir: Path, cache: FileCache | None
    ) -> Iterable[Article | ArticleStub | Skip]:
        if self._articles is not None:
            return self._articles(corpus_dir)
        from index.parsers import iter_corpus

        return iter_corpus(corpus_dir, max_chars=self.max_chars, cache=cache)

    def run(
        self,
        corpus_dir: Path,
        *,
        rebuild: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Index `corpus_dir` incrementally (or from scratch with `rebuild`); returns the report.

        Steps: scan the corpus (with a corpus state: stop here when nothing changed since the
        last successful run, see the module docstring); compare with the store (a full rebuild
        when the model or chunker changed); plan per article (`plan_writes`, pure: near-copies of
        another article get a manifest record and no chunks; stubs it needs the text of make the
        scan run again for their files); delete leftovers of an interrupted run; write in
        batches; remove what left the corpus.

        Raises `IndexRefused` when the run would remove more than half of the indexed articles
        and `force` is not set (an empty or unmounted corpus folder).
        """
        started = time.perf_counter()
        report = IndexReport()
        tick = progress or (lambda _p: None)
        if not corpus_dir.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")

        cache = self.state.parse_cache(self.max_chars, reuse=not rebuild) if self.state is not None else None
        scan = self._scan(corpus_dir, tick, cache)
        if not rebuild and (clean := self._unchanged_since_clean(scan)) is not None:
            clean.seconds = time.perf_counter() - started
            tick(IndexProgress("commit", 1, 1, "done"))
            return clean
        if self.state is not None:
            self.state.forget_clean()  # before anything is written: a run that dies leaves no clean state
        manifest = self.store.manifest()
        report.full_rebuild_reason = self._rebuild_reason(manifest, rebuild)
        if report.full_rebuild_reason:
            self.store.reset()
            manifest = {}
        stored_ids = self.store.chunk_ids()
        for attempt in range(1, _MAX_SCANS + 1):
            skipped, removed_ids = self._removals(scan, manifest, corpus_dir, force=force)
            plan = plan_writes(scan.articles, manifest, stored_ids, self.chunker, hashes=scan.hashes)
            if not plan.needs_text:
                break
            # Some unchanged files must be parsed after all (the last scan parses every file it has no
            # Article of: only a corpus that changed meanwhile gets that far).
            if cache is None:  # cannot happen: stubs come from the cache alone
                raise RuntimeError("article stubs without a parse cache")
            cache.reparse.update(scan.articles[aid].path or "" for aid in plan.needs_text)
            cache.reuse = attempt + 1 < _MAX_SCANS
            scan = self._scan(corpus_dir, tick, cache)
        if plan.needs_text:  # cannot happen: the last scan parses every file
            raise RuntimeError(f"articles still without their text after {_MAX_SCANS} scans")
        self.store.set_info(model=self.embedder.name, chunker=self.chunker.version)

        report.skipped = skipped
        report.warnings = scan.warnings
        report.unchanged += plan.unchanged
        report.duplicates = plan.duplicates
        report.skipped.extend(plan.skipped)
        self._delete_orphans(plan, report)
        if plan.records_only:
            self.store.commit_articles(plan.records_only)
            self.hooks.wrote()
        self._write(plan.pending, report, tick)
        self._remove(removed_ids, manifest, report)
        if removed_ids or plan.orphans or plan.pending or plan.records_only:
            self.store.bump_generation()

        tick(IndexProgress("commit", 1, 1, "done"))
        report.chunks = self.store.count_chunks()
        self._record_clean(scan, plan, report, cache)
        report.seconds = time.perf_counter() - started
        return report

    def _scan(self, corpus_dir: Path, tick: ProgressCallback, cache: FileCache | None) -> _Scan:
        """Walk the corpus: its articles by id (stubs for files `cache` knows), and the skips."""
        scan = _Scan()
        for n, item in enumerate(self._iter_articles(corpus_dir, cache), 1):
            if isinstance(item, Skip):
                if item.unreadable:
                    scan.unreadable.append(len(scan.skipped))
                scan.skipped.append(item)
            else:
                scan.articles[item.id] = item
                if isinstance(item, Article) and cache is not None:
                    scan.hashes[item.id] = cache.content_hash(item)  # computed once with the cache's stub
                else:
                    scan.hashes[item.id] = _content_hash(item)
                scan.warnings.extend(f"{item.path or item.id}: {note}" for note in item.notes)
            if n % 200 == 0:
                tick(IndexProgress("scan", n, 0, f"read {n} articles"))
        count = len(scan.articles)
        tick(IndexProgress("scan", count, count, f"read {count} articles"))
        return scan

    def _unchanged_since_clean(self, scan: _Scan) -> IndexReport | None:
        """The report of a run with nothing to do, when the corpus state shows it has none, else None.

        Nothing to do: the scan found the very articles (ids and content hashes) of the last
        successful run, no path was unreadable (its articles would be kept), model and chunker
        are the same, and the store is the one that run left (`ChunkStore.fingerprint`: every
        committed change bumps the generation; a rebuild, or a collection deleted, changes the
        collection ids).
        """
        if self.state is None or scan.unreadable:
            return None
        clean = self.state.clean()
        if clean is None:
            return None
        if (clean.model, clean.chunker) != (self.embedder.name, self.chunker.version):
            return None
        if clean.scan != scan.digest():
            return None
        if self.store.fingerprint() != clean.store:
            return None
        return IndexReport(
            unchanged=clean.unchanged,
            skipped=[*scan.skipped, *clean.chunk_skips],
            warnings=scan.warnings,
            chunks=clean.chunks,
            duplicates=clean.duplicates,
        )

    def _record_clean(
        self, scan: _Scan, plan: WritePlan, report: IndexReport, cache: FileCache | None
    ) -> None:
        """After a successful run: what a run over the same scan reports, and the store it left."""
        if self.state is None:
            return
        from index.corpus_state import CleanState

        if cache is not None:
            self.state.forget_files(cache.seen)
        fingerprint = self.store.fingerprint()
        if scan.unreadable or fingerprint is None:
            return  # a run with unreadable paths keeps their articles: no shortcut
        self.state.record_clean(CleanState(
            scan=scan.digest(),
            model=self.embedder.name,
            chunker=self.chunker.version,
            store=fingerprint,
            chunks=report.chunks,
            unchanged=len(scan.articles) - len(plan.skipped),
            duplicates=report.duplicates,
            chunk_skips=tuple(plan.skipped),
        ))

    def _removals(
        self, scan: _Scan, manifest: dict[str, ArticleRecord], corpus_dir: Path, *, force: bool
    ) -> tuple[list[Skip], list[str]]:
        """The scan's skips (saying which unreadable paths keep their articles) and the ids to remove.

        Raises `IndexRefused` when more than half of the indexed articles would go and not `force`.
        """
        # A file that exists but cannot be read now keeps what was indexed from it.
        skipped = list(scan.skipped)
        kept = _kept_unreadable(manifest, skipped, scan.unreadable, scan.articles)
        removed_ids = sorted(set(manifest) - set(scan.articles) - kept)
        if manifest and len(removed_ids) * 2 > len(manifest) and not force:
            raise IndexRefused(
                f"this run would remove {len(removed_ids)} of {len(manifest)} indexed articles "
                f"(is {corpus_dir} empty or unmounted?); run again with --force to proceed"
            )
        return skipped, removed_ids

    def _rebuild_reason(self, manifest: dict[str, ArticleRecord], rebuild: bool) -> str | None:
        """Why everything must be embedded again (asked for, or built with another model/chunker), else None."""
        if rebuild:
            return "--rebuild requested"
        info = _safe_info(self.store)
        model_key, chunker_key = self.embedder.name, self.chunker.version
        if manifest and (info.get("model"), info.get("chunker")) != (model_key, chunker_key):
            return (
                f"index was built with model {info.get('model')!r} and chunker {info.get('chunker')!r}; "
                f"now {model_key!r} and {chunker_key!r}: re-embedding everything"
            )
        return None

    def _delete_orphans(self, plan: WritePlan, report: IndexReport) -> None:
        """Delete chunks no manifest record lists (leftovers of an interrupted run) unless written again.

        Orphans this run writes again are overwritten in place, not deleted first: in Chroma 1.5 a
        delete followed by a re-add of the same id can leave the record unreachable by query()
        while get() still returns it (chroma-core/chroma#7758). Chunk ids are content-derived, so
        a rewritten orphan gets exactly its old content.
        """
        if not plan.orphans:
            return
        rewritten = {c.id for p in plan.pending for c in p.chunks}
        doomed = sorted(plan.orphans - rewritten)
        if doomed:
            self.store.delete_chunks(doomed)
            self.hooks.wrote()
        report.repaired += len(plan.orphans)

    def _write(self, pending: list[_Pending], report: IndexReport, tick: ProgressCallback) -> None:
        """Embed and commit in batches: chunks first, then the manifest record, then old chunks go.

        This thread embeds batch k+1 while a `_BatchWriter` thread stores batch k: embedding keeps
        the cores busy, a Chroma write is mostly chromadb's own Rust and SQLite work, so the two
        overlap. Batches are written in order; the first failure (of either) stops both, batches
        before it stay committed, and it is raised unchanged. The store is only called from the
        writer thread until it has been joined.
        """
        total_chunks = sum(len(p.chunks) for p in pending)
        done = 0
        tick(IndexProgress("embed", 0, total_chunks, f"{len(pending)} articles to embed"))
        writer = _BatchWriter(lambda embedded: self._store_batch(embedded, report))
        try:
            for batch in _batches(pending, self.batch_chunks):
                chunks = [c for p in batch for c in p.chunks]
                texts = [embedding_text(c, self.chunker) for c in chunks]
                base = done

                def on_embedded(k: int, _base: int = base) -> None:
                    nonlocal done
                    done = min(done + k, _base + len(chunks))
                    tick(IndexProgress("embed", done, total_chunks, "embedding"))

                vectors = self.embedder.embed_documents(texts, progress=on_embedded) if chunks else None
                done = base + len(chunks)
                writer.put(_Embedded(batch, chunks, vectors))
        except BaseException:
            writer.close(raise_error=False)  # the batches handed over before this failure are written
            raise
        writer.close()

    def _store_batch(self, embedded: _Embedded, report: IndexReport) -> None:
        """Write one embedded batch (on the writer thread) and count it in the report."""
        batch, chunks = embedded.batch, embedded.chunks
        if chunks:
            hashes = [p.article.content_hash() for p in batch for _ in p.chunks]
            self.store.add_chunks(chunks, embedded.vectors, hashes)
            self.hooks.wrote()
        records = [_record(p.article, p.chunks, p.duplicate_of, p.signature) for p in batch]
        self.store.commit_articles(records)
        self.hooks.wrote()
        stale = [cid for p in batch if p.old for cid in p.old.chunk_ids if cid not in {c.id for c in p.chunks}]
        if stale:
            self.store.delete_chunks(stale)
            self.hooks.wrote()
        self.store.bump_generation()
        if self.on_stored is not None:
            self.on_stored([(record, p.chunks) for record, p in zip(records, batch, strict=True)])
        report.embedded_chunks += len(chunks)
        for p in batch:
            if p.kind == "added":
                report.added += 1
            elif p.kind == "updated":
                report.updated += 1
            else:
                report.repaired += 1

    def _remove(self, removed_ids: list[str], manifest: dict[str, ArticleRecord], report: IndexReport) -> None:
        """Removed articles: drop the manifest record (the commit point), then their chunks."""
        if not removed_ids:
            return
        self.store.uncommit_articles(removed_ids)
        self.hooks.wrote()
        self.store.delete_chunks(cid for aid in removed_ids for cid in manifest[aid].chunk_ids)
        self.hooks.wrote()
        report.removed = len(removed_ids)


@dataclass(slots=True)
class _Embedded:
    """A batch of articles with the vectors of their chunks, on its way to the store."""

    batch: list[_Pending]
    chunks: list[Chunk]
    vectors: np.ndarray | None  # None when the batch has no chunks (near-copies only)


WRITER_THREAD = "newsbot-index-writer"


class _BatchWriter:
    """Runs `write` on each batch handed to `put`, in order, on one thread named `WRITER_THREAD`.

    One slot: `put` waits while a batch is already waiting, so at most one embedded batch waits
    for the store. After the first exception of `write` no further batch is written, and the
    exception is raised in the caller's thread (unchanged) by the next `put` or by `close`.
    """

    def __init__(self, write: Callable[[_Embedded], None]):
        self._write = write
        self._cond = threading.Condition()
        self._slot: _Embedded | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=WRITER_THREAD)
        self._thread.start()

    def put(self, embedded: _Embedded) -> None:
        """Hand over the next batch; raises the writer's exception if it failed."""
        with self._cond:
            while self._slot is not None and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            self._slot = embedded
            self._cond.notify_all()

    def close(self, *, raise_error: bool = True) -> None:
        """Wait until the batches handed over are written (or one failed) and the thread has ended."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._slot is None and not self._closed:
                    self._cond.wait()
                embedded, self._slot = self._slot, None
                self._cond.notify_all()
            if embedded is None:  # closed and nothing left
                return
            try:
                self._write(embedded)
            except BaseException as exc:  # raised in the caller's thread by put/close
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return


@dataclass(slots=True)
class WritePlan:
    """What a run writes: articles to (re)embed, how many are unchanged, leftovers to clean up.

    A plan with `needs_text` is not carried out: those articles are stubs that must be chunked
    or written after all, so their files must be parsed first.
    """

    pending: list[_Pending] = field(default_factory=list)  # originals before their copies
    unchanged: int = 0
    duplicates: int = 0  # articles that are near-copies of another (index/dedup.py)
    skipped: list[Skip] = field(default_factory=list)  # articles with no text left after chunking
    orphans: set[str] = field(default_factory=set)  # stored chunk ids no manifest record lists
    records_only: list[ArticleRecord] = field(default_factory=list)  # unchanged, record gains a signature
    needs_text: set[str] = field(default_factory=set)  # ids of stubs whose files must be parsed


def plan_writes(
    articles: dict[str, Article | ArticleStub],
    manifest: dict[str, ArticleRecord],
    stored_ids: set[str],
    chunker: ChunkerConfig,
    *,
    hashes: dict[str, str] | None = None,
) -> WritePlan:
    """Decide per article against the manifest and the stored chunk ids (pure: reads nothing).

    An article is unchanged when its content hash matches, all its listed chunks are stored and
    it is still the copy of the same original (or of none); one whose chunks went missing (an
    interrupted run) is "repaired"; new ones are "added", changed ones "updated". A near-copy of
    another article (index/dedup.py) gets a record and no chunks of its own.

    A stub (`ArticleStub`) can only be unchanged; one that is not, or whose signature is unknown
    (no recorded signature and a body that may be long enough for one), is listed in
    `needs_text` and nothing else is planned. `hashes` are the articles' content hashes when known.
    """
    live_ids = {cid for rec in manifest.values() for cid in rec.chunk_ids}
    broken = {aid for aid, rec in manifest.items() if not set(rec.chunk_ids) <= stored_ids}
    plan = WritePlan(orphans=stored_ids - live_ids)

    if hashes is None:
        hashes = {aid: _content_hash(a) for aid, a in articles.items()}  # once: it serialises the body
    signatures: dict[str, str | None] = {}
    items = []
    for aid, article in articles.items():
        old = manifest.get(aid)
        same_text = old is not None and old.content_hash == hashes[aid]
        if same_text and old.signature:
            signatures[aid] = old.signature
            sig = dedup.decode(old.signature)
        elif isinstance(article, ArticleStub):
            if not (same_text and article.short):
                plan.needs_text.add(aid)
                continue
            sig = None  # too short for a signature, as recorded
            signatures[aid] = None
        else:
            sig = dedup.signature(article.body)
            signatures[aid] = dedup.encode(sig)
        length = article.body_chars if isinstance(article, ArticleStub) else len(article.body)
        items.append(dedup.DedupItem(aid, sig, article.published_at, length))
    if plan.needs_text:
        return WritePlan(needs_text=plan.needs_text)
    if articles.keys() == manifest.keys() and all(
        signatures[aid] == rec.signature and rec.content_hash == hashes[aid]
        for aid, rec in manifest.items()
    ):
        # Nothing changed: the clusters are the ones recorded (clustering is a function of the
        # signatures, dates and lengths alone), and a no-change run skips the LSH and its imports.
        copy_of = {aid: rec.duplicate_of for aid, rec in manifest.items() if rec.duplicate_of}
    else:
        copy_of = dedup.clusters(items)
    plan.duplicates = len(copy_of)

    for aid, article in articles.items():
        old = manifest.get(aid)
        original = copy_of.get(aid)
        same_text = old is not None and old.content_hash == hashes[aid]
        if same_text and aid not in broken and old.duplicate_of == original:
            plan.unchanged += 1
            if old.signature != signatures[aid]:  # an index from before signatures: the record only
                plan.records_only.append(replace(old, signature=signatures[aid]))
            continue
        if isinstance(article, ArticleStub):
            plan.needs_text.add(aid)
            continue
        if original is not None:
            kind = "added" if old is None else "updated"
            plan.pending.append(_Pending(article, [], old, kind, original, signatures[aid]))
            continue
        chunks = chunk_article(article, chunker)
        if not chunks:
            plan.skipped.append(Skip(article.path or aid, "no text to index after chunking"))
            continue
        kind = "added" if old is None else ("repaired" if same_text and aid in broken else "updated")
        plan.pending.append(_Pending(article, chunks, old, kind, None, signatures[aid]))
    if plan.needs_text:
        return WritePlan(needs_text=plan.needs_text)
    # Originals before their copies, so a story never has neither passages nor an original.
    plan.pending.sort(key=lambda p: p.duplicate_of is not None)
    return plan


def _content_hash(article: Article | ArticleStub) -> str:
    return article.content_hash() if isinstance(article, Article) else article.content_hash


def _kept_unreadable(
    manifest: dict[str, ArticleRecord],
    skipped: list[Skip],
    unreadable: list[int],
    articles: dict[str, Article | ArticleStub],
) -> set[str]:
    """Ids of indexed articles from paths that are unreadable now; says in each Skip what was kept."""
    kept: set[str] = set()
    for position in unreadable:
        skip = skipped[position]
        whole = skip.path in ("", ".")
        prefix = skip.path.rstrip("/") + "/"
        ids = {
            aid
            for aid, rec in manifest.items()
            if aid not in articles
            and rec.path
            and (whole or rec.path == skip.path or rec.path.startswith(prefix))
        }
        if ids:
            kept |= ids
            count = "the indexed version is" if len(ids) == 1 else f"{len(ids)} indexed articles are"
            skipped[position] = replace(skip, reason=f"{skip.reason} ({count} kept)")
    return kept


def _record(
    article: Article, chunks: list[Chunk], duplicate_of: str | None = None, signature: str | None = None
) -> ArticleRecord:
    return ArticleRecord(
        article_id=article.id,
        content_hash=article.content_hash(),
        chunk_ids=tuple(c.id for c in chunks),
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        url=article.url,
        path=article.path,
        duplicate_of=duplicate_of,
        signature=signature,
    )


def _batches(pending: list[_Pending], max_chunks: int) -> Iterator[list[_Pending]]:
    batch: list[_Pending] = []
    size = 0
    for p in pending:
        if batch and size + len(p.chunks) > max_chunks:
            yield batch
            batch, size = [], 0
        batch.append(p)
        size += len(p.chunks)
    if batch:
        yield batch


def _safe_info(store: ChunkStore) -> dict:
    try:
        return store.info()
    except Exception:  # noqa: BLE001 - no manifest collection yet
        return {}


def collect_stats(store: ChunkStore) -> IndexStats:
    """Articles, chunks, outlets and date range of what is committed in the store."""
    manifest = store.manifest()
    sources: dict[str, int] = {}
    dates = []
    for rec in manifest.values():
        key = rec.source or "(unknown)"
        sources[key] = sources.get(key, 0) + 1
        if rec.published_at:
            dates.append(rec.published_at)
    info = _safe_info(store)
    dates.sort(key=lambda d: timestamp(d))
    return IndexStats(
        articles=len(manifest),
        chunks=sum(len(r.chunk_ids) for r in manifest.values()),
        sources=dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        earliest=dates[0] if dates else None,
        latest=dates[-1] if dates else None,
        store=store.location,
        model=str(info.get("model", "")),
        chunker=str(info.get("chunker", "")),
    )
