"""A local HTTP fake of the OpenAI chat-completions API, for driving the real `ChatOpenAI` client.

    with FakeOpenAI(["Reply one [1].", ScriptedReply("late", delay=2.0)]) as fake:
        ChatOpenAI(base_url=fake.base_url, ...)
        fake.requests  # the JSON bodies received, in order
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """One scripted response: the assistant's content, after an optional delay, or an HTTP error.

    With `trickle` the whole HTTP response (status line and headers too) is sent one byte every
    `trickle` seconds, as a hostile or broken endpoint might: no single read ever times out.
    """

    content: str
    delay: float = 0.0
    status: int = 200
    trickle: float = 0.0


class FakeOpenAI:
    """Serves `POST /v1/chat/completions` on 127.0.0.1 (free port) with scripted replies, in order.

    Records every request body in `requests`. When the script runs out it answers HTTP 500.
    """

    def __init__(self, replies: list[str | ScriptedReply]) -> None:
        self._replies = [r if isinstance(r, ScriptedReply) else ScriptedReply(r) for r in replies]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.trickled_bytes = 0  # the most bytes one trickled response has sent so far
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """The `base_url` to give an OpenAI client (ends in `/v1`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()  # wakes handlers that are still "thinking"
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> ScriptedReply | None:
        with self._lock:
            self.requests.append(body)
            return self._replies.pop(0) if self._replies else None

    def _wait(self, seconds: float) -> None:
        self._stop.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOpenAI):
        super().__init__(address, handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = json.loads(raw or b"{}")
        reply = self.server.fake._next(body)
        if reply is None:
            self._send(500, {"error": {"message": "fake script exhausted", "type": "server_error"}})
            return
        if reply.delay:
            self.server.fake._wait(reply.delay)
        if reply.status != 200:
            self._send(reply.status, {"error": {"message": reply.content, "type": "server_error"}})
            return
        completion = _completion(body.get("model", "fake-model"), reply.content)
        if reply.trickle:
            self._trickle(completion, reply.trickle)
            return
        self._send(200, completion)

    def _trickle(self, payload: dict[str, Any], interval: float) -> None:
        data = json.dumps(payload).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        fake = self.server.fake
        try:
            for i, byte in enumerate(head.encode() + data):
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                fake.trickled_bytes = max(fake.trickled_bytes, i + 1)
                if fake._stop.wait(interval):
                    break
        except OSError:
            pass  # the client gave up and closed the connection
        self.close_connection = True

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout) and closed the connection

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
