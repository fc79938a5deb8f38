"""The feeds file (TOML `[[feeds]]` tables) and feed documents: RSS/Atom (feedparser) and JSON Feed."""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from index.fetch.errors import FeedsFileError, FetchError

_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed to follow: its URL and the outlet name stored as each article's `source`."""

    url: str
    source: str


def load_feeds(path: Path) -> list[FeedConfig]:
    """Read the feeds file; raise `FeedsFileError` (one line) when it is missing or malformed.

    Format: `[[feeds]]` tables with `url` (http/https) and `source` (the outlet name); a URL
    listed twice is an error, so is an unknown key (a typo would otherwise go unnoticed).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsFileError(f"no feeds file at {path} (see docs/feeds.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsFileError(f"cannot read feeds file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FeedsFileError(f"feeds file {path} is not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"feeds"})
    if extra:
        raise FeedsFileError(f"feeds file {path}: unknown key {extra[0]!r} (expected [[feeds]] tables)")
    tables = data.get("feeds", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise FeedsFileError(f"feeds file {path}: 'feeds' must be [[feeds]] tables")
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, start=1):
        where = f"feeds file {path}, feed {n}"
        unknown = sorted(set(table) - {"url", "source"})
        if unknown:
            raise FeedsFileError(f"{where}: unknown key {unknown[0]!r} (a feed has url and source)")
        url, source = table.get("url"), table.get("source")
        if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https") \
                or not urlsplit(url.strip()).netloc:
            raise FeedsFileError(f"{where}: url must be an http(s) address (got {url!r})")
        if not isinstance(source, str) or not source.strip():
            raise FeedsFileError(f"{where}: source (the outlet name) is missing")
        url = url.strip()
        if url in seen:
            raise FeedsFileError(f"{where}: {url} is listed twice")
        seen.add(url)
        feeds.append(FeedConfig(url=url, source=_WS_RE.sub(" ", source).strip()))
    return feeds


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a feed: a stable key, its absolute link, and what the feed says about it."""

    key: str
    link: str
    title: str
    published_at: datetime | None
    fingerprint: str  # changes when the feed's view of the entry changes (link, title, dates)


def parse_feed(body: bytes, *, url: str, content_type: str = "") -> list[FeedEntry]:
    """Entries of an RSS, Atom or JSON Feed document fetched from `url` (relative links resolved).

    Raises `FetchError("malformed feed: …")` when the document is neither; entries without a
    link are left out (there is no page to read).
    """
    head = body.lstrip()[:1]
    if head in (b"{", b"[") or "json" in content_type:
        return _parse_json_feed(body, url)
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": content_type or "application/xml"})
    entries = []
    for item in parsed.entries:
        link = (item.get("link") or "").strip()
        if not link:
            continue
        link = urljoin(url, link)
        title = plain_text(item.get("title") or "")
        stamp = item.get("published_parsed") or item.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        updated = item.get("updated") or item.get("published") or ""
        entries.append(_entry(item.get("id") or link, link, title, published, updated))
    if not entries and (parsed.bozo or not parsed.version):
        problem = getattr(parsed, "bozo_exception", None)
        detail = str(problem).split("\n", 1)[0][:120] if problem else "no RSS or Atom entries"
        raise FetchError(f"malformed feed: {detail}")
    return entries


def _parse_json_feed(body: bytes, url: str) -> list[FeedEntry]:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FetchError("malformed feed: not valid JSON") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(version, str) or "jsonfeed.org" not in version or not isinstance(items, list):
        raise FetchError("malformed feed: JSON but not a JSON Feed (no version/items)")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str) or not link.strip():
            continue
        link = urljoin(url, link.strip())
        stamp = item.get("date_published") or item.get("date_modified")
        published = None
        if isinstance(stamp, str):
            try:
                published = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                published = None
        title = plain_text(str(item.get("title") or ""))
        updated = str(item.get("date_modified") or stamp or "")
        entries.append(_entry(str(item.get("id") or link), link, title, published, updated))
    return entries


def _entry(key: str, link: str, title: str, published: datetime | None, updated: str) -> FeedEntry:
    digest = hashlib.sha256(json.dumps([link, title, updated]).encode("utf-8")).hexdigest()[:16]
    return FeedEntry(key=str(key).strip() or link, link=link, title=title, published_at=published, fingerprint=digest)


def plain_text(markup: str) -> str:
    """Text of a feed title or summary: tags dropped, entities decoded, whitespace collapsed."""
    return _WS_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", markup))).strip()
