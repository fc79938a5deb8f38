"""The incremental indexer: make the store match the corpus, embedding only what changed.

The manifest lives in the store itself (`ChunkStore.manifest()`), so the indexer needs no side
file and a Chroma server holds all state. Each run also repairs what an interrupted run left:
chunks that no manifest record lists are deleted, and articles whose listed chunks are missing
are re-embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from index import dedup
from index.chunking import DEFAULT_CONFIG, ChunkerConfig, chunk_article, embedding_text
from index.embedder import Embedder
from index.models import Article, Chunk, IndexProgress, IndexReport, IndexStats, Skip
from index.store import ArticleRecord, ChunkStore, timestamp

ProgressCallback = Callable[[IndexProgress], None]
ArticleSource = Callable[[Path], Iterable[Article | Skip]]


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
    ):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.max_chars = max_chars
        self.batch_chunks = batch_chunks
        self.hooks = hooks or IndexerHooks()
        self._articles = articles

    def _iter_articles(self, corpus_dir: Path) -> Iterable[Article | Skip]:
        if self._articles is not None:
            return self._articles(corpus_dir)
        from index.parsers import iter_corpus

        return iter_corpus(corpus_dir, max_chars=self.max_chars)

    def run(
        self,
        corpus_dir: Path,
        *,
        rebuild: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Index `corpus_dir` incrementally (or from scratch with `rebuild`); returns the report.

        Raises `IndexRefused` when the run would remove more than half of the indexed articles
        and `force` is not set (an empty or unmounted corpus folder).
        """
        started = time.perf_counter()
        report = IndexReport()
        tick = progress or (lambda _p: None)

        if not corpus_dir.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")

        # 1. What the corpus holds.
        articles: dict[str, Article] = {}
        for n, item in enumerate(self._iter_articles(corpus_dir), 1):
            if isinstance(item, Skip):
                report.skipped.append(item)
            else:
                articles[item.id] = item
                report.warnings.extend(f"{item.path or item.id}: {note}" for note in item.notes)
            if n % 200 == 0:
                tick(IndexProgress("scan", n, 0, f"read {n} articles"))
        tick(IndexProgress("scan", len(articles), len(articles), f"read {len(articles)} articles"))

        # 2. What the store holds, and whether it was built the same way.
        model_key = self.embedder.name
        chunker_key = self.chunker.version
        info = _safe_info(self.store)
        manifest = self.store.manifest()
        if rebuild:
            report.full_rebuild_reason = "--rebuild requested"
        elif manifest and (info.get("model"), info.get("chunker")) != (model_key, chunker_key):
            report.full_rebuild_reason = (
                f"index was built with model {info.get('model')!r} and chunker {info.get('chunker')!r}; "
                f"now {model_key!r} and {chunker_key!r}: re-embedding everything"
            )
        removed_ids = sorted(set(manifest) - set(articles))
        if not report.full_rebuild_reason and manifest and len(removed_ids) * 2 > len(manifest) and not force:
            raise IndexRefused(
                f"this run would remove {len(removed_ids)} of {len(manifest)} indexed articles "
                f"(is {corpus_dir} empty or unmounted?); run again with --force to proceed"
            )
        if report.full_rebuild_reason:
            self.store.reset()
            manifest = {}
            removed_ids = []
        self.store.set_info(model=model_key, chunker=chunker_key)

        # 3. Repair: chunks no manifest record lists are leftovers of an interrupted run
        #    (deleted below, after we know which of them this run writes again).
        stored_ids = self.store.chunk_ids()
        live_ids = {cid for rec in manifest.values() for cid in rec.chunk_ids}
        orphans = stored_ids - live_ids
        broken = {aid for aid, rec in manifest.items() if not set(rec.chunk_ids) <= stored_ids}

        # 4. Near-copies (index/dedup.py): a copy gets a manifest record and no chunks of its own.
        signatures: dict[str, str | None] = {}
        items = []
        for aid, article in articles.items():
            old = manifest.get(aid)
            if old is not None and old.content_hash == article.content_hash() and old.signature:
                signatures[aid] = old.signature
                sig = dedup.decode(old.signature)
            else:
                sig = dedup.signature(article.body)
                signatures[aid] = dedup.encode(sig)
            items.append(dedup.DedupItem(aid, sig, article.published_at, len(article.body)))
        copy_of = dedup.clusters(items)
        report.duplicates = len(copy_of)

        # 5. Decide per article.
        pending: list[_Pending] = []
        records_only: list[ArticleRecord] = []
        for aid, article in articles.items():
            old = manifest.get(aid)
            original = copy_of.get(aid)
            if (old is not None and old.content_hash == article.content_hash() and aid not in broken
                    and old.duplicate_of == original):
                report.unchanged += 1
                if old.signature != signatures[aid]:  # an index from before signatures: record only
                    records_only.append(replace(old, signature=signatures[aid]))
                continue
            if original is not None:
                pending.append(_Pending(article, [], old, "added" if old is None else "updated",
                                        original, signatures[aid]))
                continue
            chunks = chunk_article(article, self.chunker)
            if not chunks:
                report.skipped.append(Skip(article.path or aid, "no text to index after chunking"))
                continue
            kind = "added" if old is None else ("repaired" if aid in broken and old.content_hash == article.content_hash() else "updated")
            pending.append(_Pending(article, chunks, old, kind, None, signatures[aid]))

        # 3b. Orphans this run writes again are overwritten in place, not deleted first: in
        #     Chroma 1.5 a delete followed by a re-add of the same id can leave the record
        #     unreachable by query() while get() still returns it (chroma-core/chroma#7758).
        #     Chunk ids are content-derived, so a rewritten orphan gets exactly its old content.
        if orphans:
            rewritten = {c.id for p in pending for c in p.chunks}
            doomed = sorted(orphans - rewritten)
            if doomed:
                self.store.delete_chunks(doomed)
                self.hooks.wrote()
            report.repaired += len(orphans)

        if records_only:
            self.store.commit_articles(records_only)
            self.hooks.wrote()
        # Originals before their copies, so a story never has neither passages nor an original.
        pending.sort(key=lambda p: p.duplicate_of is not None)

        # 6. Embed and commit in batches: chunks first, then the manifest record, then old chunks go.
        total_chunks = sum(len(p.chunks) for p in pending)
        done = 0
        tick(IndexProgress("embed", 0, total_chunks, f"{len(pending)} articles to embed"))
        for batch in _batches(pending, self.batch_chunks):
            chunks = [c for p in batch for c in p.chunks]
            texts = [embedding_text(c, self.chunker) for c in chunks]
            base = done

            def on_embedded(k: int, _base: int = base) -> None:
                nonlocal done
                done = min(done + k, _base + len(chunks))
                tick(IndexProgress("embed", done, total_chunks, "embedding"))

            if chunks:
                vectors = self.embedder.embed_documents(texts, progress=on_embedded)
                hashes = [p.article.content_hash() for p in batch for _ in p.chunks]
                self.store.add_chunks(chunks, vectors, hashes)
                self.hooks.wrote()
            self.store.commit_articles([_record(p.article, p.chunks, p.duplicate_of, p.signature) for p in batch])
            self.hooks.wrote()
            stale = [cid for p in batch if p.old for cid in p.old.chunk_ids if cid not in {c.id for c in p.chunks}]
            if stale:
                self.store.delete_chunks(stale)
                self.hooks.wrote()
            self.store.bump_generation()
            done = base + len(chunks)
            report.embedded_chunks += len(chunks)
            for p in batch:
                if p.kind == "added":
                    report.added += 1
                elif p.kind == "updated":
                    report.updated += 1
                else:
                    report.repaired += 1

        # 7. Removed articles: drop the manifest record (commit point), then their chunks.
        if removed_ids:
            self.store.uncommit_articles(removed_ids)
            self.hooks.wrote()
            self.store.delete_chunks(cid for aid in removed_ids for cid in manifest[aid].chunk_ids)
            self.hooks.wrote()
            report.removed = len(removed_ids)
        if removed_ids or orphans or pending or records_only:
            self.store.bump_generation()

        tick(IndexProgress("commit", 1, 1, "done"))
        report.chunks = self.store.count_chunks()
        report.seconds = time.perf_counter() - started
        return report


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
