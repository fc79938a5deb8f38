"""Plain-text rendering for the terminal (`newsbot ask`, `index`, `stats` and the REPL); `report_lines`
is also what Telegram's reindex summary is made of."""

from __future__ import annotations

import calendar
import io
import shutil
import textwrap
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answer import Answer, Citation, Passage
from index.models import IndexReport, IndexStats

if TYPE_CHECKING:
    from bot.core import FetchResult

_QUOTE_MAX = 400
_PASSAGE_MAX = 300


def format_answer(answer: Answer, width: int | None = None) -> str:
    """The answer text, then its numbered sources; an abstention or chit-chat has no sources.

    A timeline answer prints its statements as a table (date, outlet, statement, marker), then
    one source line per citation (the quoted sentence is already in the table)."""
    if answer.statements and not answer.abstained:
        return format_timeline(answer, width)
    lines = [answer.text]
    if answer.fallback_reason:
        lines.append(f"(the LLM answer failed: {answer.fallback_reason}; showing the extractive answer)")
    if answer.citations:
        lines.append("")
        lines.append(format_sources(answer))
    return "\n".join(lines)


def format_timeline(answer: Answer, width: int | None = None) -> str:
    """A timeline answer: its heading line, a table of its statements, any "more not listed"
    note, then `[n] outlet · date · title · url` per citation. `width` defaults to the
    terminal's (100 columns when there is none)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    lines = answer.text.split("\n")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, kwargs in (("Date", {"no_wrap": True}), ("Outlet", {}), ("Statement", {"ratio": 1}), ("", {"no_wrap": True})):
        table.add_column(name, **kwargs)
    for row in answer.statements:
        published = row.get("published_at")
        day = _day(published) if isinstance(published, str) else "undated"
        table.add_row(day, str(row.get("source") or "unknown outlet"), " ".join(str(row["text"]).split()), f"[{row['n']}]")
    out = io.StringIO()
    columns = width or shutil.get_terminal_size((100, 24)).columns
    Console(file=out, width=columns, color_system=None, emoji=False, highlight=False, markup=False).print(table)
    notes = [line for line in lines[1:] if line.startswith("(")]
    sources = [f"[{c.n}] {source_line(c.passage)}" for c in sorted(answer.citations, key=lambda c: c.n)]
    return "\n".join([lines[0], out.getvalue().rstrip("\n"), *notes, "", *sources])


def _day(iso: str) -> str:
    """`21 Oct 2024` from an ISO date-time, as the article gives its day."""
    try:
        d = datetime.fromisoformat(iso).date()
    except ValueError:
        return iso
    return f"{d.day} {calendar.month_abbr[d.month]} {d.year}"


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
    if passage.also_in:
        parts.append("also in: " + ", ".join(c.label() for c in passage.also_in))
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


def report_lines(report: IndexReport, *, bullet: str = "-", max_listed: int | None = None) -> list[str]:
    """The summary of a reindex, line by line (the terminal and Telegram both render these).

    `max_listed` caps the skipped files and warnings listed (Telegram's message is short).
    """
    if report.refused:
        return [f"Reindex refused: {report.refused}"]
    lines = [
        f"Reindex done in {report.seconds:.1f} s: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged; {report.chunks} chunks in the index."
    ]
    if report.embedded_chunks:
        lines.append(f"Embedded {report.embedded_chunks} chunks.")
    if report.repaired:
        lines.append(f"Repaired: {report.repaired}.")
    if report.duplicates:
        lines.append(f"Near-copies of another article: {report.duplicates} (cited with their original, not embedded).")
    if report.full_rebuild_reason:
        lines.append(f"Full rebuild: {report.full_rebuild_reason}.")
    shown = report.skipped if max_listed is None else report.skipped[:max_listed]
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} file(s):")
        for skip in shown:
            where = f"{skip.path}:{skip.line}" if skip.line is not None else skip.path
            lines.append(f"{bullet} {where}: {skip.reason}")
        if len(report.skipped) > len(shown):
            lines.append(f"… and {len(report.skipped) - len(shown)} more")
    warnings = report.warnings if max_listed is None else report.warnings[:max_listed]
    lines += [f"Warning: {w}" for w in warnings]
    return lines


def format_report(report: IndexReport, corpus: Path) -> str:
    """The terminal summary of a reindex of `corpus`."""
    return "\n".join([f"Corpus: {corpus}", *report_lines(report, bullet="  -")])


def format_stats(stats: IndexStats) -> str:
    """The human form of `newsbot stats`."""
    span = "—"
    if stats.earliest and stats.latest:
        span = f"{stats.earliest.date().isoformat()} … {stats.latest.date().isoformat()}"
    lines = [
        f"Articles: {stats.articles}",
        f"Chunks:   {stats.chunks}",
        f"Dates:    {span}",
        f"Store:    {stats.store}",
        f"Model:    {stats.model or '—'}",
        f"Chunker:  {stats.chunker or '—'}",
        "Sources:" + ("" if stats.sources else " —"),
    ]
    lines += [f"  {name}: {count}" for name, count in stats.sources.items()]
    return "\n".join(lines)


def fetch_lines(result: FetchResult, *, new_label: str = "fetched", bullet: str = "  -") -> list[str]:
    """The summary of `newsbot fetch` / `add`: counts, one line per article and failure, the index run."""
    report = result.report
    lines = [
        f"{len(report.new)} {new_label}, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.failed)} failed."
    ]
    for label, items in ((new_label, report.new), ("updated", report.updated)):
        for item in items:
            date = (item.published_at or "no date")[:10]
            passages = result.passages.get(item.article_id)
            count = f" — {plural(passages, 'passage')}" if passages is not None else ""
            lines.append(f"{bullet} {label}: {item.source or '?'} · {date} · {item.title}{count} ({item.path})")
            lines += [f"{bullet}   note: {note}" for note in item.notes]
    for failure in report.failed:
        lines.append(f"{bullet} failed: {failure.url}: {failure.reason}")
    if result.index is not None:
        lines += report_lines(result.index, bullet=bullet)
    elif result.index_error:
        lines.append(f"Not indexed yet: {result.index_error}")
    return lines


def plural(n: int, word: str) -> str:
    """`1 passage`, `2 passages`."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_reader(answer: Answer) -> str:
    """The reader's best candidate sentences with their features and score (`--passages`, `:passages`)."""
    from bot.reader import FEATURES

    if not answer.reader:
        return "Reader: no scored sentences."
    lines = ["Reader (best sentences; score = weighted sum of the features):"]
    if answer.short_answer:
        s = answer.short_answer
        lines.append(f"  short answer: {s['text']!r} from [{s['n']}] at {s['start']}-{s['end']}")
    for i, row in enumerate(answer.reader, start=1):
        feats = " ".join(f"{name} {row[name]:.2f}" for name in FEATURES if name in row)
        sentence = " ".join(row["sentence"].split())
        shown = sentence if len(sentence) <= 160 else sentence[:159] + "…"
        lines.append(f"  {i}. score {row['score']:.3f} · retrieved passage {row['retrieved']} · {feats}\n     {shown}")
    return "\n".join(lines)
