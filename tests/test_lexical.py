"""LexicalIndex: exact incremental sync against a real on-disk Chroma store, search, filters, atomicity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from index.embedder import HashingEmbedder
from index.indexer import Indexer
from index.lexical import LexicalIndex, utc_timestamp
from index.models import Article, Chunk
from index.store import ArticleRecord, ChunkStore, StoredChunk, open_store
from index.text import analyse_query

EMB = HashingEmbedder(dim=64)


def put_article(
    store: ChunkStore,
    article_id: str,
    texts: Sequence[str],
    *,
    title: str = "",
    source: str | None = "Wire",
    published_at: datetime | None = None,
    version: str = "v1",
    commit: bool = True,
) -> list[str]:
    """Write an article's chunks, then (optionally) its manifest record; returns its chunk ids."""
    title = title or f"Title of {article_id}"
    chunks = []
    pos = 0
    for i, text in enumerate(texts):
        chunks.append(
            Chunk(
                id=f"{article_id}:{version}:{i}",
                article_id=article_id,
                index=i,
                text=text,
                start=pos,
                end=pos + len(text),
                title=title,
                source=source,
                published_at=published_at,
                url=f"https://example.org/{article_id}",
            )
        )
        pos += len(text) + 2
    content_hash = f"{article_id}-{version}"
    store.add_chunks(chunks, EMB.embed_documents([c.text for c in chunks]), [content_hash] * len(chunks))
    if commit:
        store.commit_articles(
            [
                ArticleRecord(
                    article_id=article_id,
                    content_hash=content_hash,
                    chunk_ids=tuple(c.id for c in chunks),
                    title=title,
                    source=source,
                    published_at=published_at,
                    url=f"https://example.org/{article_id}",
                    path=None,
                )
            ]
        )
    return [c.id for c in chunks]


def put_bulk(store: ChunkStore, texts_by_article: dict[str, list[str]]) -> None:
    """Write and commit many small articles in one batch (the shape an indexer run produces)."""
    chunks = [
        Chunk(id=f"{aid}:v1:{i}", article_id=aid, index=i, text=t, start=0, end=len(t), title=aid)
        for aid, texts in texts_by_article.items()
        for i, t in enumerate(texts)
    ]
    store.add_chunks(
        chunks, EMB.embed_documents([c.text for c in chunks]), [f"{c.article_id}-v1" for c in chunks]
    )
    store.commit_articles(
        [
            ArticleRecord(
                aid,
                f"{aid}-v1",
                tuple(f"{aid}:v1:{i}" for i in range(len(texts))),
                aid,
                None,
                None,
                None,
                None,
            )
            for aid, texts in texts_by_article.items()
        ]
    )


def remove_article(store: ChunkStore, article_id: str, chunk_ids: Sequence[str]) -> None:
    store.uncommit_articles([article_id])
    store.delete_chunks(chunk_ids)


class RecordingStore(ChunkStore):
    """A real store that records which chunk ids were fetched and how often the manifest was read."""

    def __init__(self, inner: ChunkStore):
        super().__init__(inner._client, location=inner.location)
        self.fetched: list[str] = []
        self.manifest_reads = 0

    def manifest(self):
        self.manifest_reads += 1
        return super().manifest()

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        self.fetched.extend(chunk_ids)
        return super().get_chunks(chunk_ids)


class FailingStore(ChunkStore):
    """A real store whose chunk fetch fails, to interrupt a sync after it has deleted rows."""

    def __init__(self, inner: ChunkStore):
        super().__init__(inner._client, location=inner.location)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        raise ConnectionError("chroma went away")


@pytest.fixture()
def store(tmp_path) -> ChunkStore:
    return open_store(data_dir=str(tmp_path))


@pytest.fixture()
def lexical(tmp_path) -> LexicalIndex:
    index = LexicalIndex(tmp_path / "lexical.sqlite3")
    yield index
    index.close()


