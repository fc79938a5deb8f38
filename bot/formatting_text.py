"""Plain-text rendering of answers for the terminal (`newsbot ask` and the REPL)."""

from __future__ import annotations

import textwrap

from bot.answer import Answer, Citation, Passage

_QUOTE_MAX = 400
_PASSAGE_MAX = 300


def format_answer(answer: Answer) -> str:
    """The answer text, then its numbered sources; an abstention or chit-chat has no sources."""
    lines = [answer.text]
    if answer.fallback_reason:
        lines.append(f"(the LLM answer failed: {answer.fallback_reason}; showing the extractive answer)")
    if answer.citations:
        lines.append("")
        lines.append(format_sources(answer))
    return "\n".join(lines)


def format_sources(answer: Answer) -> str:
    """`[n] outlet · YYYY-MM-DD · title · url` then the quoted passage, indented, per citation."""
    if not answer.citations:
        return "No sources."
    return "\n".join(_format_citation(c) for c in answer.citations)


def _format_citation(citation: Citation) -> str:
    quote = citation.quote or citation.passage.text
    quoted = f"“{_shorten(quote, _QUOTE_MAX)}”"
    return f"[{citation.n}] {source_line(citation.passage)}\n{_indent(quoted)}"


def source_line(passage: Passage) -> str:
    """`outlet · YYYY-MM-DD · title · url`; unknown outlet or date are said so, a missing url left out."""
    parts = [
        passage.source or "unknown outlet",
        passage.published_at.date().isoformat() if passage.published_at else "undated",
        passage.title or "(untitled)",
    ]
    if passage.url:
        parts.append(passage.url)
    return " · ".join(parts)


def format_passages(passages: list[Passage]) -> str:
    """The retrieved passages, best first, with fused/dense/lexical scores and ids (for `:passages`)."""
    if not passages:
        return "No passages were retrieved."
    blocks = []
    for i, p in enumerate(passages, start=1):
        scores = f"fused {p.score:.4f} · dense {_num(p.dense_score, 3)} · lexical {_num(p.lexical_score, 2)}"
        blocks.append(
            f"{i}. {scores} · article {p.article_id} · chunk {p.chunk_id}\n"
            f"   {source_line(p)}\n"
            f"{_indent(_shorten(p.text, _PASSAGE_MAX))}"
        )
    return "\n".join(blocks)


def format_timings(answer: Answer) -> str:
    """Stage timings in milliseconds, one per line (for `:timings`)."""
    if not answer.timings:
        return "No timings recorded."
    width = max(len(k) for k in answer.timings)
    return "\n".join(f"{k.ljust(width)}  {v:8.1f} ms" for k, v in answer.timings.items())


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else textwrap.shorten(flat, width=limit, placeholder=" …")


def _indent(text: str) -> str:
    return textwrap.indent(text, "    ")
