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

    def start(self) -> FeedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                route = server.routes.get(self.path)
                server.agents.add(self.headers.get("User-Agent", ""))
                if route is None:
                    self._answer(404, b"not found", "text/plain")
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self._answer(304, b"", None, etag=route.etag)
                    return
                if route.location:
                    self._answer(route.status, b"", None, location=route.location)
                    return
                if route.declared_length:
                    self._huge(route)
                    return
                if route.stream_bytes:
                    self._stream(route)
                    return
                self._answer(route.status, route.body, route.content_type, etag=route.etag)

            def _answer(self, status: int, body: bytes, content_type: str | None, *, etag: str | None = None,
                        location: str | None = None) -> None:
                server.log.append((self.path, status))
                self.send_response(status)
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
                server.log.append((self.path, 200))
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
                server.log.append((self.path, 200))
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

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
