"""Calibrate the extractive answerer's "nothing relevant enough" thresholds on real questions.

    nice -n 10 .venv/bin/python -m benchmarks.calibrate_abstention QUESTIONS.jsonl ARTICLES.jsonl \
        [--sample 150] [--seed 0] [--k 8] [--cache ~/.cache/newsbot-bench/embeddings.sqlite] [--out results.json]

The articles (the gold articles plus `--sample` others drawn with `random.Random(seed)`) are indexed
into a temporary folder with our real pipeline (`benchmarks.ours.build_ours`, embeddings through an
on-disk `CachedEmbedder`). Every question is then answered twice:

- gold present: the retriever's top k as usual. Counted only when a gold article is among them
  (otherwise retrieval, not the answerer, failed). The answerer should answer.
- gold withheld: the top k once every passage of the question's gold articles is removed. Counted
  only when the gold answer appears in none of the remaining passages (the distractors are on the
  same stories and sometimes do say it). The answerer cannot answer and should abstain.

For a grid of `min_dense` × `min_overlap` it prints the answer rate (gold present), the abstention
rate (gold withheld), their mean (balanced accuracy) and how often an answer contains the gold
answer, then the abstention reasons at the current defaults. Nothing from the data set is written
anywhere but the optional `--out` file you name.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import (  # noqa: E402
    CACHE_DIR,
    format_table,
    load_articles,
    machine_description,
    offline_env,
    select_articles,
    write_json,
)
from bot.answer import Passage  # noqa: E402
from bot.core import Filters  # noqa: E402
from bot.evaluation import EvalQuestion, answer_contains, contains_answer, load_questions  # noqa: E402
from bot.extractive import ExtractiveAnswerer  # noqa: E402

DENSE_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
OVERLAP_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: overlap never rescues a low dense score


@dataclass(frozen=True, slots=True)
class Case:
    """One question under one condition, with the passages the answerer is given."""

    question: EvalQuestion
    passages: list[Passage]
    should_answer: bool


def build_cases(retriever: Any, questions: Sequence[EvalQuestion], k: int) -> tuple[list[Case], dict[str, int]]:
    """Retrieve once per condition; keep the cases whose expected outcome is unambiguous."""
    cases: list[Case] = []
    counts = Counter()
    for q in questions:
        gold = set(q.gold_article_ids)
        filters = Filters(as_of=q.question_date)
        present = retriever.retrieve(q.question, k=k, filters=filters).passages
        if any(p.article_id in gold for p in present):
            cases.append(Case(q, present, should_answer=True))
            counts["present: gold retrieved"] += 1
        else:
            counts["present: gold not retrieved (skipped)"] += 1
        wider = retriever.retrieve(q.question, k=3 * k, filters=filters).passages
        withheld = [p for p in wider if p.article_id not in gold][:k]
        if contains_answer(q.answer, [p.text for p in withheld]):
            counts["withheld: answer still in other articles (skipped)"] += 1
        else:
            cases.append(Case(q, withheld, should_answer=False))
            counts["withheld: unanswerable"] += 1
    return cases, dict(counts)


def evaluate(cases: Sequence[Case], answerer: ExtractiveAnswerer) -> dict[str, Any]:
    """Answer rate when the gold is present, abstention rate when withheld, containment, reasons."""
    answered_present = contains = abstained_withheld = 0
    n_present = sum(1 for c in cases if c.should_answer)
    n_withheld = len(cases) - n_present
    reasons: dict[str, Counter] = {"present": Counter(), "withheld": Counter()}
    for case in cases:
        answer = answerer.answer(case.question.question, case.passages)
        condition = "present" if case.should_answer else "withheld"
        if answer.abstained:
            reasons[condition][_reason_kind(answer.warnings[0] if answer.warnings else "?")] += 1
        if case.should_answer and not answer.abstained:
            answered_present += 1
            contains += answer_contains(answer, case.question.answer)
        if not case.should_answer and answer.abstained:
            abstained_withheld += 1
    answer_rate = answered_present / n_present if n_present else 0.0
    abstain_rate = abstained_withheld / n_withheld if n_withheld else 0.0
    return {
        "answer_rate_present": answer_rate,
        "abstain_rate_withheld": abstain_rate,
        "balanced": (answer_rate + abstain_rate) / 2,
        "contains_gold_when_answered": contains / answered_present if answered_present else 0.0,
        "reasons": {k: dict(v) for k, v in reasons.items()},
    }


def _reason_kind(warning: str) -> str:
    """ "abstained: person 'X' not in …" → "person … not in any retrieved passage" (no names)."""
    text = warning.removeprefix("abstained: ")
    if text.startswith("person "):
        return "person not in any retrieved passage"
    if text.startswith("nothing relevant enough"):
        return "nothing relevant enough"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration and print the grid."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, help="questions JSONL (id, question, answer, gold_article_ids, …)")
    parser.add_argument("articles", type=Path, help="articles JSONL (id, title, body, source, published_at, url)")
    parser.add_argument("--sample", type=int, default=150, help="other articles besides the gold ones (-1: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=8, help="passages given to the answerer (NEWSBOT_TOP_K)")
    parser.add_argument(
        "--cache", type=Path, default=CACHE_DIR / "embeddings.sqlite", help="embedding cache (default %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    offline_env()

    questions = load_questions(args.questions)
    articles = load_articles(args.articles)
    selected, selection = select_articles(articles, questions, None if args.sample < 0 else args.sample, args.seed)
    print(f"machine: {machine_description()}")
    print(f"articles: {selection}; questions: {len(questions)}; k={args.k}")

    from benchmarks.ours import build_ours

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsbot-calibrate-") as tmp:
        built = build_ours(selected, Path(tmp) / "ours", cache_path=args.cache)
        print(f"indexed {built.report.chunks} chunks in {time.perf_counter() - started:.0f} s")
        cases, counts = build_cases(built.newsroom.retriever, questions, args.k)
    for name, n in sorted(counts.items()):
        print(f"  {name}: {n}")

    grid = []
    for d in DENSE_GRID:
        for o in OVERLAP_GRID:
            result = evaluate(cases, ExtractiveAnswerer(min_dense=d, min_overlap=o))
            grid.append({"min_dense": d, "min_overlap": o, **result})
    rows = [
        [
            f"{g['min_dense']:.2f} / {g['min_overlap']:.2f}",
            g["answer_rate_present"],
            g["abstain_rate_withheld"],
            g["balanced"],
            g["contains_gold_when_answered"],
        ]
        for g in grid
    ]
    print()
    print(format_table(["min_dense / min_overlap", "answer|gold", "abstain|withheld", "balanced", "contains"], rows))
    best = max(grid, key=lambda g: (round(g["balanced"], 6), g["answer_rate_present"]))
    print(f"\nbest balanced: min_dense={best['min_dense']} min_overlap={best['min_overlap']} ({best['balanced']:.3f})")

    default = ExtractiveAnswerer()
    at_default = evaluate(cases, default)
    print(
        f"current defaults min_dense={default.min_dense} min_overlap={default.min_overlap}: "
        f"answer|gold {at_default['answer_rate_present']:.3f}, abstain|withheld "
        f"{at_default['abstain_rate_withheld']:.3f}, balanced {at_default['balanced']:.3f}"
    )
    for condition, reasons in at_default["reasons"].items():
        shown = ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])) or "none"
        print(f"  abstention reasons, gold {condition}: {shown}")
    write_json(
        args.out,
        {"selection": selection, "k": args.k, "counts": counts, "grid": grid, "defaults": at_default},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