def test_sync_adds_updates_and_removes_exactly(store, lexical):
    a = put_article(store, "a", ["Alpha harbour reopened after storms.", "Ferries resumed on Monday."])
    b = put_article(store, "b", ["The budget vote was delayed."])
    c = put_article(store, "c", ["Glaciers retreated again this summer."])
    store.bump_generation()

    first = lexical.sync(store)
    assert (first.added, first.updated, first.removed, first.unchanged) == (3, 0, 0, 0)
    assert first.chunks_added == 4
    assert lexical.live_chunk_ids() == {*a, *b, *c}
    assert (lexical.article_count(), lexical.chunk_count()) == (3, 4)

    # b changes (new chunk ids), c goes away, d arrives; a is untouched.
    b2 = put_article(store, "b", ["The budget vote passed narrowly.", "Opposition walked out."], version="v2")
    store.delete_chunks(b)
    remove_article(store, "c", c)
    d = put_article(store, "d", ["Zeppelin museum opens downtown."])
    store.bump_generation()

    second = lexical.sync(store)
    assert (second.added, second.updated, second.removed, second.unchanged) == (1, 1, 1, 1)
    assert (second.chunks_added, second.chunks_removed) == (3, 2)
    assert lexical.live_chunk_ids() == {*a, *b2, *d}
    assert [cid for cid, _ in lexical.search("delayed", 5)] == []
    assert [cid for cid, _ in lexical.search("glaciers", 5)] == []
    assert [cid for cid, _ in lexical.search("opposition", 5)] == [b2[1]]
    assert [cid for cid, _ in lexical.search("zeppelin", 5)] == [d[0]]


def test_sync_skips_when_generation_unchanged(store, lexical):
    put_article(store, "a", ["Alpha harbour reopened."])
    store.bump_generation()
    recording = RecordingStore(store)
    assert lexical.sync(recording).skipped is False
    assert lexical.synced_generation() == 1

    recording.fetched.clear()
    recording.manifest_reads = 0
    # A committed but not yet announced change is not picked up: the generation is the contract.
    put_article(store, "b", ["Budget vote delayed."])
    again = lexical.sync(recording)
    assert again.skipped is True
    assert (recording.manifest_reads, recording.fetched) == (0, [])
    assert lexical.article_count() == 1

    store.bump_generation()
    assert lexical.sync(recording).added == 1
    assert lexical.article_count() == 2


def test_sync_touches_only_the_changed_article(store, lexical):
    put_bulk(
        store,
        {
            f"bulk{i:02d}": [f"Routine council minutes number {i}.", "Nothing else happened."]
            for i in range(40)
        },
    )
    store.bump_generation()
    lexical.sync(store)

    new_ids = put_article(store, "fresh", ["A brand new story about tramlines."])
    store.bump_generation()
    recording = RecordingStore(store)
    stats = lexical.sync(recording)
    assert recording.fetched == new_ids
    assert (stats.added, stats.unchanged, stats.chunks_added, stats.chunks_removed) == (1, 40, 1, 0)
    assert lexical.chunk_count() == 81


def test_interrupted_sync_leaves_the_index_unchanged(store, lexical):
    a = put_article(store, "a", ["Alpha harbour reopened."])
    b = put_article(store, "b", ["Budget vote delayed."])
    store.bump_generation()
    lexical.sync(store)

    remove_article(store, "a", a)  # the sync deletes a's rows before it fetches c's chunks
    put_article(store, "c", ["Comet sighted over the bay."])
    store.bump_generation()
    with pytest.raises(ConnectionError):
        lexical.sync(FailingStore(store))

    assert lexical.live_chunk_ids() == {*a, *b}
    assert lexical.synced_generation() == 1
    assert [cid for cid, _ in lexical.search("harbour", 5)] == a

    stats = lexical.sync(store)  # a later good sync finishes the job
    assert (stats.added, stats.removed) == (1, 1)
    assert lexical.live_chunk_ids() == {*b, "c:v1:0"}


def test_search_ranks_exact_matches_first_and_weights_titles(store, lexical):
    put_article(store, "both", ["Counterfeit passports were seized at the border."], title="Border news")
    put_article(store, "one", ["New passports will have a blue cover."], title="Design news")
    put_article(store, "title", ["Officials gave few details."], title="Counterfeit goods crackdown")
    put_article(store, "none", ["The weather stayed mild all week."], title="Weather")
    store.bump_generation()
    lexical.sync(store)

    ranked = [cid for cid, _ in lexical.search("counterfeit passports", 10)]
    assert ranked[0] == "both:v1:0"
    assert set(ranked) == {"both:v1:0", "one:v1:0", "title:v1:0"}
    scores = [s for _, s in lexical.search("counterfeit passports", 10)]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    # Stemming: "passport" finds "passports".
    assert {cid for cid, _ in lexical.search("passport", 10)} == {"both:v1:0", "one:v1:0"}
    # The title weight lifts a one-word title hit above a one-word text hit (equal idf).
    assert [cid for cid, _ in lexical.search("crackdown seized", 10)] == ["title:v1:0", "both:v1:0"]


