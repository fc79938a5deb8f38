"""`newsbot index` when little or nothing changed: the parse cache and the no-change shortcut
(index/corpus_state.py), through the CLI with a real Chroma store on disk."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from newsbot_env import SEED, cli, seed_cli_env, wired_cli
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import SEED, cli, seed_cli_env, wired_cli  # type: ignore[no-redef]

from bot.settings import Settings
from bot.wiring import Wiring, build_newsroom
from index.embedder import HashingEmbedder
from index.store import ArticleRecord, ChunkStore

BUDGET = """---
title: Council passes budget
source: Test Wire
published_at: 2024-10-22
---
The city council passed the budget on Tuesday. It includes money for two new schools.
"""
BUDGET_EDITED = BUDGET.replace("two new schools", "two old schools")  # the same size
WIRE_LINES = [
    {"id": "w1", "title": "Harbour bridge approved", "source": "Test Wire", "published_at": "2024-10-23",
     "body": "The council voted 7-2 to approve the harbour bridge. Work starts in the autumn."},
    {"id": "w2", "title": "Library reopens", "source": "Test Wire", "published_at": "2024-10-24",
     "body": "The central library reopened on Monday after a two-year renovation."},
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The seed article, a Markdown article and a two-line JSONL file; a fresh data dir."""
    corpus = seed_cli_env(tmp_path, monkeypatch)
    (corpus / "budget.md").write_text(BUDGET)
    (corpus / "wire.jsonl").write_text("".join(json.dumps(line) + "\n" for line in WIRE_LINES))
    return corpus


def index_json(group=cli, *args: str) -> dict:
    result = CliRunner().invoke(group, ["index", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def counts(report: dict) -> tuple[int, int, int, int, int]:
    return tuple(report[key] for key in ("added", "updated", "removed", "unchanged", "embedded_chunks"))


def rewrite_keeping_size_and_mtime(path: Path, text: str) -> None:
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


@pytest.mark.parametrize("name", ["budget.md", "wire.jsonl"])
def test_an_edit_that_keeps_the_size_and_the_modification_time_is_reindexed(env, name):
    first = index_json()
    assert counts(first)[:4] == (4, 0, 0, 0)
    assert counts(index_json()) == (0, 0, 0, 4, 0)  # a no-change run records what the next one checks

    path = env / name
    if name == "budget.md":
        rewrite_keeping_size_and_mtime(path, BUDGET_EDITED)
    else:
        text = path.read_text()
        rewrite_keeping_size_and_mtime(path, text.replace("two-year renovation", "six-year renovation"))
    edited = index_json()
    assert counts(edited)[:4] == (0, 1, 0, 3)
    assert edited["embedded_chunks"] >= 1
    assert counts(index_json()) == (0, 0, 0, 4, 0)


def test_a_touched_file_that_is_unchanged_reindexes_nothing(env):
    first = index_json()
    for path in env.iterdir():
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))
    touched = index_json()
    assert counts(touched) == (0, 0, 0, 4, 0)
    assert touched["chunks"] == first["chunks"]


def test_a_smaller_article_limit_applies_to_files_parsed_before(env, monkeypatch):
    long_body = " ".join(f"Sentence number {i} of a long report on the council budget." for i in range(100))
    (env / "long.json").write_text(json.dumps({"id": "long", "title": "Long report", "body": long_body}))
    assert counts(index_json())[:4] == (5, 0, 0, 0)
    monkeypatch.setenv("NEWSBOT_MAX_ARTICLE_CHARS", "4000")  # the parse depends on it: files are parsed again
    report = index_json()
    assert counts(report)[:4] == (0, 1, 0, 4)
    assert any(w.startswith("long.json: body truncated from") for w in report["warnings"])


class CountingStore(ChunkStore):
    """The real embedded store, counting the calls that read every record."""

    def __init__(self, data_dir: Path, calls: list[str]):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        settings = ChromaSettings(anonymized_telemetry=False)
        client = chromadb.PersistentClient(path=str(path), settings=settings)
        super().__init__(client, location=str(path), data_dir=data_dir)
        self.calls = calls

    def manifest(self) -> dict[str, ArticleRecord]:
        self.calls.append("manifest")
        return super().manifest()

    def chunk_ids(self) -> set[str]:
        self.calls.append("chunk_ids")
        return super().chunk_ids()


