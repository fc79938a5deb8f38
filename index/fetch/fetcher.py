"""Feeds and links → article files in the corpus: `Fetcher.fetch_feeds()` and `Fetcher.add(urls)`.

Nothing here deletes an article file: a feed that fails, drops an entry or disappears leaves what
was fetched in place. Every entry, page and feed that cannot be used is reported with a reason and
the run goes on. One run at a time per corpus folder (`.newsbot-fetch.lock`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from index.fetch.corpus import article_id, normalise_url, store_article
from index.fetch.extract import extract_article
from index.fetch.feeds import FeedConfig, FeedEntry, load_feeds, parse_feed
from index.fetch.errors import FetchBusy, FetchError
from index.fetch.http import HttpClient, HttpResponse
from index.fetch.robots import RobotsCache
from index.fetch.state import LOCK_FILE, FetchState

log = logging.getLogger(__name__)

MAX_ENTRY_ATTEMPTS = 3  # a page that failed this often is not tried again until its feed entry changes
MAX_NEW_PER_FEED = 50  # pages read per feed and run; the rest wait for the next run
BACKOFF_FIRST = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=6)
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FetchItem:
    """An article fetched (or found unchanged): where it came from and where it is stored."""

    url: str
    path: str
    title: str
    article_id: str
    source: str | None = None
    published_at: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "path": self.path, "title": self.title}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A feed, an entry or a link that could not be used, and why."""

    url: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "reason": self.reason}


