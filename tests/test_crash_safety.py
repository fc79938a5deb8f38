"""`newsbot index` killed for real, again and again: the next run always equals a clean rebuild.

Each round changes the synthetic corpus (edits, additions, deletions), starts the real CLI in a
subprocess and kills it: at a planned point (`NEWSBOT_TEST_CRASH_AFTER_WRITES=N` makes the
process `os._exit(137)` right after its N-th store write, no cleanup, like SIGKILL) or at a
random moment (SIGKILL after a seeded random delay). Sometimes the corpus changes again before
the repair run. Then a normal `newsbot index` must leave exactly what indexing the same corpus
into a fresh data dir leaves: the same chunk ids, the same manifest (article id → content hash
and chunk ids), and every chunk findable through the vector index. The expectation per round is
computed from the chunker (what the indexer writes for a corpus); a real clean rebuild of the
final corpus into a fresh data dir checks that expectation once.

Budget: each process start costs 1–3 s (chromadb import), so the rounds are few (6 planned +
4 timed kills, 11 normal runs).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:
    from newsbot_env import NEWSBOT, cli, subprocess_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import NEWSBOT, cli, subprocess_env  # type: ignore[no-redef]

from index.chunking import DEFAULT_CONFIG, chunk_article, embedding_text
from index.embedder import HashingEmbedder
from index.indexer import Indexer
from index.models import Article
from index.parsers import iter_corpus
from index.store import ChunkStore

WORDS = (
    "council budget river bridge school teacher mayor election court police harbour festival tram "
    "museum library hospital strike ferry airport stadium market drought flood vaccine tariff"
).split()
PLANNED_CRASH_POINTS = [1, 2, 3, 4, 5, 2]  # every round makes >= 5 store writes (see `mutate`)
TIMED_KILLS = 4


class Corpus:
    """A JSONL corpus of small articles; every edit gives an article a new version token."""

    def __init__(self, folder: Path, rng: random.Random, size: int):
        self.file = folder / "articles.jsonl"
        self.rng = rng
        self.versions: dict[str, int] = {}
        self.next_id = 0
        for _ in range(size):
            self.add()
        self.write()

    def add(self) -> None:
        self.versions[f"art-{self.next_id:04d}"] = 0
        self.next_id += 1

    def mutate(self, edits: int, adds: int, deletes: int) -> None:
        """Edit, add and delete articles, then rewrite the file (edits change every chunk)."""
        picked = self.rng.sample(sorted(self.versions), edits + deletes)
        for aid in picked[:edits]:
            self.versions[aid] += 1
        for aid in picked[edits:]:
            del self.versions[aid]
        for _ in range(adds):
            self.add()
        self.write()

    def record(self, aid: str, version: int) -> dict[str, object]:
        rng = random.Random(f"{aid}/{version}")
        paragraphs = [
            f"Report {aid} version {version} part {p}. "
            + " ".join(rng.choice(WORDS) for _ in range(45))
            + "."
            for p in range(4)
        ]
        day = 1 + int(aid[-4:]) % 28
        return {
            "id": aid,
            "title": f"Story {aid}",
            "body": "\n\n".join(paragraphs),
            "source": "Test Wire",
            "published_at": f"2024-03-{day:02d}",
        }

    def write(self) -> None:
        tmp = self.file.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for aid in sorted(self.versions):
                f.write(json.dumps(self.record(aid, self.versions[aid])) + "\n")
        tmp.replace(self.file)  # never a half-written corpus file: the test is about the index


def cli_env(corpus_dir: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    return subprocess_env(NEWSBOT_CORPUS_DIR=str(corpus_dir), NEWSBOT_DATA_DIR=str(data_dir), **extra)


def start_index(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*NEWSBOT, "index", "--json"],
        cwd=env["NEWSBOT_DATA_DIR"],  # no stray .env from the repo
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_index(env: dict[str, str]) -> dict[str, object]:
    proc = start_index(env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"newsbot index failed ({proc.returncode}): {err}"
    return json.loads(out)


def wait_for_first_write(proc: subprocess.Popen, data_dir: Path) -> None:
    """Return once the process has written to the store (its SQLite file changed) or ended.

    Process start (imports) takes most of a run's time; a kill timed from here lands in the
    write phase instead of mostly before it.
    """
    db = data_dir / "chroma" / "chroma.sqlite3"
    before = db.stat().st_mtime_ns
    deadline = time.monotonic() + 60
    while proc.poll() is None and db.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.005)


Snapshot = tuple[set[str], dict[str, tuple[str, tuple[str, ...]]]]


def open_chunk_store(data_dir: Path):
    """(client, ChunkStore) over the on-disk store; close the client when done so the next
    subprocess is the only user of the files."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    return client, ChunkStore(client, location=str(data_dir), data_dir=data_dir)


