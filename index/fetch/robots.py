"""robots.txt: read once per host per run; article pages a site disallows are not fetched.

Following RFC 9309: a robots.txt answering 4xx means no rules (everything allowed); one that
cannot be read (5xx, timeout, too large) means nothing on that host is fetched this run.
A `Crawl-delay` for our agent lengthens the per-host delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from index.fetch.errors import AddressRefused, FetchError
from index.fetch.http import HttpClient

ROBOTS_MAX_BYTES = 500_000


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: RobotFileParser | None  # None: no rules (allow everything)
    unreadable: str | None = None  # why robots.txt could not be read (disallow everything)


class RobotsCache:
    """Answers "may this agent fetch that URL?" from each host's robots.txt, fetched on first need."""

    def __init__(self, client: HttpClient, agent: str) -> None:
        self.client = client
        self.agent = agent.split("/", 1)[0] or agent  # the product token, e.g. "newsbot"
        self._rules: dict[str, _Rules] = {}

    def refusal(self, url: str, *, public_only: bool = False) -> str | None:
        """None when `url` may be fetched, else the reason it may not."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._rules.get(origin)
        if rules is None:
            rules = self._rules[origin] = self._load(origin, public_only=public_only)
        if rules.unreadable:
            return f"robots.txt of {parts.netloc} could not be read ({rules.unreadable}); not fetched"
        if rules.parser is not None and not rules.parser.can_fetch(self.agent, url):
            return f"disallowed by robots.txt of {parts.netloc}"
        return None

    def _load(self, origin: str, *, public_only: bool) -> _Rules:
        try:
            response = self.client.get(origin + "/robots.txt", public_only=public_only, max_bytes=ROBOTS_MAX_BYTES)
        except AddressRefused:
            raise  # the page itself is refused for the same reason; say that, not "robots.txt unreadable"
        except FetchError as exc:
            if exc.reason.startswith("HTTP 4"):
                return _Rules(None)
            return _Rules(None, unreadable=exc.reason)
        parser = RobotFileParser()
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        delay = parser.crawl_delay(self.agent)
        if delay:
            delays = getattr(self.client, "host_delays", None)
            if isinstance(delays, dict):
                delays[urlsplit(origin).netloc.lower()] = min(float(delay), 60.0)
        return _Rules(parser)
