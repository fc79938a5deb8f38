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

        Steps: scan the corpus; compare with the store (a full rebuild when the model or chunker
        changed); plan per article (`plan_writes`, pure: near-copies of another article get a
        manifest record and no chunks); delete leftovers of an interrupted run; write in batches;
        remove what left the corpus.

        Raises `IndexRefused` when the run would remove more than half of the indexed articles
        and `force` is not set (an empty or unmounted corpus folder).
        """
        started = time.perf_counter()
        report = IndexReport()
        tick = progress or (lambda _p: None)
        if not corpus_dir.is_dir():
            raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")

        articles, unreadable = self._scan(corpus_dir, report, tick)
        manifest = self.store.manifest()
        report.full_rebuild_reason = self._rebuild_reason(manifest, rebuild)
        removed_ids: list[str] = []
        if report.full_rebuild_reason:
            self.store.reset()
            manifest = {}
        else:
            # A file that exists but cannot be read now keeps what was indexed from it.
            kept = _kept_unreadable(manifest, report, unreadable, articles)
            removed_ids = sorted(set(manifest) - set(articles) - kept)
            if manifest and len(removed_ids) * 2 > len(manifest) and not force:
                raise IndexRefused(
                    f"this run would remove {len(removed_ids)} of {len(manifest)} indexed articles "
                    f"(is {corpus_dir} empty or unmounted?); run again with --force to proceed"
                )
        self.store.set_info(model=self.embedder.name, chunker=self.chunker.version)

        plan = plan_writes(articles, manifest, self.store.chunk_ids(), self.chunker)
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
        report.seconds = time.perf_counter() - started
        return report

    def _scan(
        self, corpus_dir: Path, report: IndexReport, tick: ProgressCallback
    ) -> tuple[dict[str, Article], list[int]]:
        """The corpus's articles by id, and the positions in `report.skipped` of unreadable paths."""
        articles: dict[str, Article] = {}
        unreadable: list[int] = []
        for n, item in enumerate(self._iter_articles(corpus_dir), 1):
            if isinstance(item, Skip):
                if item.unreadable:
                    unreadable.append(len(report.skipped))
                report.skipped.append(item)
            else:
                articles[item.id] = item
                report.warnings.extend(f"{item.path or item.id}: {note}" for note in item.notes)
            if n % 200 == 0:
                tick(IndexProgress("scan", n, 0, f"read {n} articles"))
        tick(IndexProgress("scan", len(articles), len(articles), f"read {len(articles)} articles"))
        return articles, unreadable

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
        """Embed and commit in batches: chunks first, then the manifest record, then old chunks go."""
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
class WritePlan:
    """What a run writes: articles to (re)embed, how many are unchanged, leftovers to clean up."""

    pending: list[_Pending] = field(default_factory=list)  # originals before their copies
    unchanged: int = 0
    duplicates: int = 0  # articles that are near-copies of another (index/dedup.py)
    skipped: list[Skip] = field(default_factory=list)  # articles with no text left after chunking
    orphans: set[str] = field(default_factory=set)  # stored chunk ids no manifest record lists
    records_only: list[ArticleRecord] = field(default_factory=list)  # unchanged, record gains a signature


def plan_writes(
    articles: dict[str, Article],
    manifest: dict[str, ArticleRecord],
    stored_ids: set[str],
    chunker: ChunkerConfig,
) -> WritePlan:
    """Decide per article against the manifest and the stored chunk ids (pure: reads nothing).

    An article is unchanged when its content hash matches, all its listed chunks are stored and
    it is still the copy of the same original (or of none); one whose chunks went missing (an
    interrupted run) is "repaired"; new ones are "added", changed ones "updated". A near-copy of
    another article (index/dedup.py) gets a record and no chunks of its own.
    """
    live_ids = {cid for rec in manifest.values() for cid in rec.chunk_ids}
    broken = {aid for aid, rec in manifest.items() if not set(rec.chunk_ids) <= stored_ids}
    plan = WritePlan(orphans=stored_ids - live_ids)

    signatures: dict[str, str | None] = {}
    hashes = {aid: article.content_hash() for aid, article in articles.items()}  # once: it serialises the body
    items = []
    for aid, article in articles.items():
        old = manifest.get(aid)
        if old is not None and old.content_hash == hashes[aid] and old.signature:
            signatures[aid] = old.signature
            sig = dedup.decode(old.signature)
        else:
            sig = dedup.signature(article.body)
            signatures[aid] = dedup.encode(sig)
        items.append(dedup.DedupItem(aid, sig, article.published_at, len(article.body)))
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
    # Originals before their copies, so a story never has neither passages nor an original.
    plan.pending.sort(key=lambda p: p.duplicate_of is not None)
    return plan


def _kept_unreadable(
    manifest: dict[str, ArticleRecord],
    report: IndexReport,
    unreadable: list[int],
    articles: dict[str, Article],
) -> set[str]:
    """Ids of indexed articles from paths that are unreadable now; says in each Skip what was kept."""
    kept: set[str] = set()
    for position in unreadable:
        skip = report.skipped[position]
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
            report.skipped[position] = replace(skip, reason=f"{skip.reason} ({count} kept)")
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
