"""Retrieval and answer metrics of an index on a questions file (`newsbot eval`, the benchmarks).

Metrics are at article level: the ranked passages of an answer are mapped to their article ids,
first occurrence kept, and the top 10 distinct articles are scored against the gold ids.
The metric functions are pure so the benchmark scripts score their baselines with the same code.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answer import Answer, Passage

if TYPE_CHECKING:  # pragma: no cover
    from bot.core import Newsroom

RANK_DEPTH = 10  # articles scored per question (Hits@10, MRR@10)
MIN_RETRIEVAL_DEPTH = 20  # passages asked for, so that ~10 distinct articles come back
DEFAULT_K = 20


class QuestionsFileError(ValueError):
    """The questions file is missing, empty or has a bad line; the message names the line."""


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One question of the evaluation set."""

    id: str
    question: str
    answer: str
    gold_article_ids: tuple[str, ...]
    question_date: date | None = None
    # Multiple-choice options (the gold answer among them); read only by the choice-accuracy
    # metric, never passed to retrieval or the answerer.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetrievalMetrics:
    """Article-level ranking quality over a set of questions (each a mean of 0/1 or 1/rank)."""

    hits_at_1: float
    hits_at_5: float
    hits_at_10: float
    mrr_at_10: float

    def to_dict(self) -> dict[str, float]:
        """Rounded figures keyed as in the `--json` output."""
        return {
            "hits_at_1": round(self.hits_at_1, 4),
            "hits_at_5": round(self.hits_at_5, 4),
            "hits_at_10": round(self.hits_at_10, 4),
            "mrr_at_10": round(self.mrr_at_10, 4),
        }


@dataclass(slots=True)
class QuestionResult:
    """What one question produced: its ranking, its answer, and how they scored."""

    id: str
    ranked_article_ids: list[str]
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    rank: int | None  # 1-based rank of the first gold article within the top 10, if any
    contained: bool
    citations_valid: bool
    latency_ms: float
    short_answer: dict[str, Any] | None = None
    strict_contained: bool = False
    choice_correct: bool | None = None  # None: the question has no choices

    def to_dict(self) -> dict[str, Any]:
        """One row of the `questions` list in the `--json` output."""
        return {
            "id": self.id,
            "ranked_article_ids": list(self.ranked_article_ids),
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": list(self.citations),
            "gold_rank": self.rank,
            "short_answer": None if self.short_answer is None else dict(self.short_answer),
            "answer_contained": self.contained,
            "strict_contained": self.strict_contained,
            "choice_correct": self.choice_correct,
            "citations_valid": None if self.abstained else self.citations_valid,
            "latency_ms": round(self.latency_ms, 2),
        }


@dataclass(slots=True)
class EvalReport:
    """Aggregate metrics and the per-question rows of one evaluation run."""

    retrieval: RetrievalMetrics
    answer_containment: float
    abstention_rate: float
    citation_validity: float | None  # None when every answer abstained
    latency_p50_ms: float
    latency_p95_ms: float
    k: int
    questions: list[QuestionResult] = field(default_factory=list)
    strict_containment: float = 0.0
    choice_accuracy: float | None = None  # None when no question has choices

    def metrics(self) -> dict[str, float | None]:
        """The `metrics` object of the `--json` output."""
        out: dict[str, float | None] = dict(self.retrieval.to_dict())
        out["answer_containment"] = round(self.answer_containment, 4)
        out["strict_containment"] = round(self.strict_containment, 4)
        out["choice_accuracy"] = None if self.choice_accuracy is None else round(self.choice_accuracy, 4)
        out["abstention_rate"] = round(self.abstention_rate, 4)
        out["citation_validity"] = None if self.citation_validity is None else round(self.citation_validity, 4)
        out["latency_p50_ms"] = round(self.latency_p50_ms, 2)
        out["latency_p95_ms"] = round(self.latency_p95_ms, 2)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The whole `--json` output."""
        return {
            "metrics": self.metrics(),
            "k": self.k,
            "count": len(self.questions),
            "questions": [q.to_dict() for q in self.questions],
        }


# --- questions file ------------------------------------------------------------------------------


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read a JSONL questions file; a bad line raises `QuestionsFileError` naming its number."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionsFileError(f"{path}: cannot read the questions file: {exc}") from exc
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    # split on "\n" only: str.splitlines would also break at U+2028 inside a JSON string
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        question = parse_question(line, where=f"{path}:{number}")
        if question.id in seen:
            raise QuestionsFileError(f"{path}:{number}: duplicate question id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionsFileError(f"{path}: no questions in the file")
    return questions


def parse_question(line: str, *, where: str = "line") -> EvalQuestion:
    """Parse one JSONL line (`id`, `question`, `answer`, `gold_article_ids`, optional `question_date`)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QuestionsFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise QuestionsFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key in ("id", "question", "answer"):
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and key == "id":
            obj[key] = str(value)
        elif not isinstance(value, str) or not value.strip():
            raise QuestionsFileError(f"{where}: field {key!r} must be a non-empty string")
    gold = obj.get("gold_article_ids")
    if not isinstance(gold, list) or not gold or not all(isinstance(g, str) and g for g in gold):
        raise QuestionsFileError(f"{where}: field 'gold_article_ids' must be a non-empty list of strings")
    raw_date = obj.get("question_date")
    as_of: date | None = None
    if raw_date not in (None, ""):
        try:
            as_of = date.fromisoformat(str(raw_date)[:10])
        except ValueError:
            raise QuestionsFileError(
                f"{where}: field 'question_date' must be YYYY-MM-DD (got {raw_date!r})"
            ) from None
    choices = obj.get("choices")
    if choices is None:
        choices = []
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
        raise QuestionsFileError(f"{where}: field 'choices' must be a list of non-empty strings")
    return EvalQuestion(
        id=str(obj["id"]),
        question=obj["question"].strip(),
        answer=obj["answer"],
        gold_article_ids=tuple(gold),
        question_date=as_of,
        choices=tuple(choices),
    )


