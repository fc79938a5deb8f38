"""A real HTTP server on 127.0.0.1 for the fetching tests: feeds, article pages and failures.

Routes are plain data (`Route`) that a test may change between fetches; every request is logged
as (path, status) so a test can assert exactly what was transferred. Conditional requests are
answered as a real server would: 304 when If-None-Match matches the route's ETag.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None  # answered with 304 when If-Modified-Since repeats it
    location: str | None = None  # for redirects
    delay: float = 0.0  # seconds before answering (a timeout)
    declared_length: int | None = None  # a Content-Length larger than what is sent (a huge page)
    stream_bytes: int = 0  # send this many bytes without a Content-Length (a huge chunked page)


@dataclass
class FeedServer:
    """The server thread and its routes; `url(path)` is the absolute address of a path."""

    routes: dict[str, Route] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # (path, time.monotonic()) per request

    def start(self) -> FeedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                route = server.routes.get(self.path)
                server.agents.add(self.headers.get("User-Agent", ""))
                server.arrivals.append((self.path, time.monotonic()))
                if route is None:
                    server.log.append((self.path, 404))
                    self._answer(404, b"not found", "text/plain")
                    return
                not_modified = (bool(route.etag) and self.headers.get("If-None-Match") == route.etag) or (
                    bool(route.last_modified) and self.headers.get("If-Modified-Since") == route.last_modified)
                # Logged on arrival, so a slow answer is not logged after the test moved on.
                server.log.append((self.path, 304 if not_modified else route.status))
                if route.delay:
                    time.sleep(route.delay)
                if not_modified:
                    self._answer(304, b"", None, etag=route.etag)
                elif route.location:
                    self._answer(route.status, b"", None, location=route.location)
                elif route.declared_length:
                    self._huge(route)
                elif route.stream_bytes:
                    self._stream(route)
                else:
                    self._answer(route.status, route.body, route.content_type, etag=route.etag,
                                 last_modified=route.last_modified)

            def _answer(self, status: int, body: bytes, content_type: str | None, *, etag: str | None = None,
                        location: str | None = None, last_modified: str | None = None) -> None:
                self.send_response(status)
                if last_modified:
                    self.send_header("Last-Modified", last_modified)
                if content_type:
                    self.send_header("Content-Type", content_type)
                if etag:
                    self.send_header("ETag", etag)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _huge(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(route.declared_length))
                self.end_headers()
                try:
                    self.wfile.write(b"<html>" + b"x" * 65536)
                except OSError:
                    pass
                self.close_connection = True

            def _stream(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                try:
                    while sent < route.stream_bytes:
                        self.wfile.write(b"<p>" + b"y" * 16381)
                        sent += 16384
                except OSError:
                    pass
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hung up (timeouts, size caps) is expected here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.base + path

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# --- the tests' news site ---------------------------------------------------------------------

FILLER = (
    "Officials said the decision followed months of public hearings and a review by independent "
    "engineers, who reported that the existing structure could not carry modern traffic loads."
)


def page(title: str, lead: str, *, site: str | None = "Daily Planet", author: str | None = None,
         published: str | None = None, canonical: str | None = None, extra: str = FILLER) -> bytes:
    """An article page as news sites serve them: navigation, metadata, the article, a footer."""
    meta = []
    if site:
        meta.append(f'<meta property="og:site_name" content="{site}">')
    if author:
        meta.append(f'<meta name="author" content="{author}">')
    if published:
        meta.append(f'<meta property="article:published_time" content="{published}">')
    if canonical:
        meta.append(f'<link rel="canonical" href="{canonical}">')
    return (
        f"<!doctype html><html><head><title>{title} | {site or 'News'}</title>{''.join(meta)}</head>"
        f"<body><nav><a href='/'>Home</a> | <a href='/news'>News</a></nav><article><h1>{title}</h1>"
        f"<p>{lead}</p><p>{extra}</p><p>{extra.replace('Officials', 'Residents')}</p></article>"
        f"<footer>© 2026 {site or ''}. All rights reserved.</footer></body></html>"
    ).encode("utf-8")


BRIDGE_LEAD = "The city council voted 7 to 2 on Monday to replace the Elm Street bridge with a wider crossing."
HARBOUR_LEAD = "The port authority said on Tuesday that the harbour will be dredged next spring."
TRAM_LEAD = "The regional transit board approved a new tram line to the airport on Wednesday."


def rss(items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Daily Planet</title><link>/</link><description>News</description>
{items}
</channel></rss>""".encode()