def test_coordination_levels_put_passages_with_every_term_first(store, lexical):
    put_article(
        store, "heavy", ["Passports, passports: passport queues as passports ran out."], title="Passports"
    )
    put_article(store, "name", ["Lammy met Lammy's counterparts; Lammy spoke."], title="Lammy abroad")
    put_article(
        store,
        "both",
        ["In a long speech on many subjects the minister, Lammy, said forged passports were a concern."],
    )
    put_article(store, "names-and-one", ["Lammy and Cooper discussed visas."])
    put_article(store, "names-and-other", ["Lammy and Cooper discussed borders at length."])
    put_article(store, "noise", ["Weather was mild."])
    store.bump_generation()
    lexical.sync(store)

    ranked = [cid for cid, _ in lexical.search("What did Lammy say about passports?", 10)]
    assert ranked[0] == "both:v1:0"
    assert set(ranked) == {
        "both:v1:0",
        "heavy:v1:0",
        "name:v1:0",
        "names-and-one:v1:0",
        "names-and-other:v1:0",
    }
    plain = LexicalIndex(None, coordinate=False)
    plain.sync(store)
    assert plain.search("What did Lammy say about passports?", 10)[0][0] == "heavy:v1:0"
    plain.close()
    # Every name plus some other term ranks above a passage with the other terms but no names.
    ranked = [cid for cid, _ in lexical.search("Did Lammy and Cooper discuss visas or borders?", 10)]
    assert set(ranked[:2]) == {"names-and-one:v1:0", "names-and-other:v1:0"}
    assert set(ranked[2:]) == {"name:v1:0", "both:v1:0"}


def test_search_filters_by_source_and_dates(store, lexical):
    def day(d: int) -> datetime:
        return datetime(2024, 3, d, 12, tzinfo=UTC)

    put_article(store, "bbc1", ["Tram strike continues."], source="BBC", published_at=day(1))
    put_article(store, "bbc5", ["Tram strike ends."], source="BBC", published_at=day(5))
    put_article(store, "reu3", ["Tram strike talks."], source="Reuters", published_at=day(3))
    put_article(store, "undated", ["Tram strike history."], source="Reuters")
    store.bump_generation()
    lexical.sync(store)

    def ids(**kw) -> set[str]:
        return {cid.split(":")[0] for cid, _ in lexical.search("tram strike", 10, **kw)}

    assert ids() == {"bbc1", "bbc5", "reu3", "undated"}
    assert ids(source="bbc") == {"bbc1", "bbc5"}
    assert ids(source=" REUTERS ") == {"reu3", "undated"}
    assert ids(source="AP") == set()
    assert ids(since_ts=utc_timestamp(day(3))) == {"bbc5", "reu3"}
    assert ids(until_ts=utc_timestamp(day(3))) == {"bbc1", "reu3"}
    assert ids(source="BBC", since_ts=utc_timestamp(day(2)), until_ts=utc_timestamp(day(9))) == {"bbc5"}
    assert lexical.sources_named("bbc") == ["BBC"]


def test_fts_syntax_in_user_text_is_quoted(store, lexical):
    put_article(store, "a", ["NEAR the AND gate, OR else."])
    store.bump_generation()
    lexical.sync(store)
    for query in ['"AND OR NEAR( * ^', "col:title", "a' OR 1=1 --", "{title}: x", '"""', "-", "NOT", "^near"]:
        lexical.search(query, 5)  # must not raise
    assert [cid for cid, _ in lexical.search('"NEAR( gate*', 5)] == ["a:v1:0"]
    assert lexical.search("", 5) == []
    assert lexical.search("what is it?", 5) == []  # nothing but stopwords


def test_phrase_presence_uses_the_fts_tokenizer(store, lexical):
    put_article(
        store, "a", ["Boris Johnson renewed his passport.", "Johnson, Boris: a profile."], title="Lammy"
    )
    store.bump_generation()
    lexical.sync(store)
    got = lexical.phrase_presence(["a:v1:0", "a:v1:1"], ["Boris Johnson", "passports", "Lammy"])
    assert got["Boris Johnson"] == ({"a:v1:0"}, set())
    assert got["passports"] == ({"a:v1:0"}, set())
    assert got["Lammy"] == (set(), {"a:v1:0", "a:v1:1"})


def test_in_memory_and_persistent_modes(tmp_path, store):
    put_article(store, "a", ["Alpha harbour reopened."])
    store.bump_generation()

    memory = LexicalIndex(None)
    assert memory.path is None
    memory.sync(store)
    assert [cid for cid, _ in memory.search("harbour", 3)] == ["a:v1:0"]
    memory.close()

    path = tmp_path / "sub" / "lexical.sqlite3"
    first = LexicalIndex(path)
    first.sync(store)
    first.close()
    reopened = LexicalIndex(path)
    assert reopened.synced_generation() == 1
    assert reopened.sync(store).skipped is True
    assert [cid for cid, _ in reopened.search("harbour", 3)] == ["a:v1:0"]
    reopened.close()


