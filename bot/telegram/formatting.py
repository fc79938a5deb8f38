"""Telegram HTML for answers, sources, passages and stats, split under the message-length limit.

Everything that comes from articles is escaped with `html.escape`. Messages are built from
blocks: escaped plain text (which may be split at paragraph, sentence or word boundaries) and
small atomic markup (a source line with its link), so a split never falls inside a tag or an
entity and every part is valid HTML on its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.answer import ABSTAIN_TEXT, Answer, Citation, Passage
from bot.formatting_text import report_lines
from index.models import IndexProgress, IndexReport, IndexStats
from index.text import sentence_spans

MESSAGE_LIMIT = 4096  # Telegram's limit, in UTF-16 code units
MAX_TITLE_CHARS = 200
MAX_OUTLETS_LISTED = 40

_TAG = re.compile(r"<[^<>]*>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(markup: str) -> str:
    """The text Telegram shows for an HTML message: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


def escape(text: str) -> str:
    """Escape text for a Telegram HTML text node (`<`, `>`, `&`)."""
    return html.escape(text, quote=False)


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of a message: `text` is plain (escaped on output, splittable), `markup` is atomic HTML."""

    text: str | None = None
    markup: str | None = None
    sep: str = "\n\n"  # what joins this block to the one before it in the same message


def text_block(text: str, sep: str = "\n\n") -> Block:
    """A splittable block of plain text."""
    return Block(text=text, sep=sep)


def markup_block(markup: str, sep: str = "\n") -> Block:
    """An atomic block of HTML (must be well under the limit)."""
    return Block(markup=markup, sep=sep)


def split_message(blocks: Sequence[Block], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack blocks into as few HTML messages as fit, each at most `limit` UTF-16 units of raw HTML.

    The raw HTML is never shorter than its visible text, so both counts stay under the limit.
    """
    atoms: list[tuple[str, str]] = []
    for block in blocks:
        if block.markup is not None:
            if utf16_len(block.markup) > limit:
                atoms.extend(_text_atoms(visible_text(block.markup), block.sep, limit))
            else:
                atoms.append((block.sep, block.markup))
        elif block.text is not None and block.text.strip():
            atoms.extend(_text_atoms(block.text.strip(), block.sep, limit))
    parts: list[str] = []
    current = ""
    for sep, piece in atoms:
        candidate = f"{current}{sep}{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _text_atoms(text: str, sep: str, limit: int) -> list[tuple[str, str]]:
    """Escaped pieces of `text`, each within `limit`: paragraphs, then sentences, words, characters."""
    atoms: list[tuple[str, str]] = []
    for p_index, paragraph in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        first_sep = sep if p_index == 0 else "\n\n"
        atoms.extend(_fit(paragraph.strip(), first_sep, limit, level=0))
    return atoms


_WHITESPACE = re.compile(r"\s+")


def _fit(text: str, sep: str, limit: int, level: int) -> list[tuple[str, str]]:
    escaped = escape(text)
    if utf16_len(escaped) <= limit:
        return [(sep, escaped)]
    if level < 2:
        pieces = (
            [text[s:e] for s, e, _ in sentence_spans(text)] if level == 0 else [p for p in _WHITESPACE.split(text) if p]
        )
        if len(pieces) > 1:
            out: list[tuple[str, str]] = []
            for i, piece in enumerate(pieces):
                out.extend(_fit(piece, sep if i == 0 else " ", limit, level + 1))
            return out
        return _fit(text, sep, limit, level + 1)
    # One unbreakable run: cut between characters (never inside an entity, as escaping comes after).
    out = []
    current = ""
    for char in text:
        if utf16_len(escape(current + char)) > limit:
            out.append((sep if not out else "", escape(current)))
            current = char
        else:
            current += char
    if current:
        out.append((sep if not out else "", escape(current)))
    return out


def format_date(value: datetime | None) -> str | None:
    """ISO date of a publication time, or None."""
    return value.date().isoformat() if value else None


def _title(passage: Passage) -> str:
    title = (passage.title or "").strip() or "untitled"
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def _link(passage: Passage) -> str:
    title = escape(_title(passage))
    url = (passage.url or "").strip()
    if url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{title}</a>'
    return title


def source_line(citation: Citation) -> str:
    """`[n] outlet · date · <a href=url>title</a>` with everything escaped."""
    p = citation.passage
    meta = [escape(x) for x in (p.source, format_date(p.published_at)) if x]
    line = f"[{citation.n}] " + " · ".join([*meta, _link(p)])
    if p.also_in:
        line += " (also in: " + ", ".join(escape(c.label()) for c in p.also_in) + ")"
    return line


