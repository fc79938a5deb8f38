"""Plain text and Markdown articles, with optional YAML front matter or metadata inferred from the text.

Without front matter (or for fields it leaves out) the text itself is read like a broadcast
transcript: the first non-empty line is the title (Markdown `#` stripped); a date line near the
top (`입력 2024.10.21 (23:55)` = KST, or an ISO date/datetime) is the publication date; a sign-off
as the last paragraph ("This is KBS News, Jeong Sae-bae.") gives source and author. Date lines
(including `수정 ...` = modified), the sign-off and bracketed broadcast markers on their own line
(`[Anchor]`, `[Report]`, `[앵커]`, ...) are metadata, never body text, and are always removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import yaml

from index.models import Article, Skip
from index.parsers.common import (
    FieldError,
    Fields,
    build_article,
    clean_text,
    fields_from_record,
    normalise_body,
    one_line,
    split_authors,
)

KST = timezone(timedelta(hours=9))
DATE_LINE_WINDOW = 6  # the title line plus ~5 lines below it
TITLE_LINE_MAX = 200  # a longer first line is a paragraph, not a title

_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_END = ("---", "...")
_MARKER_RE = re.compile(r"^\s*\[\s*[^\W\d_]+(?:[ \-][^\W\d_]+){0,3}\s*\]\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+|\s+#+\s*$")
_SETEXT_RE = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_KOREAN_DATE_RE = re.compile(
    r"^\s*(?P<label>입력|수정|최종\s*수정|업데이트)\s*:?\s*"
    r"(?P<y>\d{4})\s*[.\-/년]\s*(?P<m>\d{1,2})\s*[.\-/월]\s*(?P<d>\d{1,2})\s*[.일]?"
    r"\s*(?:\(?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*\)?)?"
    r"(?P<rest>.*)$"
)
_ISO_DATE_RE = re.compile(
    r"^\s*(?:(?P<label>published|date|posted|updated|modified)\s*:?\s*)?"
    r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)\s*$",
    re.IGNORECASE,
)
_NAME = r"[A-Z][\w'’.\-]*"
_NAMES = rf"{_NAME}(?:\s+{_NAME}){{0,3}}"
_SIGN_OFF_RES = (
    re.compile(rf"^This is (?P<source>{_NAMES}),\s+(?P<authors>{_NAMES}(?:\s*(?:,|and|&)\s*{_NAMES})*)$"),
    re.compile(r"^(?P<source>\S+(?:\s\S+)?\s?뉴스)\s+(?P<authors>\S+?)입니다$"),
)
_SIGN_OFF_MAX = 120


def parse_text(text: str, *, path: str, markdown: bool, max_chars: int) -> Iterator[Article | Skip]:
    """Parse one decoded .txt/.md file into a single Article (or a Skip with the reason)."""
    text = clean_text(text)
    fields = Fields()
    if _starts_with_front_matter(text):
        split = _split_front_matter(text)
        if isinstance(split, str):
            yield Skip(path, split)
            return
        meta, text = split
        try:
            fields = fields_from_record(meta)
        except FieldError as exc:
            yield Skip(path, f"front matter {exc.reason}")
            return
    yield _article_from_text(text, path=path, markdown=markdown, fields=fields, max_chars=max_chars)


def _starts_with_front_matter(text: str) -> bool:
    first_line = text.split("\n", 1)[0]
    return first_line.rstrip() == _FRONT_MATTER_FENCE


def _split_front_matter(text: str) -> tuple[dict[str, object], str] | str:
    """Return (front matter mapping, rest of text), or a Skip reason."""
    lines = text.split("\n")
    for end in range(1, len(lines)):
        if lines[end].rstrip() in _FRONT_MATTER_END:
            break
    else:
        return "invalid front matter: no closing '---' line"
    raw = "\n".join(lines[1:end])
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).split("\n", 1)[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return f"invalid YAML front matter: {problem}{where}"
    except RecursionError:
        return "invalid YAML front matter: nesting too deep"
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp with an impossible date
        return f"invalid YAML front matter: {exc}"
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return f"invalid YAML front matter: expected a mapping, got {type(meta).__name__}"
    return {str(k): v for k, v in meta.items()}, "\n".join(lines[end + 1 :])


def _article_from_text(
    text: str, *, path: str, markdown: bool, fields: Fields, max_chars: int
) -> Article | Skip:
    lines = [line for line in normalise_body(text).split("\n") if not _MARKER_RE.match(line)]
    title = fields.title
    published_at, date_rows = _find_date_lines(lines)
    drop = set(date_rows)
    title_row = _first_content_row(lines, drop)
    if title_row is not None:
        candidate = _strip_heading(lines[title_row])
        if title is None and len(candidate) <= TITLE_LINE_MAX:
            title = candidate
            drop.add(title_row)
        elif title is not None and one_line(candidate) == title:
            drop.add(title_row)  # a Markdown heading repeating the front-matter title
        underline = title_row + 1
        if title_row in drop and markdown and underline < len(lines) and _SETEXT_RE.match(lines[underline]):
            drop.add(underline)
    body = normalise_body("\n".join(line for row, line in enumerate(lines) if row not in drop))
    body, source, authors = _remove_sign_off(body)
    merged = Fields(
        id=fields.id,
        title=title,
        source=fields.source or source,
        published_at=fields.published_at or published_at,
        url=fields.url,
        authors=fields.authors or authors,
        notes=fields.notes,
    )
    return build_article(
        path=path, default_id=path, body=body, max_chars=max_chars, title=title, fields=merged
    )


def _first_content_row(lines: list[str], skip: set[int]) -> int | None:
    for row, line in enumerate(lines):
        if line.strip() and row not in skip:
            return row
    return None


def _strip_heading(line: str) -> str:
    return one_line(_HEADING_RE.sub("", line))


def _find_date_lines(lines: list[str]) -> tuple[datetime | None, list[int]]:
    """Date lines among the first non-empty lines: (first publication date, rows to remove)."""
    published: datetime | None = None
    rows: list[int] = []
    seen = 0
    for row, line in enumerate(lines):
        if not line.strip():
            continue
        seen += 1
        if seen > DATE_LINE_WINDOW:
            break
        parsed = _parse_date_line(line)
        if parsed is None:
            continue
        rows.append(row)
        is_published, when = parsed
        if is_published and published is None:
            published = when
    return published, rows


def _parse_date_line(line: str) -> tuple[bool, datetime | None] | None:
    """(is publication date, value) for a date line, or None when the line is not one."""
    match = _KOREAN_DATE_RE.match(line)
    if match:
        rest = match["rest"].strip()
        if rest and not re.match(r"^(?:\|\s*)?(?:수정|최종\s*수정|업데이트)", rest):
            return None
        try:
            when = datetime(int(match["y"]), int(match["m"]), int(match["d"]))
            if match["H"] is not None:
                when = when.replace(
                    hour=int(match["H"]), minute=int(match["M"]), second=int(match["S"] or 0), tzinfo=KST
                )
        except ValueError:
            return None
        return match["label"] == "입력", when
    match = _ISO_DATE_RE.match(line)
    if match:
        iso = match["iso"]
        try:
            when = datetime.fromisoformat(iso[:-1] + "+00:00" if iso.endswith("Z") else iso)
        except ValueError:
            return None
        label = (match["label"] or "").lower()
        return label not in ("updated", "modified"), when
    return None


def _remove_sign_off(body: str) -> tuple[str, str | None, tuple[str, ...]]:
    """Strip a sign-off last paragraph; return (body, source, authors)."""
    cut = body.rfind("\n\n")
    last = body[cut + 2 :] if cut != -1 else body
    if cut == -1 or len(last) > _SIGN_OFF_MAX or "\n" in last:
        return body, None, ()
    text = last.strip()
    text = text[:-1] if text.endswith(".") else text
    for pattern in _SIGN_OFF_RES:
        match = pattern.match(text)
        if match:
            return body[:cut].rstrip(), one_line(match["source"]), split_authors(match["authors"])
    return body, None, ()