def test_analyse_query_finds_names_and_content_words():
    terms = analyse_query("What did Lammy say about passports?")
    assert (terms.words, terms.names, terms.plain_words) == (
        ("lammy", "passports"),
        ("Lammy",),
        ("passports",),
    )
    terms = analyse_query("Did Boris Johnson tell the BBC about the US visa rules?")
    assert terms.names == ("Boris Johnson", "BBC", "US")
    assert terms.plain_words == ("visa", "rules")
    terms = analyse_query("Passports: what did the minister say?")
    assert terms.names == ("Passports",)
    assert analyse_query("WHAT DID LAMMY SAY").names == ()
    assert analyse_query("Who is he?").words == ()


def test_an_article_synced_with_missing_chunks_is_reread_after_its_repair(store, lexical):
    ids = put_article(store, "a", ["Tramline budget approved.", "Council votes on tramline depot."])
    store.delete_chunks([ids[1]])  # an interrupted run: listed in the manifest, missing in the store
    store.bump_generation()
    assert lexical.sync(store).missing_chunks == 1
    assert lexical.live_chunk_ids() == {ids[0]}
    put_article(store, "a", ["Tramline budget approved.", "Council votes on tramline depot."])  # the repair
    store.bump_generation()
    lexical.sync(store)
    assert lexical.live_chunk_ids() == set(ids)
    assert [cid for cid, _ in lexical.search("depot", 5)] == [ids[1]]


def speech_article(n: int, extra: str = "") -> Article:
    body = (
        f"Mayor Ada Brennan said bridge {n} would reopen in May.\n\n"
        f"\"We are on schedule,\" she added. {extra}\n\n"
        f"The council voted on item {n}."
    )
    return Article(
        id=f"story-{n}", title=f"Bridge {n} to reopen", body=body, source="Wire",
        published_at=datetime(2024, 1, n + 1, tzinfo=UTC), path=f"story-{n}.txt",
    )


def rows(index: LexicalIndex) -> dict[str, list[tuple]]:
    """Every row of the index's tables, without the row ids that depend on insertion order."""
    db = index._db
    return {
        "fts": sorted(db.execute("SELECT chunk_id, article_id, title, text FROM fts").fetchall()),
        "chunk_rows": sorted(db.execute("SELECT chunk_id, article_id FROM chunk_rows").fetchall()),
        "articles": sorted(db.execute("SELECT * FROM articles").fetchall()),
        "statements": sorted(db.execute(
            "SELECT article_id, chunk_id, start, end, position, speaker, speaker_key, roles, verb, via, text, "
            "source, published_at, published_ts, title FROM statements"
        ).fetchall()),
    }


def test_rows_written_while_indexing_are_those_a_sync_writes(tmp_path):
    articles = {f"story-{n}": speech_article(n) for n in range(5)}
    store = open_store(data_dir=str(tmp_path / "store"))
    during = LexicalIndex(tmp_path / "during.sqlite3")
    after = LexicalIndex(tmp_path / "after.sqlite3")
    batches: list[list[str]] = []

    def on_stored(batch):
        batches.append([record.article_id for record, _ in batch])
        during.add_stored(batch)

    indexer = Indexer(store, EMB, articles=lambda _d: list(articles.values()), batch_chunks=2, on_stored=on_stored)
    indexer.run(tmp_path)
    assert batches == [["story-0", "story-1"], ["story-2", "story-3"], ["story-4"]]
    synced = during.sync(store, force=True)
    assert (synced.added, synced.updated, synced.unchanged, synced.chunks_added, synced.statements) == (0, 0, 5, 0, 0)
    after.sync(store)
    assert rows(during) == rows(after)
    assert [(s.statement.speaker, s.statement.text) for s in during.statements("brennan")][:2] == [
        ("Ada Brennan", "Mayor Ada Brennan said bridge 0 would reopen in May."),
        ("Ada Brennan", "\"We are on schedule,\" she added."),
    ]

    articles["story-1"] = speech_article(1, extra="Officials later revised the date.")
    del articles["story-2"]
    articles["story-7"] = speech_article(7)
    batches.clear()
    indexer.run(tmp_path)
    assert batches == [["story-1", "story-7"]]
    synced = during.sync(store, force=True)
    assert (synced.added, synced.updated, synced.removed, synced.unchanged, synced.chunks_added) == (0, 0, 1, 5, 0)
    after.sync(store)
    assert rows(during) == rows(after)

    manifest = store.manifest()
    again = during.add_stored([(manifest["story-7"], [])])  # already indexed, e.g. by another process's sync
    assert (again.added, again.updated, again.unchanged, again.chunks_added) == (0, 0, 1, 0)
    assert rows(during) == rows(after)
    during.close()
    after.close()
