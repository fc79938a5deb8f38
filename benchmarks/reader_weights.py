"""Measure the reader's feature weights on real questions (a logistic regression), and check them.

    NEWSBOT_DATA_DIR=… nice -n 10 .venv/bin/python -m benchmarks.reader_weights QUESTIONS.jsonl \
        --cache /tmp/reader-passages.pkl [--k 20] [--folds 5]

1. Every question is retrieved once over the configured index (as of its date, k passages, as
   `newsbot eval` does) and the passages are kept in `--cache` (outside the repository), so
   later runs read them from there.
2. The answerer (with the real reader: sentence vectors, spaCy) scores every candidate sentence;
   a candidate is positive when it contains the normalised gold answer.
3. A logistic regression of positive on the features (`bot.reader.FEATURES`) gives the weights;
   with `--folds`, weights fitted on the other folds answer each fold, which estimates the
   containment the measured weights reach on unseen questions. The weights fitted on all
   questions are printed for `bot.reader.DEFAULT_WEIGHTS`.

Nothing from the data set is written anywhere but the `--cache` file you name.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import pickle  # noqa: E402

import numpy as np  # noqa: E402

from bot.core import Filters  # noqa: E402
from bot.evaluation import (  # noqa: E402
    EvalQuestion,
    answer_contains,
    answer_contains_strictly,
    choice_correct,
    contains_answer,
    load_questions,
)
from bot.extractive import ExtractiveAnswerer  # noqa: E402
from bot.reader import FEATURES  # noqa: E402


def retrieve_all(questions: list[EvalQuestion], k: int, cache: Path):
    """Per question: (question, its top k passages, the top k once its gold articles are withheld),
    from `cache` when it holds them."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from bot.settings import load_settings
    from bot.wiring import build_newsroom

    room = build_newsroom(load_settings())
    out = []
    for q in questions:
        filters = Filters(as_of=q.question_date)
        present = room.retriever.retrieve(q.question, k=k, filters=filters).passages
        deeper = room.retriever.retrieve(q.question, k=3 * k, filters=filters).passages
        withheld = [p for p in deeper if p.article_id not in q.gold_article_ids][:k]
        out.append((q, list(present), withheld))
    cache.write_bytes(pickle.dumps(out))
    return out