# --- pure metric functions -----------------------------------------------------------------------


def ranked_article_ids(passages: Iterable[Passage], depth: int = RANK_DEPTH) -> list[str]:
    """Article ids of ranked passages, first occurrence kept, at most `depth` of them.

    A passage whose article has near-copies stands for them too: its article, then the copies.
    """
    return first_occurrences((aid for p in passages for aid in p.article_ids()), depth)


def first_occurrences(ids: Iterable[str], depth: int = RANK_DEPTH) -> list[str]:
    """Distinct ids in order of first appearance, at most `depth` of them."""
    out: list[str] = []
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            continue
        seen.add(item)
        out.append(item)
        if len(out) >= depth:
            break
    return out


def gold_rank(ranked: Sequence[str], gold: Iterable[str], depth: int = RANK_DEPTH) -> int | None:
    """1-based position of the first gold id within the top `depth`, or None."""
    gold_set = set(gold)
    for position, article_id in enumerate(ranked[:depth], start=1):
        if article_id in gold_set:
            return position
    return None


def retrieval_metrics(rankings: Sequence[Sequence[str]], golds: Sequence[Iterable[str]]) -> RetrievalMetrics:
    """Hits@1/5/10 and MRR@10 of article rankings against gold ids (one pair per question)."""
    if len(rankings) != len(golds):
        raise ValueError(f"{len(rankings)} rankings for {len(golds)} questions")
    if not rankings:
        return RetrievalMetrics(0.0, 0.0, 0.0, 0.0)
    ranks = [gold_rank(r, g) for r, g in zip(rankings, golds, strict=True)]
    return metrics_from_ranks(ranks)


def metrics_from_ranks(ranks: Sequence[int | None]) -> RetrievalMetrics:
    """Hits@1/5/10 and MRR@10 from the 1-based gold rank of each question (None = not in top 10)."""
    n = len(ranks)
    if n == 0:
        return RetrievalMetrics(0.0, 0.0, 0.0, 0.0)

    def hits(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    mrr = sum(1.0 / r for r in ranks if r is not None and r <= RANK_DEPTH) / n
    return RetrievalMetrics(hits(1), hits(5), hits(10), mrr)


_QUOTE_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    }
)  # fmt: skip
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SPACES = re.compile(r"\s+")


def normalise_answer(text: str) -> str:
    """Lowercase, fold unicode quotes, drop punctuation and the articles a/an/the, collapse spaces.

    Punctuation becomes a space rather than vanishing, so "Biden's" still contains the word "biden".
    """
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FOLD).lower()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def contains_answer(gold: str, texts: Iterable[str]) -> bool:
    """True when the normalised gold answer appears, on word boundaries, in any of `texts`."""
    needle = normalise_answer(gold)
    if not needle:
        return False
    padded = f" {needle} "
    return any(padded in f" {normalise_answer(t)} " for t in texts if t)


def answer_contains(answer: Answer, gold: str) -> bool:
    """Containment for one answer: its text, its cited passages and quotes (never for an abstention)."""
    if answer.abstained:
        return False
    texts = [answer.text]
    for citation in answer.citations:
        texts.append(citation.passage.text)
        if citation.quote:
            texts.append(citation.quote)
    return contains_answer(gold, texts)


def answer_contains_strictly(answer: Answer, gold: str) -> bool:
    """Strict containment: the gold answer in the answer text itself or its quotes, not merely
    somewhere else in the cited passages (never for an abstention)."""
    if answer.abstained:
        return False
    return contains_answer(gold, [answer.text, *(c.quote for c in answer.citations if c.quote)])


def _matches(choice: str, candidate: str) -> bool:
    """Normalised containment either way, on word boundaries."""
    a, b = normalise_answer(choice), normalise_answer(candidate)
    if not a or not b:
        return False
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def choice_correct(answer: Answer, gold: str, choices: Sequence[str]) -> bool:
    """The short answer (else the answer text) matches the gold choice and no other choice.

    An abstention is never correct; `gold` need not be spelled exactly as its choice (the choice
    that matches `gold` is the gold one)."""
    if answer.abstained:
        return False
    candidate = answer.short_answer["text"] if answer.short_answer else answer.text
    gold_norm = normalise_answer(gold)
    matched = [c for c in choices if _matches(c, candidate)]
    return len(matched) == 1 and normalise_answer(matched[0]) == gold_norm


