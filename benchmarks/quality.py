"""Retrieval and answer quality: ours vs. whole-article BM25 vs. the LangChain tutorial pipeline.

    nice -n 10 .venv/bin/python -m benchmarks.quality ARTICLES.jsonl QUESTIONS.jsonl [--sample N] [--seed 0]
        [--k 20] [--methods ours,bm25,tutorial] [--out results.json]

All methods see the same articles (all of them, or the gold articles plus N others drawn with
`random.Random(seed)`) and the same questions, and are scored by `bot.evaluation`'s metric code.
Embeddings (ours and the tutorial's) go through an on-disk cache under ~/.cache/newsbot-bench so
reruns embed nothing; timing belongs to benchmarks/performance.py, not here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import (  # noqa: E402
    CACHE_DIR,
    ArticleRecord,
    format_table,
    machine_description,
    offline_env,
    select_articles,
    write_json,
)
from bot.evaluation import (  # noqa: E402
    DEFAULT_K,
    EvalQuestion,
    load_questions,
    percentile,
    retrieval_metrics,
    run_eval,
)

METHODS = ("ours", "bm25", "tutorial")


def score_ranker(
    name: str, rank: Callable[[str], list[str]], questions: Sequence[EvalQuestion]
) -> dict[str, Any]:
    """Rank every question with `rank` and score the article rankings (plus query latency)."""
    rankings, latencies = [], []
    for q in questions:
        start = time.perf_counter()
        rankings.append(rank(q.question))
        latencies.append((time.perf_counter() - start) * 1000)
    metrics = retrieval_metrics(rankings, [q.gold_article_ids for q in questions]).to_dict()
    metrics["latency_p50_ms"] = round(percentile(latencies, 50), 2)
    metrics["latency_p95_ms"] = round(percentile(latencies, 95), 2)
    return {"method": name, "metrics": metrics, "rankings": dict(zip([q.id for q in questions], rankings))}


def run_bm25(articles: Sequence[ArticleRecord], questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """Whole-article BM25 (the README's reference baseline)."""
    from benchmarks.baselines import WholeArticleBM25

    start = time.perf_counter()
    ranker = WholeArticleBM25(articles)
    result = score_ranker("whole-article BM25", ranker.rank, questions)
    result["build_seconds"] = round(time.perf_counter() - start, 2)
    return result


def run_tutorial(
    articles: Sequence[ArticleRecord], questions: Sequence[EvalQuestion], workdir: Path, cache_dir: Path
) -> dict[str, Any]:
    """The LangChain tutorial pipeline, with its embeddings served from the on-disk cache."""
    from benchmarks.baselines import TutorialPipeline, cached_tutorial_embeddings, tutorial_split

    start = time.perf_counter()
    docs = tutorial_split(articles)
    pipeline = TutorialPipeline(docs, cached_tutorial_embeddings(cache_dir / "tutorial-embeddings.sqlite"), workdir)
    result = score_ranker("LangChain tutorial (top-50 chunks)", pipeline.rank, questions)
    result["chunks"] = pipeline.chunks
    result["build_seconds"] = round(time.perf_counter() - start, 2)
    return result


def run_ours(
    articles: Sequence[ArticleRecord], questions: Sequence[EvalQuestion], workdir: Path, cache_dir: Path, k: int
) -> dict[str, Any]:
    """Our pipeline: `newsbot index` into a temporary data dir, then `newsbot eval`'s runner."""
    from benchmarks.ours import build_ours

    start = time.perf_counter()
    built = build_ours(articles, workdir, cache_path=cache_dir / "embeddings.sqlite")
    build_seconds = time.perf_counter() - start
    report = run_eval(built.newsroom, questions, k=k)
    return {
        "method": "ours (newsbot)",
        "metrics": report.metrics(),
        "rankings": {r.id: r.ranked_article_ids for r in report.questions},
        "questions": [r.to_dict() for r in report.questions],
        "index_report": built.report.to_dict() | {"skipped": len(built.report.skipped)},
        "notes": built.notes,
        "chunks": built.report.chunks,
        "k": report.k,
        "build_seconds": round(build_seconds, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; prints the comparison table and optionally writes JSON results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("articles", type=Path, help="articles JSONL (id, title, source, published_at, url, body)")
    parser.add_argument("questions", type=Path, help="questions JSONL (id, question, answer, gold_article_ids, ...)")
    parser.add_argument("--sample", type=int, default=None, help="gold articles + N others (default: all articles)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="passages retrieved per question by ours")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="embedding caches (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="write all results (with per-question rows) here")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {sorted(unknown)}")

    offline_env()
    from benchmarks.common import load_articles

    questions = load_questions(args.questions)
    articles, selection = select_articles(load_articles(args.articles), questions, args.sample, args.seed)
    print(f"articles: {selection}; questions: {len(questions)} from {args.questions.name}", file=sys.stderr)

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="newsbot-quality-") as tmp:
        for method in METHODS:
            if method not in methods:
                continue
            print(f"running {method} ...", file=sys.stderr)
            if method == "bm25":
                results.append(run_bm25(articles, questions))
            elif method == "tutorial":
                results.append(run_tutorial(articles, questions, Path(tmp) / "tutorial", args.cache_dir))
            else:
                results.append(run_ours(articles, questions, Path(tmp) / "ours", args.cache_dir, args.k))
            print(f"  done in {results[-1].get('build_seconds')} s (build)", file=sys.stderr)

    headers = ["method", "Hits@1", "Hits@5", "Hits@10", "MRR@10", "contain", "abstain", "cite ok", "p50 ms"]
    rows = []
    for r in results:
        m = r["metrics"]
        rows.append(
            [
                r["method"], m["hits_at_1"], m["hits_at_5"], m["hits_at_10"], m["mrr_at_10"],
                m.get("answer_containment"), m.get("abstention_rate"), m.get("citation_validity"),
                f"{m['latency_p50_ms']:.1f}",
            ]
        )  # fmt: skip
    print(f"\n{selection}; {len(questions)} questions; {machine_description()}")
    print(format_table(headers, rows))
    for r in results:
        for note in r.get("notes", []):
            print(f"note ({r['method']}): {note}")
    write_json(
        args.out,
        {
            "selection": selection,
            "seed": args.seed,
            "sample": args.sample,
            "questions_file": str(args.questions),
            "machine": machine_description(),
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
