"""Retriever: fusion + name coverage, diversity, filters, recency, liveness, refresh; real Chroma on disk."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core import Filters
from bot.retrieval import RetrievalConfig, Retriever, date_bounds
from index.embedder import Embedder, HashingEmbedder
from index.lexical import LexicalIndex
from index.models import Chunk
from index.store import ArticleRecord, ChunkFilter, ChunkStore, chroma_where, open_store

HASHING = HashingEmbedder(dim=256)
TARGET = (
    "Secretary Lammy stated that Russia is even using counterfeit passports to move agents across Europe."
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def put_articles(
    store: ChunkStore,
    embedder: Embedder,
    articles: Sequence[dict],
    *,
    commit: bool = True,
    bump: bool = True,
) -> dict[str, list[str]]:
    """Write articles ({id, texts, title?, source?, published_at?, version?}); returns their chunk ids."""
    chunks: list[Chunk] = []
    hashes: list[str] = []
    records: list[ArticleRecord] = []
    out: dict[str, list[str]] = {}
    for art in articles:
        aid, version = art["id"], art.get("version", "v1")
        title = art.get("title", f"Report {aid}")
        ids = []
        pos = 0
        for i, text in enumerate(art["texts"]):
            cid = f"{aid}:{version}:{i}"
            chunks.append(
                Chunk(
                    id=cid,
                    article_id=aid,
                    index=i,
                    text=text,
                    start=pos,
                    end=pos + len(text),
                    title=title,
                    source=art.get("source", "Wire"),
                    published_at=art.get("published_at"),
                    url=f"https://news.example/{aid}",
                )
            )
            hashes.append(f"{aid}-{version}")
            ids.append(cid)
            pos += len(text) + 2
        out[aid] = ids
        records.append(
            ArticleRecord(
                article_id=aid,
                content_hash=f"{aid}-{version}",
                chunk_ids=tuple(ids),
                title=title,
                source=art.get("source", "Wire"),
                published_at=art.get("published_at"),
                url=f"https://news.example/{aid}",
                path=None,
            )
        )
    store.add_chunks(chunks, embedder.embed_documents([c.text for c in chunks]), hashes)
    if commit:
        store.commit_articles(records)
    if bump:
        store.bump_generation()
    return out


def lammy_corpus(seed: int = 7, *, per_group: int = 150) -> list[dict]:
    """Many passport stories without Lammy, many Lammy stories on other topics, one with both.

    Plus unrelated coverage, so neither "Lammy" nor "passports" is in half the corpus (as in a
    real newsroom). The hard negatives: passport stories with "passport" in the title and text
    (BM25 loves them) and Lammy stories phrased like the question (the embedder loves them).
    """
    rng = random.Random(seed)
    places = [
        "Dover",
        "Calais",
        "Belfast",
        "Gatwick",
        "Leeds",
        "Cardiff",
        "Glasgow",
        "Kent",
        "Riga",
        "Vilnius",
    ]
    passport_lines = [
        "The passport office warned of delays as demand for new passports rose in {p}.",
        "Travellers in {p} were urged to check their passports before the holidays; expired passports cause delays.",
        "Border officials in {p} seized counterfeit passports hidden in a lorry.",
        "Russia denied issuing passports to residents near {p}, officials said.",
        "Passports issued in {p} will carry a new chip; passport covers will be redesigned.",
        "Fees for passports and passport renewals in {p} will rise next spring.",
    ]
    passport_titles = [
        "Passport fees rise",
        "Passports: what changes",
        "Border news",
        "Travel update",
        "Home affairs",
    ]
    lammy_topics = [
        "climate finance for developing countries",
        "a trade deal with India",
        "humanitarian aid for Gaza",
        "military support for Ukraine",
        "relations with China",
        "sanctions on Russian oil exports",
        "the situation in Sudan",
        "a summit of NATO ministers",
    ]
    lammy_lines = [
        "Foreign Secretary David Lammy said the government would prioritise {t}.",
        "Lammy stated that Russia must face consequences over {t}.",
        "Asked what he would say about {t}, Lammy did not comment.",
        "What did Lammy say about {t}? He told MPs it remained a priority.",
        "Speaking in {p}, Lammy said Britain was committed to {t}.",
    ]
    other_lines = [
        "Heavy rain flooded roads in {p} overnight.",
        "The football club from {p} signed a new striker.",
        "House prices in {p} fell for a third month.",
        "A new bridge in {p} opened to traffic.",
        "Teachers in {p} voted to accept the pay offer.",
    ]
    fillers = [
        "Officials gave no further details on Tuesday.",
        "The announcement was welcomed by business groups.",
        "Critics said the plans did not go far enough.",
        "A further statement is expected later this week.",
    ]
    articles: list[dict] = []
    for i in range(per_group):
        line = rng.choice(passport_lines).format(p=rng.choice(places))
        articles.append(
            {"id": f"pass{i:03d}", "title": rng.choice(passport_titles), "texts": [line, rng.choice(fillers)]}
        )
    for i in range(per_group):
        line = rng.choice(lammy_lines).format(t=rng.choice(lammy_topics), p=rng.choice(places))
        articles.append(
            {"id": f"lammy{i:03d}", "title": "Foreign policy", "texts": [line, rng.choice(fillers)]}
        )
    for i in range(2 * per_group):
        line = rng.choice(other_lines).format(p=rng.choice(places))
        articles.append({"id": f"other{i:03d}", "title": "Local news", "texts": [line, rng.choice(fillers)]})
    articles.append(
        {
            "id": "pass-queues",
            "title": "Passports: passport queues",
            "texts": ["Passports, passports everywhere: passport queues grew as passports ran short."],
        }
    )
    articles.append(
        {
            "id": "target",
            "title": "Foreign Office warns on espionage",
            "texts": [TARGET, "The remarks came during a visit to Warsaw on Tuesday."],
        }
    )
    return articles


@pytest.fixture()
def store(tmp_path) -> ChunkStore:
    return open_store(data_dir=str(tmp_path))


@pytest.fixture()
def lexical(tmp_path) -> LexicalIndex:
    index = LexicalIndex(tmp_path / "lexical.sqlite3")
    yield index
    index.close()


def retriever(store, lexical, embedder: Embedder = HASHING, **knobs) -> Retriever:
    return Retriever(store, embedder, lexical, RetrievalConfig(**knobs), refresh_seconds=0.0)


def article_ids(result) -> list[str]:
    return [p.article_id for p in result.passages]


def test_names_count_lammy_on_passports_ranks_first(store, lexical):
    ids = put_articles(store, HASHING, lammy_corpus())
    result = retriever(store, lexical).retrieve("What did Lammy say about passports?", k=8)

    top = result.passages[0]
    assert top.chunk_id == ids["target"][0]
    assert top.text == TARGET
    assert (top.article_id, top.title, top.source, top.url) == (
        "target",
        "Foreign Office warns on espionage",
        "Wire",
        "https://news.example/target",
    )
    assert top.lexical_score is not None
    assert [p.score for p in result.passages] == sorted((p.score for p in result.passages), reverse=True)
    # the first query after the articles were stored also syncs the lexical index
    assert set(result.timings) == {"sync", "embed", "dense", "lexical", "fetch", "fuse"}
    assert result.candidates >= len(result.passages) == 8

    # The corpus is hard: plain BM25 prefers the passport-heavy story and the embedder the Lammy
    # stories phrased like the question; without coordination levels and the coverage bonus the
    # target is not first.
    plain_bm25 = LexicalIndex(None, coordinate=False)
    ablated = retriever(store, plain_bm25, coverage_alpha=0.0, article_support=0.0).retrieve(
        "What did Lammy say about passports?", k=40
    )
    assert ablated.passages[0].chunk_id != ids["target"][0]
    assert ids["target"][0] in [p.chunk_id for p in ablated.passages]
    plain_bm25.close()


def test_diversity_caps_passages_per_article(store, lexical):
    put_articles(
        store,
        HASHING,
        [
            {
                "id": "big",
                "texts": [f"Tramline extension phase {i} approved by the tramline board." for i in range(5)],
            },
            {"id": "o1", "texts": ["The tramline opens in May."]},
            {"id": "o2", "texts": ["Tramline fares were frozen."]},
            {"id": "o3", "texts": ["Protest against the tramline route."]},
            {"id": "unrelated", "texts": ["Cricket season starts early."]},
        ],
    )
    result = retriever(store, lexical).retrieve("tramline board approved", k=5)
    assert Counter(article_ids(result)) == Counter({"big": 2, "o1": 1, "o2": 1, "o3": 1})
    assert article_ids(result)[0] == "big"

    uncapped = retriever(store, lexical, max_per_article=5).retrieve("tramline board approved", k=5)
    assert article_ids(uncapped) == ["big"] * 5


def test_source_filter_is_case_insensitive_exact(store, lexical):
    put_articles(
        store,
        HASHING,
        [
            {"id": "bbc-a", "source": "BBC", "texts": ["Tram strike talks resume."]},
            {"id": "bbc-b", "source": "bbc", "texts": ["Tram strike called off."]},
            {"id": "bbc-news", "source": "BBC News", "texts": ["Tram strike explained."]},
            {"id": "reu-a", "source": "Reuters", "texts": ["Tram strike hits commuters."]},
            {"id": "ap-a", "source": "AP", "texts": ["Tram strike enters day two."]},
        ],
    )
    r = retriever(store, lexical)
    assert set(article_ids(r.retrieve("tram strike", k=8, filters=Filters(source="Bbc")))) == {
        "bbc-a",
        "bbc-b",
    }
    assert article_ids(r.retrieve("tram strike", k=8, filters=Filters(source="reuters"))) == ["reu-a"]
    assert r.retrieve("tram strike", k=8, filters=Filters(source="Guardian")).passages == []
    assert len(r.retrieve("tram strike", k=8).passages) == 5


def test_date_filters_are_inclusive_days_in_utc(store, lexical):
    def late(day: int) -> datetime:
        return datetime(2024, 3, day, 23, 30, tzinfo=UTC)

    put_articles(
        store,
        HASHING,
        [{"id": f"d{d}", "published_at": late(d), "texts": [f"Budget hearing day {d}."]} for d in range(1, 7)]
        + [{"id": "undated", "texts": ["Budget hearing background."]}],
    )
    r = retriever(store, lexical)

    def got(**kw) -> set[str]:
        return set(article_ids(r.retrieve("budget hearing", k=10, filters=Filters(**kw))))

    assert got(since=date(2024, 3, 2), until=date(2024, 3, 4)) == {"d2", "d3", "d4"}
    assert got(since=date(2024, 3, 5)) == {"d5", "d6"}
    assert got(until=date(2024, 3, 1)) == {"d1"}
    assert got(since=date(2024, 3, 5), until=date(2024, 3, 4)) == set()
    assert got() == {"d1", "d2", "d3", "d4", "d5", "d6", "undated"}


def test_as_of_favours_coverage_from_around_that_date(store, lexical):
    as_of = date(2024, 6, 15)
    noon = datetime(2024, 6, 15, 12, tzinfo=UTC)
    text = "Harbour authority approves the dredging plan."
    put_articles(
        store,
        HASHING,
        [
            {"id": "far", "published_at": noon - timedelta(days=40), "texts": [text]},
            {"id": "near", "published_at": noon - timedelta(days=2), "texts": [text]},
            {"id": "later", "published_at": noon + timedelta(days=10), "texts": [text]},
            {"id": "undated", "texts": [text]},
        ],
    )
    r = retriever(store, lexical)
    assert article_ids(r.retrieve("dredging plan", k=4, filters=Filters(as_of=as_of))) == [
        "near",
        "undated",
        "far",
        "later",
    ]
    assert article_ids(r.retrieve("dredging plan", k=4, filters=Filters(as_of=date(2024, 5, 7))))[0] == "far"
    assert (
        article_ids(r.retrieve("dredging plan", k=4, filters=Filters(as_of=date(2024, 6, 25))))[0] == "later"
    )

    # The multiplier itself: same day = 1, one half-life back is halfway to the floor, the day
    # after as_of is already "later" (cut by future_penalty), a week after falls below a month back.
    half = r.config.recency_floor + (1 - r.config.recency_floor) * 0.5
    assert r.recency(noon, as_of) == pytest.approx(1.0, abs=0.05)
    assert r.recency(noon - timedelta(days=r.config.recency_half_life_days - 0.5), as_of) == pytest.approx(half)
    assert r.recency(noon + timedelta(days=1), as_of) < r.config.future_penalty
    assert r.recency(noon + timedelta(days=7), as_of) < r.recency(noon - timedelta(days=30), as_of)
    assert r.recency(None, as_of) == pytest.approx(half)


def test_chunks_not_listed_in_the_manifest_are_never_returned(store, lexical):
    committed = put_articles(store, HASHING, [{"id": "kept", "texts": ["Zeppelin museum opens downtown."]}])
    pending = put_articles(
        store,
        HASHING,
        [{"id": "pending", "texts": ["Zeppelin museum zeppelin museum opens."]}],
        commit=False,
    )
    store.bump_generation()
    # The uncommitted chunk is in Chroma and is the best dense hit ...
    vector = HASHING.embed_query("zeppelin museum")
    assert store.query(vector, k=5)[0][0] == pending["pending"][0]
    # ... but it is not live, so the retriever never returns it.
    r = retriever(store, lexical)
    result = r.retrieve("zeppelin museum", k=5)
    assert [p.chunk_id for p in result.passages] == committed["kept"]
    assert r.passage(pending["pending"][0]) is None
    shown = r.passage(committed["kept"][0])
    assert shown is not None and shown.text == "Zeppelin museum opens downtown."
    assert r.passage("no-such-chunk") is None


def test_committed_change_shows_up_once_refresh_is_due(store, lexical):
    clock = FakeClock()
    old = put_articles(store, HASHING, [{"id": "a", "texts": ["The council approved the tram depot."]}])
    other = put_articles(store, HASHING, [{"id": "b", "texts": ["The council debated parking fees."]}])
    r = Retriever(store, HASHING, lexical, refresh_seconds=10.0, clock=clock)
    assert [p.text for p in r.retrieve("council tram depot", k=1).passages] == [
        "The council approved the tram depot."
    ]

    # The indexer's write order: new chunks, manifest record, delete old chunks, bump.
    new = put_articles(
        store,
        HASHING,
        [{"id": "a", "version": "v2", "texts": ["The council rejected the tram depot."]}],
        bump=False,
    )
    store.delete_chunks(old["a"])
    store.bump_generation()

    clock.now += 5  # not due: the old chunk is gone from the store, the new one is not live yet
    assert article_ids(r.retrieve("council tram depot", k=5)) == ["b"]
    clock.now += 6  # due: synced
    result = r.retrieve("council tram depot", k=5)
    assert [p.chunk_id for p in result.passages] == [new["a"][0], other["b"][0]]
    assert result.passages[0].text == "The council rejected the tram depot."
    assert "sync" in result.timings


def test_follows_the_indexer_through_edit_delete_and_rebuild(store, lexical, tmp_path):
    from index.indexer import Indexer
    from index.models import Article

    def corpus(bodies: dict[str, str]):
        arts = [
            Article(id=aid, title=f"About {aid}", body=body, source="Wire", published_at=datetime(2024, 5, 1))
            for aid, body in bodies.items()
        ]
        return lambda _dir: iter(arts)

    bodies = {
        "tram": "The council approved the tram depot on Monday.",
        "bins": "Bin collections move to Fridays.",
    }
    Indexer(store, HASHING, articles=corpus(bodies)).run(tmp_path)
    r = retriever(store, lexical)
    assert article_ids(r.retrieve("tram depot council", k=1)) == ["tram"]

    bodies["tram"] = "The council rejected the tram depot on Tuesday."
    Indexer(store, HASHING, articles=corpus(bodies)).run(tmp_path)
    assert [p.text for p in r.retrieve("tram depot council", k=1).passages] == [bodies["tram"]]

    del bodies["bins"]
    Indexer(store, HASHING, articles=corpus(bodies)).run(tmp_path, force=True)
    assert article_ids(r.retrieve("bin collections", k=5)) == ["tram"]

    Indexer(store, HASHING, articles=corpus(bodies)).run(tmp_path, rebuild=True)
    result = r.retrieve("tram depot council", k=5)
    assert [p.text for p in result.passages] == [bodies["tram"]]
    assert lexical.live_chunk_ids() == {p.chunk_id for p in result.passages}
    assert lexical.synced_generation() == store.generation()


def test_chroma_where_and_date_bounds():
    since, until = date_bounds(date(2024, 3, 2), date(2024, 3, 4))
    assert since == int(datetime(2024, 3, 2, tzinfo=UTC).timestamp())
    assert until == int(datetime(2024, 3, 5, tzinfo=UTC).timestamp()) - 1
    assert chroma_where(ChunkFilter()) is None
    assert chroma_where(ChunkFilter(sources=("BBC",))) == {"source": {"$in": ["BBC"]}}
    assert chroma_where(ChunkFilter(sources=("BBC", "bbc"), since_ts=since, until_ts=until)) == {
        "$and": [
            {"source": {"$in": ["BBC", "bbc"]}},
            {"published_ts": {"$gte": since}},
            {"published_ts": {"$lte": until}},
        ]
    }


@pytest.mark.model
def test_names_count_with_the_real_model(store, lexical):
    from index.embedder import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder()
    ids = put_articles(store, model, lammy_corpus(per_group=20))
    result = retriever(store, lexical, model).retrieve("What did Lammy say about passports?", k=8)
    assert result.passages[0].chunk_id == ids["target"][0]