_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def citation_markers(text: str) -> list[int]:
    """The numbers of the `[n]` (and `[n, m]`) markers in an answer text, in order of appearance."""
    return [int(n) for group in _MARKER.findall(text) for n in group.split(",")]


def citations_valid(answer: Answer) -> bool:
    """An answer's citations are valid when it has at least one `[n]` marker and every marker
    maps to a citation whose passage is among the retrieved passages."""
    markers = citation_markers(answer.text)
    if not markers:
        return False
    retrieved = {p.chunk_id for p in answer.retrieved}
    by_n = {c.n: c for c in answer.citations}
    return all(n in by_n and by_n[n].passage.chunk_id in retrieved for n in markers)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --- running ------------------------------------------------------------------------------------


def run_eval(
    newsroom: Newsroom,
    questions: Sequence[EvalQuestion],
    *,
    k: int = DEFAULT_K,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Ask every question (as of its date) and score the answers.

    Retrieval depth is `max(k, MIN_RETRIEVAL_DEPTH)` passages so that Hits@10 has ten articles to look at.
    """
    from bot.core import Filters

    depth = max(k, MIN_RETRIEVAL_DEPTH)
    results: list[QuestionResult] = []
    for i, q in enumerate(questions):
        start = clock()
        answer = newsroom.ask(q.question, filters=Filters(as_of=q.question_date), k=depth)
        latency_ms = (clock() - start) * 1000.0
        ranked = ranked_article_ids(answer.retrieved)
        results.append(
            QuestionResult(
                id=q.id,
                ranked_article_ids=ranked,
                answer=answer.text,
                abstained=answer.abstained,
                citations=[
                    {"n": c.n, "article_id": c.passage.article_id, "chunk_id": c.passage.chunk_id, "quote": c.quote}
                    for c in answer.citations
                ],
                rank=gold_rank(ranked, q.gold_article_ids),
                contained=answer_contains(answer, q.answer),
                citations_valid=False if answer.abstained else citations_valid(answer),
                latency_ms=latency_ms,
                short_answer=answer.short_answer,
                strict_contained=answer_contains_strictly(answer, q.answer),
                choice_correct=choice_correct(answer, q.answer, q.choices) if q.choices else None,
            )
        )
        if progress:
            progress(i + 1, len(questions))
    return summarise(results, k=depth)


def summarise(results: Sequence[QuestionResult], *, k: int) -> EvalReport:
    """Aggregate per-question results into an `EvalReport`."""
    n = len(results)
    answered = [r for r in results if not r.abstained]
    latencies = [r.latency_ms for r in results]
    with_choices = [r for r in results if r.choice_correct is not None]
    return EvalReport(
        retrieval=metrics_from_ranks([r.rank for r in results]),
        answer_containment=sum(r.contained for r in results) / n if n else 0.0,
        abstention_rate=(n - len(answered)) / n if n else 0.0,
        strict_containment=sum(r.strict_contained for r in results) / n if n else 0.0,
        choice_accuracy=sum(bool(r.choice_correct) for r in with_choices) / len(with_choices) if with_choices else None,
        citation_validity=sum(r.citations_valid for r in answered) / len(answered) if answered else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        k=k,
        questions=list(results),
    )


def format_report(report: EvalReport) -> str:
    """A readable table of the metrics and one line per question."""
    lines = [f"{len(report.questions)} questions, {report.k} passages retrieved per question", ""]
    labels = {
        "hits_at_1": "Hits@1",
        "hits_at_5": "Hits@5",
        "hits_at_10": "Hits@10",
        "mrr_at_10": "MRR@10",
        "answer_containment": "answer containment",
        "strict_containment": "strict containment",
        "choice_accuracy": "choice accuracy",
        "abstention_rate": "abstention rate",
        "citation_validity": "citation validity",
        "latency_p50_ms": "latency p50 (ms)",
        "latency_p95_ms": "latency p95 (ms)",
    }
    for key, value in report.metrics().items():
        shown = "n/a" if value is None else (f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}")
        lines.append(f"  {labels[key]:<20} {shown:>8}")
    lines += ["", f"  {'id':<24} {'rank':>4}  {'cont':>4}  {'cite':>4}  {'pick':>4}  answer"]
    for r in report.questions:
        rank = "-" if r.rank is None else str(r.rank)
        cite = "-" if r.abstained else ("ok" if r.citations_valid else "BAD")
        answer = "(abstained)" if r.abstained else _one_line(r.answer, 60)
        pick = "-" if r.choice_correct is None else ("yes" if r.choice_correct else "no")
        lines.append(
            f"  {_one_line(r.id, 24):<24} {rank:>4}  {'yes' if r.contained else 'no':>4}  {cite:>4}  {pick:>4}  {answer}"
        )
    return "\n".join(lines)


def _one_line(text: str, width: int) -> str:
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"
