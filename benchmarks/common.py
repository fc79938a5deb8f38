"""Shared helpers of the benchmark scripts: loading and sampling the evaluation data, measuring, printing.

The evaluation data is never part of the repository: every script takes its paths as arguments.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.evaluation import EvalQuestion
from index.models import Article

CACHE_DIR = Path(os.environ.get("NEWSBOT_BENCH_CACHE", "~/.cache/newsbot-bench")).expanduser()


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One line of the articles file (`id`, `title`, `source`, `published_at`, `url`, `authors`, `body`)."""

    id: str
    title: str
    body: str
    source: str | None
    published_at: str | None
    url: str | None
    authors: tuple[str, ...]

    @property
    def text(self) -> str:
        """Title and body, as the baselines index them."""
        return f"{self.title}\n\n{self.body}"

    def to_json(self) -> dict[str, Any]:
        """The record as a JSONL object for our corpus folder."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "published_at": self.published_at,
            "url": self.url,
            "authors": list(self.authors),
            "body": self.body,
        }

    def to_article(self) -> Article:
        """The record as our `Article` (for feeding the indexer without the corpus parsers)."""
        published = datetime.fromisoformat(self.published_at) if self.published_at else None
        return Article(
            id=self.id,
            title=self.title,
            body=self.body,
            source=self.source,
            published_at=published,
            url=self.url,
            authors=self.authors,
        )


def load_articles(path: Path) -> list[ArticleRecord]:
    """Read the articles JSONL file, in file order."""
    out: list[ArticleRecord] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out.append(
                    ArticleRecord(
                        id=str(obj["id"]),
                        title=str(obj.get("title") or ""),
                        body=str(obj.get("body") or ""),
                        source=obj.get("source"),
                        published_at=obj.get("published_at"),
                        url=obj.get("url"),
                        authors=tuple(obj.get("authors") or ()),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SystemExit(f"{path}:{number}: bad article line: {exc}") from None
    return out


def select_articles(
    articles: Sequence[ArticleRecord],
    questions: Sequence[EvalQuestion],
    sample: int | None,
    seed: int = 0,
) -> tuple[list[ArticleRecord], str]:
    """All articles, or the gold articles plus `sample` others drawn with `random.Random(seed)`.

    Returns the selection (file order) and a one-line description for the output.
    """
    if sample is None:
        return list(articles), f"whole corpus ({len(articles)} articles)"
    gold = {g for q in questions for g in q.gold_article_ids}
    others = [a for a in articles if a.id not in gold]
    # Shuffle-and-take reproduces the README's sampled reference figures exactly; rng.sample does not.
    random.Random(seed).shuffle(others)
    picked = {a.id for a in others[:sample]}
    chosen = [a for a in articles if a.id in gold or a.id in picked]
    n_gold = sum(1 for a in chosen if a.id in gold)
    return chosen, (
        f"sample: {n_gold} gold articles + {len(picked)} others drawn with random.Random({seed}) "
        f"= {len(chosen)} articles"
    )


def first_articles(articles: Sequence[ArticleRecord], n: int | None) -> list[ArticleRecord]:
    """The first `n` articles of the file (all when None): a fixed, reproducible slice."""
    return list(articles if n is None else articles[:n])


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def dir_size_mb(path: Path) -> float:
    """Bytes on disk under `path`, in MB."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / 1e6


def machine_description() -> str:
    """One line: CPU model, cores, memory, Python, torch threads."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {sys.version.split()[0]}, {platform.system()}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned figures (floats to 3 decimals)."""

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(headers))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)))
    return "\n".join(lines)


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write results to `path` (if given) as indented JSON."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def offline_env() -> None:
    """The model is loaded by path; never let the hub try the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
