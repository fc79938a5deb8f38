"""The statement index on an indexed corpus: extraction time, counts, top speakers, timeline
latency, and a random sample of statements to check attribution by hand.

    HF_HUB_OFFLINE=1 NEWSBOT_DATA_DIR=DIR NEWSBOT_CORPUS_DIR=CORPUS \\
        .venv/bin/python -m benchmarks.statements [--sample 20] [--seed 1] [--speakers 3] [--runs 5]

1. Reads every article's chunks from the store (as the lexical sync does) and times
   `index.statements.article_statements` over all of them: the statement indexing cost.
2. Prints the statement count and the most quoted speakers from the index's `statements` table.
3. For the `--speakers` most quoted people (names of two words or more), runs `newsbot quotes`'
   core call and prints the count, then `--sample` random statements of theirs (seeded) with
   their article's title, for a hand check.
4. Times warm timeline answers ("What has X said about Y?") for those speakers on topics from
   their own statements' articles: p50 / p95 over `--runs` rounds after one warm-up round.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402


def main() -> None:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speakers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from bot.settings import Settings
    from bot.wiring import build_newsroom
    from index.statements import article_statements

    newsroom = build_newsroom(Settings())
    store, lexical = newsroom.store, newsroom.statements
    manifest = store.manifest()
    chunk_ids = [cid for record in manifest.values() for cid in dict.fromkeys(record.chunk_ids)]
    started = time.perf_counter()
    chunks = []
    for i in range(0, len(chunk_ids), 2000):
        chunks.extend(store.get_chunks(chunk_ids[i : i + 2000]))
    read = time.perf_counter() - started
    by_article = defaultdict(list)
    for chunk in chunks:
        by_article[chunk.article_id].append(chunk)
    started = time.perf_counter()
    cpu = time.process_time()
    found = sum(len(article_statements(group)) for group in by_article.values())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"articles {len(by_article)}, chunks {len(chunks)} (read from the store in {read:.1f} s)")
    print(f"statement extraction: {found} statements in {seconds:.1f} s wall, {cpu:.1f} s CPU")
    print(f"statements in the index: {lexical.statement_count()}")

    top = lexical.top_speakers(200)
    print("most quoted:", ", ".join(f"{name} ({n})" for name, n in top[:15]))
    people = [name for name, _ in top if len(name.split()) >= 2 and not name.isupper()][: args.speakers]
    rng = random.Random(args.seed)
    questions = []
    for name in people:
        quotes = newsroom.quotes(name)
        print(f"\n== newsbot quotes {name!r}: {len(quotes.statements)} statements (as {quotes.speaker})")
        picked = rng.sample(quotes.statements, min(args.sample, len(quotes.statements)))
        for s in sorted(picked, key=lambda s: (s.published_ts or 0, s.statement.position)):
            print(f"- [{s.statement.via}] {s.published_at[:10] if s.published_at else 'undated'} · {s.source} · "
                  f"{s.title[:60]!r}\n    {' '.join(s.statement.text.split())[:300]}")
        titles = [s.title for s in quotes.statements if s.title]
        for title in rng.sample(titles, min(3, len(titles))):
            topic = max((w for w in title.split() if w[:1].islower() or len(w) > 6), key=len, default="")
            if topic:
                questions.append(f"What has {name} said about {topic.strip(',.:;')}?")

    timings = []
    for round_ in range(args.runs + 1):
        for question in questions:
            answer = newsroom.ask(question)
            if round_:
                timings.append(answer.timings["total"])
    if timings:
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"\ntimeline answers: {len(questions)} questions x {args.runs} runs, "
              f"p50 {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms")
        for question in questions:
            print(f"  {question}")


if __name__ == "__main__":
    main()
