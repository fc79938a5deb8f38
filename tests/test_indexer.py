"""The incremental indexer against a real on-disk Chroma, with a fast test embedder."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from index.chunking import DEFAULT_CONFIG, chunk_article
from index.embedder import HashingEmbedder
from index.indexer import Indexer, IndexerHooks, IndexRefused, collect_stats
from index.models import Article, Skip
from index.store import open_store


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
