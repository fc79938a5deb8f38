"""Questions asked while `NewsroomService.reindex` replaces every article, in one process.

Every paragraph of an article carries its version ("version 7"), so an answer that mixed an
article's old and new text would show two versions for one article id. Readers ask in a loop on
two threads while a writer reindexes over and over (sometimes with `rebuild=True`, which drops and
recreates the collections). Every answer must come back (no exception, no "collection not found")
with, per article, passages of one version only. (Checked to fail when the retriever trusts
chunks its manifest snapshot does not list: the dense-only case then mixes versions.)
"""

from __future__ import annotations

import json
from dataclasses import replace
import random
import re
import threading
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.wiring import build_newsroom
from index.embedder import HashingEmbedder
from index.indexer import IndexerHooks
from index.locking import INDEX_LOCK, ProcessLock

WORDS = "harbour bridge budget council tram ferry school strike museum flood tariff vaccine".split()
ROUNDS = 8  # reindexes while readers ask; every 4th is a rebuild (collections dropped and recreated)
VERSION = re.compile(r"\bversion (\d+)\b")
QUESTIONS = [
    "What did the council decide about the harbour bridge budget?",
    "Why did the ferry strike close the school?",
    "What happened to the museum after the flood?",
    "tram tariff vaccine",
]


def write_corpus(corpus_dir: Path, version: int, articles: int, rng: random.Random) -> None:
    """All articles at `version` (each paragraph says so), written atomically as one JSONL file."""
    tmp = corpus_dir / "articles.jsonl.tmp"  # not a corpus file: unsupported suffix, ignored
    with tmp.open("w", encoding="utf-8") as f:
        for i in range(articles):
            paragraphs = [
                f"Dispatch {i} version {version} paragraph {p}: "
                + " ".join(rng.choice(WORDS) for _ in range(50))
                + f". This is version {version}."
                for p in range(4)
            ]
            record = {
                "id": f"story-{i}",
                "title": f"Story {i}",
                "body": "\n\n".join(paragraphs),
                "source": "Test Wire",
                "published_at": f"2024-05-{1 + i % 28:02d}",
            }
            f.write(json.dumps(record) + "\n")
    tmp.replace(corpus_dir / "articles.jsonl")


def versions_by_article(passages) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in passages:
        found = set(VERSION.findall(p.text))
        assert found, f"passage without a version token: {p.text[:80]!r}"
        out.setdefault(p.article_id, set()).update(found)
    return out


@pytest.fixture
def newsroom(tmp_path):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        corpus_dir=corpus_dir,
        data_dir=tmp_path / "data",
        index_refresh_seconds=0,  # readers check the generation on every question
        llm_provider="none",
    )
    return build_newsroom(settings, embedder=HashingEmbedder())


@pytest.mark.parametrize("ranking", ["hybrid", "dense-only"])
def test_answers_during_reindex_never_mix_versions_or_fail(newsroom, ranking):
    rng = random.Random(11)
    corpus_dir = newsroom.corpus_dir
    write_corpus(corpus_dir, 0, articles=8, rng=rng)
    newsroom.reindex()
    # Widen the windows between the indexer's writes (new chunks written but not committed; old
    # chunks not yet deleted) so readers land in them: several batches a run, a pause per write.
    newsroom.indexer.batch_chunks = 8
    config = replace(newsroom.retriever.config, max_per_article=4)  # several passages of one article per answer
    if ranking == "dense-only":
        # BM25 and the coverage bonus only know committed chunks and would outrank uncommitted
        # ones anyway; dense-only puts the live-chunk filter of the vector search to the test.
        config = replace(config, lexical_weight=0.0, coverage_alpha=0.0)
    newsroom.retriever.config = config
    newsroom.indexer.hooks = IndexerHooks(after_write=lambda _n: time.sleep(0.03))

    stop = threading.Event()
    errors: list[str] = []
    answers: list[tuple[bool, dict[str, set[str]]]] = []  # (asked while reindexing, versions per article)

    def reader(seed: int) -> None:
        pick = random.Random(seed)
        while not stop.is_set():
            during = newsroom.reindexing
            try:
                answer = newsroom.ask(pick.choice(QUESTIONS))
                seen = versions_by_article(answer.retrieved)
                cited = versions_by_article([c.passage for c in answer.citations])
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            for aid, versions in cited.items():
                seen.setdefault(aid, set()).update(versions)
            answers.append((during or newsroom.reindexing, seen))

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    reports = []
    try:
        for version in range(1, ROUNDS + 1):
            write_corpus(corpus_dir, version, articles=8, rng=rng)
            reports.append(newsroom.reindex(rebuild=version % 4 == 0))
            time.sleep(0.02)  # let readers in between runs too
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    assert errors == []
    assert [r.updated + r.added for r in reports] == [8] * ROUNDS  # every run replaced every article
    mixed = [seen for _, seen in answers if any(len(v) > 1 for v in seen.values())]
    assert mixed == []
    # The test exercised what it claims: answers during reindexes, from several versions.
    assert sum(during for during, _ in answers) >= 5
    assert len({v for _, seen in answers for vs in seen.values() for v in vs}) >= 3
    final = newsroom.ask(QUESTIONS[0])
    assert set().union(*versions_by_article(final.retrieved).values()) == {str(ROUNDS)}


def test_a_second_reindex_is_refused_in_process_and_across_processes(newsroom):
    from bot.service import ReindexBusy

    write_corpus(newsroom.corpus_dir, 0, articles=3, rng=random.Random(3))
    inside = threading.Event()
    release = threading.Event()

    def slow_progress(_p) -> None:
        inside.set()
        release.wait(timeout=30)

    first = threading.Thread(target=lambda: newsroom.reindex(progress=slow_progress))
    first.start()
    try:
        assert inside.wait(timeout=30)
        with pytest.raises(ReindexBusy, match="^a reindex is already running$"):
            newsroom.reindex()
    finally:
        release.set()
        first.join(timeout=60)

    # Another process's `newsbot index` holds <data_dir>/index.lock (a flock is per open file,
    # so holding it from this test process stands in for that process).
    other = ProcessLock(newsroom.store.data_dir / INDEX_LOCK, command="newsbot index")
    other.acquire()
    try:
        busy = r"another reindex is running on .*'newsbot index' \(pid \d+, since "
        with pytest.raises(ReindexBusy, match=busy):
            newsroom.reindex()
        assert not newsroom.reindexing  # the refusal left nothing held
    finally:
        other.release()
    assert newsroom.reindex().unchanged == 3