def counting_cli(calls: list[str]):
    def newsroom(settings: Settings):
        store = CountingStore(settings.data_dir, calls)
        return build_newsroom(settings, store=store, embedder=HashingEmbedder())

    return wired_cli(Wiring(newsroom_factory=newsroom))


def test_a_no_change_run_reads_no_manifest_and_reports_what_a_full_run_reports(env, tmp_path):
    (env / "empty.txt").write_text("")
    (env / "notes.csv").write_text("a,b\n")
    untitled = {"id": "untitled", "body": "No title here. Just a body."}
    (env / "more.jsonl").write_text(json.dumps(untitled) + "\n{bad\n")
    calls: list[str] = []
    group = counting_cli(calls)
    index_json(group)

    calls.clear()
    quick = index_json(group)
    assert calls == []
    assert counts(quick) == (0, 0, 0, 5, 0)

    for leftover in (tmp_path / "data").glob("corpus-newsbot.sqlite*"):
        leftover.unlink()  # without the corpus state the run parses every file and reads the manifest
    full = index_json(group)
    assert calls == ["manifest", "chunk_ids"]
    quick.pop("seconds"), full.pop("seconds")
    assert quick == full
    assert [(s["path"], s.get("line")) for s in quick["skipped"]] == [
        ("empty.txt", None), ("more.jsonl", 2), ("notes.csv", None),
    ]
    assert quick["warnings"] == ["more.jsonl: title missing; taken from the first sentence of the body"]


def test_a_store_deleted_after_a_no_change_run_is_built_again(env, tmp_path):
    from chromadb.api.shared_system_client import SharedSystemClient

    first = index_json()
    index_json()
    SharedSystemClient.clear_system_cache()  # as a new process finds it: chromadb shares one per folder
    shutil.rmtree(tmp_path / "data" / "chroma")
    again = index_json()
    assert counts(again)[:4] == (4, 0, 0, 0)
    assert again["chunks"] == first["chunks"]


def test_a_chunk_collection_deleted_after_a_no_change_run_is_repaired(env, tmp_path):
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    first = index_json()
    index_json()
    SharedSystemClient.clear_system_cache()
    client = chromadb.PersistentClient(
        path=str(tmp_path / "data" / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.delete_collection("newsbot_chunks")  # the manifest and its generation are untouched
    client.close()
    SharedSystemClient.clear_system_cache()
    again = index_json()
    assert (again["repaired"], again["unchanged"], again["chunks"]) == (4, 0, first["chunks"])
    assert counts(index_json()) == (0, 0, 0, 4, 0)


@pytest.mark.parametrize(("name", "seed_becomes_a_copy"), [("wire-copy.txt", False), ("a-copy.txt", True)])
def test_a_near_copy_added_after_a_no_change_run_is_indexed(env, name, seed_becomes_a_copy):
    index_json()
    index_json()
    shutil.copy(SEED, env / name)  # the same text under its own id (the path), published the same day
    report = index_json()
    assert report["duplicates"] == 1
    if seed_becomes_a_copy:
        # The copy's id sorts first, so it is the original: the seed, unchanged, is parsed again to
        # become its copy (a record without passages of its own).
        assert (counts(report)[:4], report["chunks"]) == ((1, 1, 0, 3), index_json()["chunks"])
    else:
        assert counts(report) == (1, 0, 0, 4, 0)
    assert counts(index_json()) == (0, 0, 0, 5, 0)


def test_a_damaged_corpus_state_file_is_replaced_and_nothing_is_lost(env, tmp_path):
    first = index_json()
    state = tmp_path / "data" / "corpus-newsbot.sqlite"
    assert state.is_file()
    for leftover in (tmp_path / "data").glob("corpus-newsbot.sqlite-*"):
        leftover.unlink()
    state.write_bytes(b"this is not a database" * 100)
    again = index_json()
    assert counts(again) == (0, 0, 0, 4, 0)
    assert again["chunks"] == first["chunks"]
    assert counts(index_json()) == (0, 0, 0, 4, 0)