def snapshot(data_dir: Path) -> tuple[Snapshot, set[str]]:
    """((all chunk ids, manifest id → (hash, chunk ids)), ids a query with their own vector misses)."""
    client, store = open_chunk_store(data_dir)
    try:
        ids = store.chunk_ids()
        manifest = {aid: (rec.content_hash, rec.chunk_ids) for aid, rec in store.manifest().items()}
        chunks = store.get_chunks(sorted(ids))
        vectors = HashingEmbedder().embed_documents([embedding_text(c, DEFAULT_CONFIG) for c in chunks])
        got = store.chunks.query(query_embeddings=vectors.tolist(), n_results=1, include=[])
        unreachable = {c.id for c, hit in zip(chunks, got["ids"], strict=True) if hit[:1] != [c.id]}
        return (ids, manifest), unreachable
    finally:
        client.close()


def expected_snapshot(corpus_dir: Path) -> Snapshot:
    """What a clean rebuild of the corpus as it is now writes (checked against a real one at the end)."""
    manifest = {}
    for article in iter_corpus(corpus_dir):
        assert isinstance(article, Article), article
        manifest[article.id] = (article.content_hash(), tuple(c.id for c in chunk_article(article)))
    return {cid for _, ids in manifest.values() for cid in ids}, manifest


def clean_rebuild(corpus_dir: Path, data_dir: Path) -> Snapshot:
    """Index the corpus as it is now into a fresh data dir, in-process, and snapshot it."""
    client, store = open_chunk_store(data_dir)
    try:
        Indexer(store, HashingEmbedder()).run(corpus_dir)
    finally:
        client.close()
    state, unreachable = snapshot(data_dir)
    assert unreachable == set()
    return state


def assert_repaired(corpus_dir: Path, data_dir: Path, label: str) -> None:
    (ids, manifest), unreachable = snapshot(data_dir)
    expected_ids, expected_manifest = expected_snapshot(corpus_dir)
    assert manifest == expected_manifest, f"{label}: manifest differs from a clean rebuild"
    assert ids == expected_ids, (
        f"{label}: chunk ids differ "
        f"(extra {sorted(ids - expected_ids)[:3]}, missing {sorted(expected_ids - ids)[:3]})"
    )
    assert unreachable == set(), f"{label}: {len(unreachable)} chunks not found by their own vector"


def test_killed_index_runs_are_repaired_to_a_clean_rebuild(tmp_path):
    rng = random.Random(20240301)
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    corpus = Corpus(corpus_dir, rng, size=300)
    env = cli_env(corpus_dir, data_dir)
    outcomes: list[str] = []

    # Round 0: killed during the very first build (chunks written, nothing committed yet).
    proc = start_index(cli_env(corpus_dir, data_dir, NEWSBOT_TEST_CRASH_AFTER_WRITES="1"))
    proc.communicate(timeout=120)
    assert proc.returncode == 137
    first = run_index(env)
    assert first["added"] == 300
    assert first["repaired"] > 0  # the orphaned chunks of the killed run were found and deleted
    assert_repaired(corpus_dir, data_dir, "after the first-build kill")
    outcomes.append("planned@1 during first build: killed, repaired")

    schedule = [("planned", n) for n in PLANNED_CRASH_POINTS] + [("timed", None)] * TIMED_KILLS
    for round_no, (kind, crash_point) in enumerate(schedule, start=1):
        big = kind == "timed"  # a bigger change keeps a timed kill likely to land mid-write
        corpus.mutate(edits=60 if big else 12, adds=8, deletes=6)
        if kind == "planned":
            crash_env = cli_env(corpus_dir, data_dir, NEWSBOT_TEST_CRASH_AFTER_WRITES=str(crash_point))
            proc = start_index(crash_env)
            proc.communicate(timeout=120)
            assert proc.returncode == 137, f"round {round_no}: crash point {crash_point} not reached"
            outcome = f"planned@{crash_point}: killed"
        else:
            delay = rng.uniform(0.0, 0.8)
            proc = start_index(env)
            wait_for_first_write(proc, data_dir)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=120)
            hit = proc.returncode == -signal.SIGKILL
            outcome = f"timed@{delay:.2f}s after the first write: {'killed' if hit else 'finished first'}"
        if round_no % 2 == 0:
            corpus.mutate(edits=3, adds=2, deletes=2)  # the repair run sees yet another corpus
        report = run_index(env)
        assert_repaired(corpus_dir, data_dir, f"round {round_no} ({outcome})")
        outcomes.append(
            f"{outcome}; repair run: {report['added']} added, {report['updated']} updated, "
            f"{report['removed']} removed, {report['repaired']} leftover chunks"
        )

    # The reference is right: a real clean rebuild of the final corpus writes exactly the expectation.
    assert clean_rebuild(corpus_dir, tmp_path / "clean") == expected_snapshot(corpus_dir)
    timed_hits = sum("timed" in o and "killed" in o for o in outcomes)
    print("\n".join(outcomes))
    assert sum(o.startswith("planned") for o in outcomes) == 1 + len(PLANNED_CRASH_POINTS)
    assert timed_hits >= 1, f"no timed kill landed while the process ran: {outcomes}"


