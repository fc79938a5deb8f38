"""The one seam between newsbot and the web: `HttpClient.get` and its httpx implementation.

Every request made for feeds, pages and robots.txt goes through here, so the rules hold in one
place: a clear User-Agent, a bounded time per request, a size cap read as a stream, at most
`max_redirects` redirects (a loop is named as such), only http/https, a per-host delay between
requests, conditional requests through the caller's headers, and — for links from untrusted
people — no loopback, private, link-local or otherwise non-public address, checked at every hop.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from index.fetch.errors import AddressRefused, FetchError

DEFAULT_USER_AGENT = "newsbot/0.1 (newsroom question answering; feed reader)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """The limits every request obeys (from settings: NEWSBOT_FETCH_*)."""

    timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    host_delay: float = 1.0


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response read whole (within the size cap): final URL, status, lower-cased headers, body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class HttpClient(ABC):
    """GET with the policy's limits; 2xx and 304 are returned, anything else raises `FetchError`."""

    policy: HttpPolicy

    @abstractmethod
    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        public_only: bool = False,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """Fetch `url`; `public_only` refuses non-public addresses (links from Telegram)."""

    def close(self) -> None:
        """Release connections."""


def check_public(url: str, resolve: Callable[[str], list[str]] | None = None) -> None:
    """Raise `FetchError` unless every address `url`'s host resolves to is a public one.

    Loopback, private (RFC 1918, unique-local), link-local, shared (CGNAT), multicast, reserved and
    unspecified addresses are refused. The check resolves the name once; docs/feeds.md notes that
    a resolver answering differently a moment later (DNS rebinding) is outside what it covers.
    """
    host = urlsplit(url).hostname or ""
    if not host:
        raise FetchError("the link has no host")
    try:
        addresses = (resolve or _resolve)(host)
    except OSError:
        raise FetchError(f"cannot resolve host {host!r}") from None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise AddressRefused(f"links to local or private addresses are not fetched ({host} is {address})")


def _resolve(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})


@dataclass(slots=True)
class _HostClock:
    """When each host was last asked, so requests to one host are `host_delay` apart."""

    delay: float
    last: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, host: str, delay: float | None = None) -> None:
        pause = self.delay if delay is None else max(self.delay, delay)
        with self.lock:
            now = time.monotonic()
            ready = self.last.get(host, 0.0) + pause
            self.last[host] = max(now, ready)
        if ready > now:
            time.sleep(ready - now)


class HttpxClient(HttpClient):
    """`HttpClient` over one `httpx.Client`; redirects are followed here, hop by hop."""

    def __init__(
        self,
        policy: HttpPolicy = HttpPolicy(),
        *,
        resolve: Callable[[str], list[str]] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`resolve` (host → addresses, for the address rule) and `transport` default to the system's."""
        self.policy = policy
        self._resolve = resolve
        self._clock = _HostClock(policy.host_delay)
        self.host_delays: dict[str, float] = {}  # robots.txt Crawl-delay per host, set by the caller
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout),
            headers={"User-Agent": policy.user_agent},
            trust_env=False,
            transport=transport,
        )

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        public_only: bool = False,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """Fetch `url` within the policy (see the module docstring); raises `FetchError`."""
        limit = max_bytes or self.policy.max_bytes
        seen: set[str] = set()
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError(f"not an http(s) address: {current[:120]}")
            if public_only:
                check_public(current, self._resolve)
            seen.add(current)
            host = parts.netloc.lower()
            self._clock.wait(host, self.host_delays.get(host))
            status, response_headers, body = self._request(current, headers or {}, limit)
            if status in _REDIRECTS:
                location = response_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location")
                nxt = urljoin(current, location.strip())
                if nxt in seen:
                    raise FetchError("redirect loop")
                current = nxt
                continue
            if status == 304 or 200 <= status < 300:
                return HttpResponse(current, status, response_headers, body)
            raise FetchError(f"HTTP {status}")
        raise FetchError(f"too many redirects (more than {self.policy.max_redirects})")

    def _request(self, url: str, headers: Mapping[str, str], limit: int) -> tuple[int, dict[str, str], bytes]:
        deadline = time.monotonic() + self.policy.timeout
        try:
            with self._client.stream("GET", url, headers=dict(headers)) as response:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if not 200 <= response.status_code < 300:
                    return response.status_code, response_headers, b""
                declared = response_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"too large ({_megabytes(int(declared))}; the limit is {_megabytes(limit)})")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(f"too large (more than {_megabytes(limit)})")
                    if time.monotonic() > deadline:
                        raise FetchError(f"timed out after {self.policy.timeout:g} s")
                    chunks.append(chunk)
                return response.status_code, response_headers, b"".join(chunks)
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.policy.timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise FetchError("too many redirects") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError) as exc:
            raise FetchError(f"cannot connect: {_short(exc)}") from None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0].strip()
    return text[:160] or type(exc).__name__
