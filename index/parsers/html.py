"""HTML articles: main text and metadata extracted by trafilatura (no hand-written HTML parsing).

Body: trafilatura's main text (boilerplate, scripts, styles, <noscript> and comments removed), one paragraph
per extracted block; the first block is dropped when it repeats the title. Metadata: title,
date (kept tz-aware when the page gives an offset), author(s), site name (→ source, else the
host name) and the canonical URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from index.models import Article, Skip
from index.parsers.common import Fields, build_article, one_line, parse_date, split_authors

_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def parse_html(text: str, *, path: str, max_chars: int) -> Iterator[Article | Skip]:
    """Parse one decoded .html/.htm file into a single Article (or a Skip with the reason)."""
    document = _extract(text)
    if isinstance(document, Skip):
        yield Skip(path, document.reason)
        return
    if document is None:
        yield Skip(path, "no body text")
        return
    title = one_line(_text(document, "title"))
    blocks = [one_line(block) for block in _text(document, "text").split("\n")]
    blocks = [block for block in blocks if block]
    if blocks and title and blocks[0] == title:
        blocks = blocks[1:]
    notes: list[str] = []
    published_at = None
    raw_date = _text(document, "date")
    if raw_date:
        published_at, note = parse_date(raw_date)
        if note:
            notes.append(note)
    fields = Fields(
        title=title or None,
        source=one_line(_text(document, "sitename")) or one_line(_text(document, "hostname")) or None,
        published_at=published_at,
        url=one_line(_text(document, "url")) or None,
        authors=split_authors(_text(document, "author")),
        notes=tuple(notes),
    )
    yield build_article(
        path=path,
        default_id=path,
        body="\n\n".join(blocks),
        max_chars=max_chars,
        title=fields.title,
        fields=fields,
    )


def _extract(text: str) -> Any:
    """trafilatura's Document for the page, None when it finds no main text, or a Skip when it fails."""
    import trafilatura  # lazy: costs ~0.5 s and only HTML needs it
    from trafilatura.settings import set_date_params

    date_params = dict(set_date_params(True))
    date_params["outputformat"] = _DATE_FORMAT
    try:
        return trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=date_params,
            prune_xpath="//noscript",  # trafilatura keeps <noscript> fallback text otherwise
        )
    except RecursionError:
        return Skip("", "cannot parse HTML: nesting too deep")
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup; never crash the run
        return Skip("", f"cannot parse HTML: {type(exc).__name__}: {exc}"[:200])


def _text(document: Any, name: str) -> str:
    value = getattr(document, name, None)
    return value if isinstance(value, str) else ""