@pytest.fixture(autouse=True)
def _no_shared_chroma_cache():
    """Start and end without cached Chroma systems, so no client outlives its test."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    yield
    SharedSystemClient.clear_system_cache()


# --- two writers at once: index/locking.py ------------------------------------------------------


def test_a_second_lock_on_the_same_file_is_refused_and_names_the_holder(tmp_path):
    from index.locking import LockBusy, ProcessLock, is_held

    first = ProcessLock(tmp_path / "index.lock", command="first writer")
    first.acquire()
    assert is_held(tmp_path / "index.lock")
    with pytest.raises(LockBusy, match=rf"held by 'first writer' \(pid {os.getpid()}, since ") as busy:
        ProcessLock(tmp_path / "index.lock", command="second writer").acquire(wait=0.1)
    assert (busy.value.holder.pid, busy.value.holder.command) == (os.getpid(), "first writer")
    first.release()
    assert not is_held(tmp_path / "index.lock")
    with ProcessLock(tmp_path / "index.lock", command="second writer"):
        assert is_held(tmp_path / "index.lock")


def test_wait_gets_the_lock_once_the_holder_lets_go(tmp_path):
    import threading

    from index.locking import ProcessLock

    holder = ProcessLock(tmp_path / "index.lock", command="holder")
    holder.acquire()
    threading.Timer(0.3, holder.release).start()
    waiter = ProcessLock(tmp_path / "index.lock", command="waiter")
    waiter.acquire(wait=10)
    assert waiter.locked
    waiter.release()


def test_serve_lock_waits_for_a_running_reindex_then_gives_up_cleanly(tmp_path):
    from index.locking import SERVE_LOCK, LockBusy, ProcessLock, acquire_serve_lock, is_held, serve_holder

    reindex = ProcessLock(tmp_path / "index.lock", command="newsbot index")
    reindex.acquire()
    with pytest.raises(LockBusy, match=r"a reindex is still running .* after 0.2 s: 'newsbot index' \(pid "):
        acquire_serve_lock(tmp_path, wait=0.2)
    assert not is_held(tmp_path / SERVE_LOCK)  # a refused serve does not keep the store
    reindex.release()
    serve = acquire_serve_lock(tmp_path, wait=0.2)
    assert serve_holder(tmp_path) is None  # held by this very process: not "another bot"
    with pytest.raises(LockBusy, match=r"another bot already runs on .*'newsbot serve' \(pid "):
        acquire_serve_lock(tmp_path, wait=0.2)
    serve.release()


def _index_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NEWSBOT, "index", "--json", *args],
        cwd=env["NEWSBOT_DATA_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_newsbot_index_refuses_while_locked_and_runs_after_the_holder_is_killed(tmp_path):
    from index.locking import acquire_serve_lock, is_held

    corpus_dir, data_dir = tmp_path / "corpus", tmp_path / "data"
    corpus_dir.mkdir()
    data_dir.mkdir()
    Corpus(corpus_dir, random.Random(7), size=20)
    env = cli_env(corpus_dir, data_dir)

    # Another reindex (a child process) holds the lock: refused at once with exit code 5.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from index.locking import acquire_index_lock; "
            "acquire_index_lock(Path(sys.argv[1]), command='newsbot index'); print('held', flush=True); "
            "time.sleep(120)",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = _index_cli(env)
        assert refused.returncode == 5
        busy = (
            f"newsbot: busy: another reindex is running on {data_dir}: "
            f"'newsbot index' (pid {holder.pid}, since"
        )
        assert busy in refused.stderr
        assert json.loads(refused.stdout)["error"].startswith("busy: another reindex is running")
    finally:
        holder.send_signal(signal.SIGKILL)  # dies without releasing anything
        holder.wait(timeout=30)
    assert not is_held(data_dir / "index.lock")  # the kernel dropped the dead holder's lock

    done = _index_cli(env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 20

    # A running bot owns the embedded store: `newsbot index` points to /reindex instead.
    serve = acquire_serve_lock(data_dir, wait=0)
    try:
        owned = _index_cli(env)
    finally:
        serve.release()
    assert owned.returncode == 5
    assert f"a running bot owns the index in {data_dir}: 'newsbot serve' (pid {os.getpid()}" in owned.stderr
    assert "/reindex in Telegram" in owned.stderr


def test_newsbot_run_with_a_bot_token_refuses_when_a_bot_already_owns_the_store(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from index.locking import acquire_serve_lock

    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("NEWSBOT_")]:
        monkeypatch.delenv(key)
    env = {
        "NEWSBOT_CORPUS_DIR": str(tmp_path / "corpus"),
        "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
        "NEWSBOT_TELEGRAM_TOKEN": "123456:TEST-token",
    }
    serve = acquire_serve_lock(tmp_path / "data", wait=0)
    try:
        result = CliRunner().invoke(cli, ["run"], env=env)
    finally:
        serve.release()
    assert result.exit_code == 5
    data_dir = tmp_path / "data"
    busy = f"newsbot: busy: another bot already runs on {data_dir}: 'newsbot serve' (pid {os.getpid()}"
    assert busy in result.stderr
    assert not (tmp_path / "data" / "chroma").exists()  # refused before the store was opened