def rss_items(bridge_date: str = "Mon, 30 Nov 2026 09:15:00 +0000") -> str:
    return f"""
<item><title><![CDATA[Council backs <b>new</b> Elm Street bridge]]></title><link>/news/bridge?utm_source=rss</link>
  <guid isPermaLink="false">planet-bridge</guid><pubDate>{bridge_date}</pubDate>
  <description><![CDATA[<p>The council <a href="/x">voted</a> on Monday.</p>]]></description></item>
<item><title>Airport tram line approved</title><link>news/tram</link><description>No date here.</description></item>
<item><title>Gone</title><link>/news/missing</link><pubDate>Mon, 30 Nov 2026 08:00:00 +0000</pubDate></item>
<item><title>Broken</title><link>/news/error</link></item>
<item><title>Slow</title><link>/news/slow</link></item>
<item><title>Loop</title><link>/news/loop-a</link></item>
<item><title>Huge</title><link>/news/huge</link></item>
<item><title>Chunked huge</title><link>/news/endless</link></item>
<item><title>Binary</title><link>/news/photo</link></item>
<item><title>Paywalled</title><link>/news/stub</link></item>
<item><title>Empty</title><link>/news/empty</link></item>
<item><title>Secret</title><link>/private/memo</link></item>
<item><title>From the future</title><link>/news/future</link><pubDate>Fri, 01 Jan 2099 10:00:00 +0000</pubDate></item>
"""


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/atom/">
  <title type="html">Harbour &amp; Coast</title><id>urn:coast</id><updated>2026-12-01T07:00:00Z</updated>
  <entry><title type="html">Harbour to be &lt;em&gt;dredged&lt;/em&gt;</title><id>urn:coast:harbour</id>
    <link rel="alternate" href="../news/harbour"/><updated>2026-12-01T07:00:00Z</updated>
    <summary type="html">&lt;p&gt;Dredging &lt;b&gt;next spring&lt;/b&gt;.&lt;/p&gt;</summary></entry>
</feed>"""


def news_site() -> FeedServer:
    """A started server holding the tests' news site: two good feeds, two failing ones, pages, failures."""
    server = FeedServer().start()
    base = server.base
    r = server.routes
    r["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    r["/rss.xml"] = Route(rss(rss_items()), content_type="application/rss+xml", etag='"rss-1"')
    r["/atom.xml"] = Route(ATOM, content_type="application/atom+xml", etag='"atom-1"')
    r["/broken.xml"] = Route(b"<rss><channel><item><title>oops", content_type="application/rss+xml")
    r["/down.xml"] = Route(b"down", status=500, content_type="text/plain")
    r["/news/bridge?utm_source=rss"] = Route(status=301, location="/news/bridge")
    r["/news/bridge"] = Route(page("Council backs new Elm Street bridge", BRIDGE_LEAD, author="Ann Lee",
                                   published="2026-11-30T09:00:00Z", canonical=f"{base}/news/bridge"),
                              etag='"bridge-1"')
    r["/news/tram"] = Route(page("Airport tram line approved", TRAM_LEAD, site=None), etag='"tram-1"')
    r["/news/harbour"] = Route(page("Harbour to be dredged", HARBOUR_LEAD, site="Coast Courier",
                                    author="Bo Kim and Cy Park"), etag='"harbour-1"')
    r["/news/error"] = Route(b"oops", status=500, content_type="text/plain")
    r["/news/slow"] = Route(page("Slow", BRIDGE_LEAD), delay=1.6)
    r["/news/loop-a"] = Route(status=302, location="/news/loop-b")
    r["/news/loop-b"] = Route(status=302, location="/news/loop-a")
    r["/news/huge"] = Route(declared_length=50_000_000)
    r["/news/endless"] = Route(stream_bytes=2_000_000)
    r["/news/photo"] = Route(b"\x89PNG\r\n\x1a\n\x00\x00\x00", content_type="image/png")
    r["/news/stub"] = Route(b"<html><body><article><p>Subscribe to read the full story.</p></article></body></html>")
    r["/news/empty"] = Route(b"<html><body><nav><a href='/'>Home</a></nav></body></html>")
    r["/private/memo"] = Route(page("Memo", BRIDGE_LEAD))
    r["/news/future"] = Route(page("Schools reopen", "The schools reopened on Monday after the storm repairs.",
                                   published="2099-01-01"))
    return server


