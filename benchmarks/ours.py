"""How the benchmarks build and index "ours": the real wiring (`bot.wiring`) over a temporary data dir.

Articles go into a temporary corpus folder as one JSONL file and are indexed by the same
`Newsroom.reindex` that `newsbot index` runs (corpus parsers, chunker, embedder, store, lexical index).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ArticleRecord
from index.embedder import CachedEmbedder, Embedder
from index.models import IndexReport


@dataclass(slots=True)
class OursIndex:
    """A built newsroom over a temporary index and how it was built."""

    newsroom: Any
    settings: Any
    report: IndexReport
    notes: list[str] = field(default_factory=list)


def write_corpus(articles: Sequence[ArticleRecord], corpus_dir: Path) -> Path:
    """Write the articles as `articles.jsonl` under `corpus_dir` (what a newsroom would drop in)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    path = corpus_dir / "articles.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for a in articles:
            fh.write(json.dumps(a.to_json(), ensure_ascii=False) + "\n")
    return path


def make_settings(workdir: Path, **overrides: Any) -> Any:
    """Settings for a throwaway index under `workdir` (no .env involved, no embedding cache)."""
    from bot.settings import Settings

    values: dict[str, Any] = {
        "corpus_dir": workdir / "corpus",
        "data_dir": workdir / "data",
        "embedding_cache": False,
        "chroma_host": None,
        "llm_provider": "none",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_embedder(settings: Any, cache_path: Path | None) -> Embedder:
    """Our sentence-transformers embedder, behind an on-disk cache when `cache_path` is given."""
    from bot.wiring import build_embedder

    embedder = build_embedder(settings)  # settings.embedding_cache is False: the bare model
    return CachedEmbedder(embedder, cache_path) if cache_path else embedder


def build_ours(
    articles: Sequence[ArticleRecord], workdir: Path, *, embedder: Embedder | None = None, cache_path: Path | None = None
) -> OursIndex:
    """Index `articles` into `workdir` with our pipeline and return the serving newsroom."""
    from bot.wiring import build_newsroom, build_store

    settings = make_settings(workdir)
    write_corpus(articles, settings.corpus_dir)
    embedder = embedder or make_embedder(settings, cache_path)
    store = build_store(settings)
    notes: list[str] = []
    newsroom = build_newsroom(settings, store=store, embedder=embedder)
    report = newsroom.reindex(settings.corpus_dir)
    if report.skipped:
        notes.append(f"{len(report.skipped)} articles skipped, e.g. {report.skipped[0].to_dict()}")
    return OursIndex(newsroom=newsroom, settings=settings, report=report, notes=notes)