def candidate_rows(answerer: ExtractiveAnswerer, cases) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per question: (index, feature matrix, labels) of all its scored candidates."""
    out = []
    for i, (q, passages) in enumerate(cases):
        answer = answerer.answer(q.question, passages)
        rows = answer.reader
        if not rows:
            continue
        x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
        y = np.array([1.0 if contains_answer(q.answer, [r["sentence"]]) else 0.0 for r in rows])
        out.append((i, x, y))
    return out


def fit(data, l2: float = 0.01, steps: int = 3000, lr: float = 0.5) -> dict[str, float]:
    """Logistic regression by gradient descent; questions weigh equally (rows weighted 1/n)."""
    xs = [x for _, x, y in data if y.any()]
    ys = [y for _, x, y in data if y.any()]
    if not xs:
        return dict.fromkeys(FEATURES, 0.0)
    x = np.vstack(xs)
    y = np.concatenate(ys)
    wrow = np.concatenate([np.full(len(v), 1.0 / len(v)) for v in ys])
    wrow /= wrow.sum()
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = p - y
        w -= lr * (x.T @ (g * wrow) + l2 * w)
        b -= lr * float((g * wrow).sum())
    return {f: round(float(v), 3) for f, v in zip(FEATURES, w, strict=True)}


def score(answerer: ExtractiveAnswerer, cases) -> dict[str, float]:
    n = len(cases)
    contained = strict = chosen = answered = 0
    with_choices = 0
    for q, passages in cases:
        a = answerer.answer(q.question, passages)
        contained += answer_contains(a, q.answer)
        strict += answer_contains_strictly(a, q.answer)
        answered += not a.abstained
        if q.choices:
            with_choices += 1
            chosen += choice_correct(a, q.answer, q.choices)
    return {
        "containment": round(contained / n, 3),
        "strict": round(strict / n, 3),
        "choice": round(chosen / max(with_choices, 1), 3),
        "abstention": round(1 - answered / n, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-fit", action="store_true", help="only score the rules and the current defaults")
    args = parser.parse_args(argv)

    from bot.settings import load_settings
    from bot.wiring import build_embedder, build_reader

    questions = load_questions(args.questions)
    triples = retrieve_all(questions, args.k, args.cache)
    cases = [(q, present) for q, present, _ in triples]
    # Withheld: only questions whose answer is in none of the remaining passages (should abstain).
    withheld = [(q, w) for q, _, w in triples if not contains_answer(q.answer, [p.text for p in w])]
    reader = build_reader(build_embedder(load_settings()))
    answerer = ExtractiveAnswerer(reader=reader)
    rules = ExtractiveAnswerer()
    print("rules (no reader):", score(rules, cases))
    print(f"  gold withheld ({len(withheld)}): abstention", score(rules, withheld)["abstention"])
    print("current weights:", reader.weights, score(answerer, cases))
    print(f"  gold withheld ({len(withheld)}): abstention", score(answerer, withheld)["abstention"])
    if args.no_fit:
        return 0

    reader.rows = 10_000
    data = candidate_rows(answerer, cases)
    weights = fit(data)
    reader.rows = 10
    folds = max(1, args.folds)
    if folds > 1:
        held = []
        for f in range(folds):
            train = [d for d in data if d[0] % folds != f]
            test = [c for i, c in enumerate(cases) if i % folds == f]
            reader.weights = fit(train)
            held.append((len(test), score(answerer, test)))
        total = sum(n for n, _ in held)
        cv = {key: round(sum(n * s[key] for n, s in held) / total, 3) for key in held[0][1]}
        print(f"{folds}-fold held-out:", cv)
    reader.weights = weights
    print("fitted on all:", weights, score(answerer, cases))
    print(f"  gold withheld ({len(withheld)}): abstention", score(answerer, withheld)["abstention"])
    for margin in (0.25, 0.5, 1.0, 2.0):
        print(f"  secondary_margin {margin}:", score(replace_margin(answerer, margin), cases))

    # The short answer's entity weights: a small grid, by choice accuracy.
    typed = [(q, ps) for q, ps in cases if q.choices and answerer.answer(q.question, ps).short_answer]
    results = []
    for near in (0.0, 0.5, 1.0, 2.0):
        for votes in (0.0, 1.0, 2.0, 4.0):
            for first in (0.0, 0.5, 1.0):
                reader.entity_weights = {"tier": 1.0, "near": near, "votes": votes, "first": first}
                results.append((score(answerer, typed)["choice"], near, votes, first))
    results.sort(reverse=True)
    print(f"entity weights on the {len(typed)} questions with a short answer (choice, near, votes, first):")
    for row in results[:8]:
        print("  ", row)

    # The relevance gate: the best sentence similarity as a third signal besides dense and overlap.
    print("relevance gate (answer rate with gold / abstention with gold withheld):")
    signals = {name: [gate_signals(answerer, q, ps) for q, ps in group]
               for name, group in (("present", cases), ("withheld", withheld))}
    for dense, overlap in ((0.55, 0.8), (0.5, 0.8), (0.5, 0.7)):
        for sem in (1.01, 0.8, 0.75, 0.7, 0.65, 0.6):
            def passes(sig, d=dense, o=overlap, s=sem):
                return sig[0] >= d or sig[1] >= o or sig[2] >= s
            rate = sum(passes(x) for x in signals["present"]) / len(cases)
            abst = sum(not passes(x) for x in signals["withheld"]) / max(len(withheld), 1)
            print(f"  dense {dense} overlap {overlap} sentence {sem}: {rate:.3f} / {abst:.3f}")
    return 0


def gate_signals(answerer: ExtractiveAnswerer, q: EvalQuestion, passages) -> tuple[float, float, float]:
    """(top dense similarity, best term overlap, best sentence similarity) of one question."""
    from bot.extractive import _coverage, _lemma_set, analyse_question

    a = analyse_question(q.question)
    dense = max((p.dense_score for p in passages if p.dense_score is not None), default=0.0)
    overlap = max((_coverage(a.terms, _lemma_set(p.title + "\n" + p.text)) for p in passages), default=0.0)
    open_gate = ExtractiveAnswerer(reader=answerer.reader, min_dense=-1.0)
    rows = open_gate.answer(q.question, passages).reader
    return dense, overlap, max((r["semantic"] for r in rows), default=0.0)


def replace_margin(answerer: ExtractiveAnswerer, margin: float) -> ExtractiveAnswerer:
    out = ExtractiveAnswerer(reader=answerer.reader, secondary_margin=margin)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
