"""The incremental indexer against a real on-disk Chroma, with a fast test embedder."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from index.chunking import DEFAULT_CONFIG, chunk_article
from index.embedder import HashingEmbedder
from index.indexer import WRITER_THREAD, Indexer, IndexerHooks, IndexRefused, collect_stats
from index.models import Article, IndexProgress, IndexReport, Skip
from index.store import ChunkStore, open_store


class CountingEmbedder(HashingEmbedder):
    """A HashingEmbedder that remembers how many texts it embedded."""

    def __init__(self, name: str = "hashing-256"):
        super().__init__(name=name)
        self.embedded: list[str] = []

    def embed_documents(self, texts, progress=None):
        self.embedded.extend(texts)
        return super().embed_documents(texts, progress)


def make_article(n: int, extra: str = "") -> Article:
    body = "\n\n".join(
        f"Paragraph {p} of story {n}. The council voted on budget item {n * 10 + p}. {extra}".strip()
        for p in range(6)
    )
    return Article(
        id=f"story-{n}",
        title=f"Story number {n}",
        body=body,
        source="Test Wire",
        published_at=datetime(2024, 1, 1 + n % 28, tzinfo=timezone.utc),
        path=f"story-{n}.txt",
    )


class FakeCorpus:
    """An article source the test edits between runs (stands in for the corpus folder)."""

    def __init__(self, articles: list[Article], skips: list[Skip] | None = None):
        self.articles = {a.id: a for a in articles}
        self.skips = skips or []

    def __call__(self, _corpus_dir: Path):
        yield from self.articles.values()
        yield from self.skips


@pytest.fixture
def store(tmp_path):
    return open_store(data_dir=str(tmp_path / "data"))


def expected_ids(articles) -> set[str]:
    return {c.id for a in articles for c in chunk_article(a)}


def test_first_run_indexes_everything_then_second_run_embeds_nothing(store, tmp_path):
    corpus = FakeCorpus([make_article(i) for i in range(5)], [Skip("bad.json", "invalid JSON: x")])
    emb = CountingEmbedder()
    indexer = Indexer(store, emb, articles=corpus)

    first = indexer.run(tmp_path)
    assert (first.added, first.updated, first.removed, first.unchanged) == (5, 0, 0, 0)
    assert [s.to_dict() for s in first.skipped] == [{"path": "bad.json", "reason": "invalid JSON: x"}]
    assert store.chunk_ids() == expected_ids(corpus.articles.values())
    assert first.chunks == len(expected_ids(corpus.articles.values()))

    emb.embedded.clear()
    second = indexer.run(tmp_path)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 5)
    assert emb.embedded == []
    assert second.embedded_chunks == 0


def test_add_change_delete(store, tmp_path):
    corpus = FakeCorpus([make_article(i) for i in range(4)])
    emb = CountingEmbedder()
    indexer = Indexer(store, emb, articles=corpus)
    indexer.run(tmp_path)

    corpus.articles["story-9"] = make_article(9)
    corpus.articles["story-1"] = make_article(1, extra="A correction was added.")
    del corpus.articles["story-2"]
    emb.embedded.clear()
    report = indexer.run(tmp_path)

    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 2)
    embedded_articles = {t.split("\n", 1)[0] for t in emb.embedded}
    assert embedded_articles == {"Story number 9", "Story number 1"}
    assert store.chunk_ids() == expected_ids(corpus.articles.values())
    assert set(store.manifest()) == {"story-0", "story-1", "story-3", "story-9"}
    stats = collect_stats(store)
    assert (stats.articles, stats.chunks) == (4, len(store.chunk_ids()))
    assert stats.sources == {"Test Wire": 4}


def test_refuses_to_remove_most_articles_without_force(store, tmp_path):
    corpus = FakeCorpus([make_article(i) for i in range(4)])
    indexer = Indexer(store, HashingEmbedder(), articles=corpus)
    indexer.run(tmp_path)
    corpus.articles.clear()
    with pytest.raises(IndexRefused, match="would remove 4 of 4 indexed articles"):
        indexer.run(tmp_path)
    assert len(store.manifest()) == 4
    report = indexer.run(tmp_path, force=True)
    assert report.removed == 4
    assert store.chunk_ids() == set()


def test_model_change_reembeds_everything_and_says_so(store, tmp_path):
    corpus = FakeCorpus([make_article(i) for i in range(3)])
    Indexer(store, HashingEmbedder(name="model-a"), articles=corpus).run(tmp_path)
    emb = CountingEmbedder(name="model-b")
    report = Indexer(store, emb, articles=corpus).run(tmp_path)
    chunker = DEFAULT_CONFIG.version
    assert report.full_rebuild_reason == (
        f"index was built with model 'model-a' and chunker {chunker!r}; now 'model-b' and {chunker!r}: "
        "re-embedding everything"
    )
    assert report.added == 3
    assert len(emb.embedded) == len(expected_ids(corpus.articles.values()))


class Crash(Exception):
    pass


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4, 5])
def test_interrupted_run_is_repaired_by_the_next(store, tmp_path, crash_after):
    corpus = FakeCorpus([make_article(i) for i in range(6)])
    Indexer(store, HashingEmbedder(), articles=corpus).run(tmp_path)
    corpus.articles["story-1"] = make_article(1, extra="Changed text.")
    del corpus.articles["story-4"]
    corpus.articles["story-7"] = make_article(7)

    def crash(n: int) -> None:
        if n == crash_after:
            raise Crash

    with pytest.raises(Crash):
        Indexer(store, HashingEmbedder(), articles=corpus, hooks=IndexerHooks(after_write=crash), batch_chunks=1).run(
            tmp_path
        )
    Indexer(store, HashingEmbedder(), articles=corpus).run(tmp_path)
    assert store.chunk_ids() == expected_ids(corpus.articles.values())
    assert set(store.manifest()) == set(corpus.articles)


def test_missing_corpus_folder_is_an_error(store, tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus folder not found"):
        Indexer(store, HashingEmbedder(), articles=FakeCorpus([])).run(tmp_path / "nope")


# --- the pipelined write (issue #13): batch k is stored while batch k+1 is embedded -----------


class StoreFailure(Exception):
    pass


class EmbedFailure(Exception):
    pass


class RecordingStore(ChunkStore):
    """The real store, recording each write (what, on which thread); `before_add(n)` runs before the
    n-th `add_chunks` writes anything (to fail it, or hold it back)."""

    def __init__(self, inner: ChunkStore, before_add: Callable[[int], None] | None = None):
        super().__init__(inner._client, location=inner.location, data_dir=inner.data_dir)
        self.before_add = before_add
        self.adds = 0
        self.writes: list[tuple[str, str]] = []

    def _note(self, what: str) -> None:
        self.writes.append((what, threading.current_thread().name))

    def add_chunks(self, chunks, vectors, content_hashes) -> None:
        self.adds += 1
        if self.before_add:
            self.before_add(self.adds)
        self._note("add " + ",".join(c.article_id for c in chunks))
        super().add_chunks(chunks, vectors, content_hashes)

    def commit_articles(self, records) -> None:
        self._note("commit " + ",".join(r.article_id for r in records))
        super().commit_articles(records)

    def uncommit_articles(self, article_ids) -> None:
        self._note("uncommit " + ",".join(article_ids))
        super().uncommit_articles(article_ids)

    def delete_chunks(self, chunk_ids) -> None:
        ids = list(chunk_ids)
        self._note(f"delete {len(ids)}")
        super().delete_chunks(ids)

    def bump_generation(self) -> int:
        self._note("bump")
        return super().bump_generation()


class HookedEmbedder(HashingEmbedder):
    """A HashingEmbedder that calls `before(n)` before its n-th `embed_documents`."""

    def __init__(self, before: Callable[[int], None]):
        super().__init__()
        self.before = before
        self.calls = 0

    def embed_documents(self, texts, progress=None):
        self.calls += 1
        self.before(self.calls)
        return super().embed_documents(texts, progress)


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WRITER_THREAD]


def snapshot(store: ChunkStore) -> tuple[dict, dict]:
    """Every stored chunk (text, metadata, vector) and the manifest."""
    got = store.chunks.get(include=["documents", "metadatas", "embeddings"])
    chunks = {
        cid: (doc, meta, [float(x) for x in vec])
        for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)
    }
    return chunks, store.manifest()


def counts(report: IndexReport) -> IndexReport:
    return replace(report, seconds=0.0)


W, MAIN = WRITER_THREAD, "MainThread"


def test_pipelined_write_matches_a_single_batch_run(tmp_path):
    corpus = FakeCorpus([make_article(i) for i in range(7)])
    piped = RecordingStore(open_store(data_dir=str(tmp_path / "piped")))
    single = open_store(data_dir=str(tmp_path / "single"))
    ticks: list[IndexProgress] = []
    piped_indexer = Indexer(piped, HashingEmbedder(), articles=corpus, batch_chunks=2)  # one chunk an article
    single_indexer = Indexer(single, HashingEmbedder(), articles=corpus, batch_chunks=10_000)

    first = piped_indexer.run(tmp_path, progress=ticks.append)
    assert counts(first) == counts(single_indexer.run(tmp_path))
    assert (first.added, first.embedded_chunks, first.chunks) == (7, 7, 7)
    assert snapshot(piped) == snapshot(single)
    assert piped.chunk_ids() == expected_ids(corpus.articles.values())
    assert ticks == [
        IndexProgress("scan", 7, 7, "read 7 articles"),
        IndexProgress("embed", 0, 7, "7 articles to embed"),
        *(IndexProgress("embed", n, 7, "embedding") for n in (2, 4, 6, 7)),
        IndexProgress("commit", 1, 1, "done"),
    ]
    assert piped.writes == [
        *((what, W) for ids in ("story-0,story-1", "story-2,story-3", "story-4,story-5", "story-6")
          for what in (f"add {ids}", f"commit {ids}", "bump")),
        ("bump", MAIN),
    ]

    corpus.articles["story-1"] = make_article(1, extra="A correction was added.")
    corpus.articles["story-4"] = make_article(4, extra="Figures were revised.")
    del corpus.articles["story-2"]
    corpus.articles["story-9"] = make_article(9)
    piped.writes.clear()
    second = piped_indexer.run(tmp_path)
    assert counts(second) == counts(single_indexer.run(tmp_path))
    assert (second.added, second.updated, second.removed, second.unchanged, second.chunks) == (1, 2, 1, 4, 7)
    assert snapshot(piped) == snapshot(single)
    assert piped.writes == [
        ("add story-1,story-4", W), ("commit story-1,story-4", W), ("delete 2", W), ("bump", W),
        ("add story-9", W), ("commit story-9", W), ("bump", W),
        ("uncommit story-2", MAIN), ("delete 1", MAIN), ("bump", MAIN),
    ]
    assert writer_threads() == []


def test_a_batch_is_stored_while_the_next_is_embedded(store, tmp_path):
    second_embedding = threading.Event()
    overlapped: list[bool] = []

    def hold_first_add(n: int) -> None:
        if n == 1:  # a serial write would wait here in vain: batch 2 is embedded only after it
            overlapped.append(second_embedding.wait(timeout=10))

    def note_second(n: int) -> None:
        if n == 2:
            second_embedding.set()

    corpus = FakeCorpus([make_article(i) for i in range(3)])
    recording = RecordingStore(store, before_add=hold_first_add)
    report = Indexer(recording, HookedEmbedder(note_second), articles=corpus, batch_chunks=1).run(tmp_path)
    assert overlapped == [True]
    assert (report.added, report.chunks) == (3, 3)
    assert writer_threads() == []


@pytest.mark.parametrize("fail_on", [2, 5])  # 5: the last batch, whose failure surfaces only when the writer is joined
def test_a_store_failure_propagates_after_the_earlier_batches_are_committed(store, tmp_path, fail_on):
    corpus = FakeCorpus([make_article(i) for i in range(5)])
    failure = StoreFailure("disk on fire")

    def fail(n: int) -> None:
        if n == fail_on:
            raise failure

    recording = RecordingStore(store, before_add=fail)
    with pytest.raises(StoreFailure) as caught:
        Indexer(recording, HashingEmbedder(), articles=corpus, batch_chunks=1).run(tmp_path)
    assert caught.value is failure
    assert writer_threads() == []
    committed = [f"story-{i}" for i in range(fail_on - 1)]
    assert sorted(store.manifest()) == committed
    assert store.chunk_ids() == expected_ids(corpus.articles[aid] for aid in committed)
    assert recording.adds == fail_on  # nothing after the failed batch was even tried
    assert recording.writes == [(what, W) for aid in committed for what in (f"add {aid}", f"commit {aid}", "bump")]

    recording.before_add = None
    again = Indexer(recording, HashingEmbedder(), articles=corpus, batch_chunks=1).run(tmp_path)
    assert (again.added, again.unchanged, again.repaired, again.chunks) == (6 - fail_on, fail_on - 1, 0, 5)
    assert store.chunk_ids() == expected_ids(corpus.articles.values())
    assert sorted(store.manifest()) == sorted(corpus.articles)
    assert writer_threads() == []


@pytest.mark.parametrize("fail_on", [1, 3])
def test_an_embedder_failure_propagates_after_the_earlier_batches_are_committed(store, tmp_path, fail_on):
    corpus = FakeCorpus([make_article(i) for i in range(5)])
    failure = EmbedFailure("out of memory")

    def fail(n: int) -> None:
        if n == fail_on:
            raise failure

    recording = RecordingStore(store)
    with pytest.raises(EmbedFailure) as caught:
        Indexer(recording, HookedEmbedder(fail), articles=corpus, batch_chunks=1).run(tmp_path)
    assert caught.value is failure
    assert writer_threads() == []
    committed = [f"story-{i}" for i in range(fail_on - 1)]
    assert sorted(store.manifest()) == committed
    assert store.chunk_ids() == expected_ids(corpus.articles[aid] for aid in committed)
    assert recording.writes == [(what, W) for aid in committed for what in (f"add {aid}", f"commit {aid}", "bump")]

    again = Indexer(recording, HashingEmbedder(), articles=corpus, batch_chunks=1).run(tmp_path)
    assert (again.added, again.unchanged, again.repaired, again.chunks) == (6 - fail_on, fail_on - 1, 0, 5)
    assert store.chunk_ids() == expected_ids(corpus.articles.values())
    assert sorted(store.manifest()) == sorted(corpus.articles)
    assert writer_threads() == []
