"""Near-duplicate wire copies in an articles file, as `newsbot index` clusters them (index/dedup.py).

    .venv/bin/python -m benchmarks.duplicates ARTICLES.jsonl

Prints the number of clusters and of articles in them, then each copy with its original
(similarity estimate, outlets, dates, titles) for checking by eye.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
from datetime import datetime  # noqa: E402

from benchmarks.common import load_articles  # noqa: E402
from index import dedup  # noqa: E402


def main() -> None:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", type=Path)
    args = parser.parse_args()
    articles = {a.id: a for a in load_articles(args.articles)}
    started = time.perf_counter()
    sigs = {aid: dedup.signature(a.body) for aid, a in articles.items()}
    signed = time.perf_counter() - started

    def when(a) -> datetime | None:  # noqa: ANN001 - an ArticleRecord
        return datetime.fromisoformat(a.published_at) if isinstance(a.published_at, str) else a.published_at

    items = [dedup.DedupItem(aid, sigs[aid], when(a), len(a.body)) for aid, a in articles.items()]
    copy_of = dedup.clusters(items)
    members = set(copy_of) | set(copy_of.values())
    print(f"{len(articles)} articles; signatures {signed:.1f} s; "
          f"{len(set(copy_of.values()))} clusters holding {len(members)} articles")
    for copy, original in sorted(copy_of.items(), key=lambda kv: kv[1]):
        a, b = articles[original], articles[copy]
        sim = dedup.similarity(sigs[original], sigs[copy])
        print(f"{sim:.2f}  {a.source} {a.published_at}: {a.title[:60]!r}  <-  {b.source} {b.published_at}: {b.title[:60]!r}")


if __name__ == "__main__":
    main()