@dataclass(slots=True)
class FetchReport:
    """One run: new, updated and unchanged articles, failures, and a line per feed."""

    new: list[FetchItem] = field(default_factory=list)
    updated: list[FetchItem] = field(default_factory=list)
    unchanged: list[FetchItem] = field(default_factory=list)
    failed: list[FetchFailure] = field(default_factory=list)
    feeds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        """True when a file in the corpus was written (the index needs a run)."""
        return bool(self.new or self.updated)

    def to_dict(self, new_key: str = "fetched") -> dict[str, Any]:
        out: dict[str, Any] = {
            new_key: [i.to_dict() for i in self.new],
            "updated": [i.to_dict() for i in self.updated],
            "unchanged": [i.to_dict() for i in self.unchanged],
            "failed": [f.to_dict() for f in self.failed],
        }
        if self.feeds:
            out["feeds"] = list(self.feeds)
        return out


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What `/feeds` shows for one feed."""

    url: str
    source: str
    articles: int
    last_success: str | None
    last_error: str | None
    last_error_at: str | None
    failures: int
    retry_after: str | None


class Fetcher:
    """Reads feeds and pages through one `HttpClient` and writes articles into `corpus_dir`."""

    def __init__(
        self,
        client: HttpClient,
        corpus_dir: Path,
        feeds_file: Path,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.corpus_dir = Path(corpus_dir)
        self.feeds_file = Path(feeds_file)
        self.now = now

    def feeds(self) -> list[FeedConfig]:
        """The configured feeds; raises `FeedsFileError` when the file is missing or malformed."""
        return load_feeds(self.feeds_file)

    def fetch_feeds(self) -> FetchReport:
        """Poll every feed once and store its new and changed entries' articles."""
        feeds = self.feeds()
        report = FetchReport()
        with self._locked() as state:
            robots = RobotsCache(self.client, self.client.policy.user_agent)
            for feed in feeds:
                try:
                    self._poll(feed, state, robots, report)
                finally:
                    state.save(self.corpus_dir)
        return report

    def add(self, urls: Iterable[str], *, public_only: bool = False) -> FetchReport:
        """Fetch and store one article per link; `public_only` for links from untrusted people."""
        report = FetchReport()
        with self._locked() as state:
            robots = RobotsCache(self.client, self.client.policy.user_agent)
            for url in urls:
                url = url.strip()
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    report.failed.append(FetchFailure(url, "not an http(s) link"))
                    continue
                self._page(url, None, None, state, robots, report, public_only=public_only)
            state.save(self.corpus_dir)
        return report

    def status(self) -> list[FeedStatus]:
        """Each configured feed's last success, last error and article count (from the state file)."""
        state = FetchState.load(self.corpus_dir)
        out = []
        for feed in self.feeds():
            fs = state.feeds.get(feed.url, {})
            entries = fs.get("entries", {})
            out.append(FeedStatus(
                url=feed.url,
                source=feed.source,
                articles=sum(1 for e in entries.values() if e.get("path")),
                last_success=fs.get("last_success"),
                last_error=fs.get("last_error"),
                last_error_at=fs.get("last_error_at"),
                failures=int(fs.get("failures", 0)),
                retry_after=fs.get("retry_after"),
            ))
        return out

    # --- one feed ------------------------------------------------------------------------------

    def _poll(self, feed: FeedConfig, state: FetchState, robots: RobotsCache, report: FetchReport) -> None:
        fs = state.feed(feed.url)
        fs["source"] = feed.source
        now = self.now()
        line: dict[str, Any] = {"url": feed.url, "source": feed.source}
        report.feeds.append(line)
        retry_after = _parse_time(fs.get("retry_after"))
        if retry_after is not None and now < retry_after:
            reason = (f"feed: backing off after {fs.get('failures', 1)} failed attempt(s) "
                      f"(last: {fs.get('last_error')}); next try after {fs['retry_after']}")
            report.failed.append(FetchFailure(feed.url, reason))
            line["status"] = "backing off"
            return
        try:
            response = self.client.get(feed.url, headers=_conditional(fs))
            if response.status == 304:
                self._feed_ok(fs, now)
                line["status"] = "not modified"
                return
            entries = parse_feed(response.body, url=response.url, content_type=response.content_type)
        except FetchError as exc:
            self._feed_failed(fs, exc.reason, now)
            report.failed.append(FetchFailure(feed.url, f"feed: {exc.reason}"))
            line.update(status="failed", error=exc.reason)
            return
        _remember_validators(fs, response)
        self._feed_ok(fs, now)
        line.update(status="ok", entries=len(entries))
        seen: dict[str, Any] = fs["entries"]
        tried = 0
        for entry in entries:
            known = seen.get(entry.key)
            if known and known.get("fingerprint") == entry.fingerprint:
                if known.get("path"):
                    report.unchanged.append(_item_from(known, entry.link))
                    continue
                if int(known.get("attempts", 0)) >= MAX_ENTRY_ATTEMPTS:
                    continue
            if tried >= MAX_NEW_PER_FEED:
                continue
            tried += 1
            outcome = self._page(entry.link, feed, entry, state, robots, report, public_only=False)
            if isinstance(outcome, FetchItem):
                seen[entry.key] = {"fingerprint": entry.fingerprint, **_item_state(outcome)}
            elif not (known and known.get("path")):  # a stored copy stays; a changed entry is retried
                same = known is not None and known.get("fingerprint") == entry.fingerprint
                attempts = int(known.get("attempts", 0)) + 1 if same and known else 1
                seen[entry.key] = {"fingerprint": entry.fingerprint, "attempts": attempts, "error": outcome}

    @staticmethod
    def _feed_ok(fs: dict[str, Any], now: datetime) -> None:
        fs.update(last_success=_iso(now), failures=0, retry_after=None)

    @staticmethod
    def _feed_failed(fs: dict[str, Any], reason: str, now: datetime) -> None:
        failures = int(fs.get("failures", 0)) + 1
        pause = min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_MAX)
        fs.update(last_error=reason, last_error_at=_iso(now), failures=failures, retry_after=_iso(now + pause))

    # --- one page ------------------------------------------------------------------------------

    def _page(
        self,
        url: str,
        feed: FeedConfig | None,
        entry: FeedEntry | None,
        state: FetchState,
        robots: RobotsCache,
        report: FetchReport,
        *,
        public_only: bool,
    ) -> FetchItem | str:
        """Fetch, extract and store one page; returns the item, or the failure reason (reported)."""
        key = normalise_url(url)
        known = state.pages.get(key)
        if known and not (self.corpus_dir / str(known.get("path", ""))).is_file():
            known = None  # the file was removed by hand: fetch it whole again
        try:
            refusal = robots.refusal(url, public_only=public_only)
            if refusal:
                raise FetchError(refusal)
            response = self.client.get(url, headers=_conditional(known), public_only=public_only)
            if response.status == 304 and known:
                item = _item_from(known, url)
                report.unchanged.append(item)
                return item
            if response.status == 304:
                raise FetchError("HTTP 304 without an earlier copy")
            extracted = extract_article(response)
        except FetchError as exc:
            report.failed.append(FetchFailure(url, exc.reason))
            return exc.reason
        canonical = normalise_url(extracted.canonical_url or response.url)
        aid = article_id(canonical)
        published, notes = self._choose_date(entry.published_at if entry else None, extracted.published_at)
        source = (feed.source if feed else None) or extracted.site_name or urlsplit(canonical).hostname
        title = (entry.title if entry and entry.title else "") or extracted.title
        record = {
            "id": aid,
            "title": title,
            "source": source,
            "published_at": published,
            "url": canonical,
            "authors": list(extracted.authors),
            "body": extracted.body,
            "fetched_at": _iso(self.now()),
            "feed": feed.url if feed else None,
        }
        try:
            path, status = store_article(self.corpus_dir, record)
        except OSError as exc:
            reason = f"cannot write into the corpus folder: {exc.strerror or exc}"
            report.failed.append(FetchFailure(url, reason))
            return reason
        item = FetchItem(url=canonical, path=path, title=title, article_id=aid, source=source,
                         published_at=published, notes=tuple(notes))
        {"added": report.new, "updated": report.updated, "unchanged": report.unchanged}[status].append(item)
        page_state = {**_item_state(item)}
        _remember_validators(page_state, response)
        state.pages[key] = page_state
        return item

    def _choose_date(self, from_feed: datetime | None, from_page: datetime | None) -> tuple[str | None, list[str]]:
        """The feed's date (it has a time), else the page's (a day); dates in the future are dropped."""
        now = self.now()
        notes: list[str] = []
        for candidate, is_day in ((from_feed, False), (from_page, True)):
            if candidate is None:
                continue
            aware = candidate if candidate.tzinfo else candidate.replace(tzinfo=UTC)
            if aware > now + FUTURE_SLACK:
                notes.append(f"publication date {candidate.date().isoformat()} is in the future; ignored")
                continue
            return (candidate.date().isoformat() if is_day else candidate.isoformat()), notes
        notes.append("no publication date found")
        return None, notes

    # --- the lock ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[FetchState]:
        """The corpus folder's fetch lock (or `FetchBusy`), and the state loaded under it."""
        if not self.corpus_dir.is_dir():
            raise FileNotFoundError(f"corpus directory not found: {self.corpus_dir}")
        lock = FileLock(str(self.corpus_dir / LOCK_FILE), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise FetchBusy("another fetch is running on this corpus folder") from None
        try:
            yield FetchState.load(self.corpus_dir)
        finally:
            lock.release()


def _conditional(known: dict[str, Any] | None) -> dict[str, str]:
    headers = {}
    if known and known.get("etag"):
        headers["If-None-Match"] = known["etag"]
    if known and known.get("last_modified"):
        headers["If-Modified-Since"] = known["last_modified"]
    return headers


def _remember_validators(target: dict[str, Any], response: HttpResponse) -> None:
    target["etag"] = response.headers.get("etag")
    target["last_modified"] = response.headers.get("last-modified")


def _item_state(item: FetchItem) -> dict[str, Any]:
    return {"path": item.path, "article_id": item.article_id, "title": item.title, "source": item.source,
            "published_at": item.published_at, "url": item.url}


def _item_from(known: dict[str, Any], url: str) -> FetchItem:
    return FetchItem(url=known.get("url") or url, path=known.get("path", ""), title=known.get("title", ""),
                     article_id=known.get("article_id", ""), source=known.get("source"),
                     published_at=known.get("published_at"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
