"""Article text and metadata from an HTML page, with trafilatura (main text only, no boilerplate)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from index.fetch.errors import FetchError
from index.fetch.http import HttpResponse

MIN_BODY_CHARS = 200  # below this a page is a paywall stub, a teaser or an index page
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
_AUTHOR_SPLIT = re.compile(r"\s*[;,|]\s*|\s+and\s+")

logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a page says about itself; `canonical_url` only when it is on the page's own host."""

    title: str
    body: str
    authors: tuple[str, ...]
    published_at: datetime | None
    canonical_url: str | None
    site_name: str | None


def extract_article(response: HttpResponse) -> Extracted:
    """Extract the article of an HTML response, or raise `FetchError` saying why there is none."""
    if response.content_type not in HTML_TYPES:
        raise FetchError(f"not an HTML page ({response.content_type})")
    if b"\x00" in response.body[:8192]:
        raise FetchError("not an HTML page (binary content)")
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
                        _decode(response),
            url=response.url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            # Dates from the page's markup only: a guess from "© 2026" in the footer is worse than none.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - a hostile page must not end the run
        raise FetchError(f"page could not be parsed: {type(exc).__name__}") from None
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise FetchError("no article text found on the page")
    title = (getattr(doc, "title", None) or "").strip()
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]  # trafilatura repeats the headline as the first line
    body = "\n\n".join(lines)
    if len(body) < MIN_BODY_CHARS:
        raise FetchError(f"article text too short ({len(body)} characters; a paywall or teaser?)")
    return Extracted(
        title=title,
        body=body,
        authors=_authors(getattr(doc, "author", None)),
        published_at=_date(getattr(doc, "date", None)),
        canonical_url=_same_host(getattr(doc, "url", None), response.url),
        site_name=(getattr(doc, "sitename", None) or "").strip() or None,
    )


def _decode(response: HttpResponse) -> str | bytes:
    charset = re.search(r"charset=([\w.-]+)", response.headers.get("content-type", ""), re.IGNORECASE)
    if charset:
        try:
            return response.body.decode(charset.group(1), errors="replace")
        except LookupError:
            pass
    return response.body  # trafilatura detects the encoding


def _authors(value: object) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        return ()
    names = (n.strip() for n in _AUTHOR_SPLIT.split(value.strip()))
    return tuple(dict.fromkeys(n for n in names if n))


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _same_host(canonical: object, page_url: str) -> str | None:
    """A page may name its canonical address only on its own host (else it could overwrite others')."""
    if not isinstance(canonical, str) or not canonical.strip():
        return None
    wanted = urlsplit(canonical.strip())
    here = urlsplit(page_url)
    if wanted.scheme not in ("http", "https"):
        return None
    strip = lambda host: (host or "").lower().removeprefix("www.")  # noqa: E731
    if strip(wanted.hostname) != strip(here.hostname) or (wanted.port or None) != (here.port or None):
        return None
    return canonical.strip()