def answer_messages(answer: Answer, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The answer text with its `[n]` markers, then a compact sources list (none when abstained)."""
    blocks: list[Block] = []
    if answer.abstained:
        blocks.append(text_block(answer.text.strip() or ABSTAIN_TEXT))
        blocks.append(text_block("I only answer from the indexed coverage, so I won't guess. "
                                 "Try rephrasing, or see /sources for what the coverage holds."))
        return split_message(blocks, limit)
    text = answer.text or "…"
    lead, _, rest = text.partition("\n")
    if answer.short_answer and rest.strip():
        # The direct answer first, in bold (escaped), then the quoted sentences with their markers.
        blocks.append(markup_block(f"<b>{escape(lead)}</b>", sep="\n\n"))
        blocks.append(text_block(rest, sep="\n"))
    else:
        blocks.append(text_block(text))
    citations = sorted(answer.citations, key=lambda c: c.n)
    if citations and answer.kind == "answer":
        blocks.append(markup_block("<b>Sources</b>", sep="\n\n"))
        blocks.extend(markup_block(source_line(c)) for c in citations)
    return split_message(blocks, limit)


def timeline_pages(answer: Answer, limit: int = MESSAGE_LIMIT) -> list[str]:
    """A timeline answer as pages, each one message: the heading in bold, then one statement a
    line, `date · outlet · statement [n]`, its marker linking to the article. A page holds whole
    statements only; with more than one page each ends with "page i of N" (the buttons page)."""
    lines = answer.text.split("\n")
    by_n = {c.n: c for c in answer.citations}
    head = f"<b>{escape(lines[0])}</b>"
    entries: list[str] = []
    for line in lines[1:]:
        m = _MARKER_AT_END.search(line)
        citation = by_n.get(int(m.group(1))) if m else None
        if m is None or citation is None:
            entries.append(f"<i>{escape(line)}</i>")
            continue
        url = (citation.passage.url or "").strip()
        marker = f"[{citation.n}]"
        if url.startswith(("http://", "https://")):
            marker = f'<a href="{html.escape(url, quote=True)}">{marker}</a>'
        entry = f"{escape(line[: m.start()])} {marker}"
        if utf16_len(entry) > limit // 2:
            entry = f"{escape(line[: limit // 4])}… {marker}"
        entries.append(entry)
    reserve = utf16_len(head) + len("\n\n<i>page 999 of 999</i>") + 2
    pages: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        cost = utf16_len(entry) + 1
        if pages[-1] and size + cost > limit - reserve:
            pages.append([])
            size = 0
        pages[-1].append(entry)
        size += cost
    if len(pages) == 1:
        return ["\n".join([head, *pages[0]])]
    return [
        "\n".join([head, *page]) + f"\n\n<i>page {i} of {len(pages)}</i>" for i, page in enumerate(pages, start=1)
    ]


_MARKER_AT_END = re.compile(r" \[(\d+)\]$")


def passage_messages(n: int, passage: Passage, limit: int = MESSAGE_LIMIT) -> list[str]:
    """A cited passage in full: title, outlet and date, link, then the passage text."""
    meta = " · ".join(escape(x) for x in (passage.source, format_date(passage.published_at)) if x)
    head = f"<b>[{n}] {escape(_title(passage))}</b>"
    blocks = [markup_block(head)]
    if meta:
        blocks.append(markup_block(meta, sep="\n"))
    url = (passage.url or "").strip()
    if url.startswith(("http://", "https://")):
        blocks.append(markup_block(f'<a href="{html.escape(url, quote=True)}">Read the article</a>'))
    blocks.append(text_block(passage.text))
    return split_message(blocks, limit)


def sources_messages(stats: IndexStats, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Outlets and date range of the coverage (for /sources)."""
    if stats.articles == 0:
        return split_message([text_block("The index is empty: there is no coverage to search yet.")], limit)
    earliest, latest = format_date(stats.earliest), format_date(stats.latest)
    span = f"from {earliest} to {latest}" if earliest and latest else "with no publication dates"
    outlets = sorted(stats.sources.items(), key=lambda kv: (-kv[1], kv[0]))
    blocks = [
        text_block(
            f"The coverage holds {stats.articles} articles from {len(outlets)} outlets, {span}."
        )
    ]
    blocks.append(markup_block("<b>Outlets</b>", sep="\n\n"))
    for name, count in outlets[:MAX_OUTLETS_LISTED]:
        blocks.append(markup_block(f"• {escape(name)} ({count})"))
    if len(outlets) > MAX_OUTLETS_LISTED:
        blocks.append(markup_block(f"… and {len(outlets) - MAX_OUTLETS_LISTED} more"))
    return split_message(blocks, limit)


def stats_messages(stats: IndexStats, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Index counts for admins (for /stats)."""
    earliest, latest = format_date(stats.earliest), format_date(stats.latest)
    lines = [
        "<b>Index</b>",
        f"Articles: {stats.articles}",
        f"Chunks: {stats.chunks}",
        f"Outlets: {len(stats.sources)}",
        f"Dates: {earliest or '—'} to {latest or '—'}",
        f"Store: {escape(stats.store)}",
        f"Model: {escape(stats.model)}",
        f"Chunker: {escape(stats.chunker)}",
    ]
    return split_message([markup_block(line) for line in lines], limit)


def progress_text(progress: IndexProgress) -> str:
    """One plain-text status line for a reindex in progress."""
    line = f"Reindexing… {progress.phase}"
    if progress.total:
        line += f" {progress.done}/{progress.total}"
    if progress.message:
        line += f" — {progress.message}"
    return line


def report_text(report: IndexReport, max_skipped: int = 5) -> str:
    """Plain-text summary of a finished reindex, within one message."""
    return _truncate_plain("\n".join(report_lines(report, bullet="•", max_listed=max_skipped)))


def _truncate_plain(text: str, limit: int = MESSAGE_LIMIT) -> str:
    while utf16_len(text) > limit:
        text = text[: limit - 1] + "…" if len(text) > limit else text[:-2] + "…"
    return text
