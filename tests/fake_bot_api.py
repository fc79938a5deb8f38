"""A local fake of the Telegram Bot API for tests (a real HTTP server on 127.0.0.1).

It implements the methods python-telegram-bot calls, records every call (method + params),
serves enqueued updates to `getUpdates` (long-polling ~0.5 s when there are none, honouring
`offset`), and checks sent messages the way Telegram does: HTML must parse (known tags,
balanced, only Telegram's entities) and the visible text must fit in 4096 UTF-16 code units.
Like Telegram, it answers 401 Unauthorized to any token but the one it was started for.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from bot.settings import Settings

TOKEN = "123456:TEST-secret-token_xyz"  # the token the fake accepts (unless started with another)
BOT_USER = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Newsbot",
    "username": "newsroom_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "blockquote", "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_BAD_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
# Parameters that are plain strings; everything else PTB sends JSON-encoded.
_TEXT_PARAMS = {
    "text", "caption", "parse_mode", "url", "secret_token", "callback_query_id", "action",
    "inline_message_id", "ip_address", "language_code", "description", "short_description",
}


class TelegramHtmlError(ValueError):
    """The text would make Telegram answer "can't parse entities"."""


def parse_telegram_html(markup: str) -> str:
    """The visible text of a Telegram HTML message, or `TelegramHtmlError` if Telegram would reject it."""
    if _BAD_ENTITY.search(markup):
        raise TelegramHtmlError("unsupported or unescaped entity")
    stack: list[str] = []
    visible: list[str] = []
    pos = 0
    for match in _TAG.finditer(markup):
        text = markup[pos : match.start()]
        if "<" in text or ">" in text:
            raise TelegramHtmlError(f"unescaped < or > in {text[:40]!r}")
        visible.append(text)
        closing, name = match.group(1), match.group(2).lower()
        if name not in TELEGRAM_TAGS:
            raise TelegramHtmlError(f"unsupported tag {name}")
        if closing:
            if not stack or stack.pop() != name:
                raise TelegramHtmlError(f"unbalanced </{name}>")
        else:
            stack.append(name)
        pos = match.end()
    tail = markup[pos:]
    if "<" in tail or ">" in tail:
        raise TelegramHtmlError("unescaped < or >")
    if stack:
        raise TelegramHtmlError(f"unclosed <{stack[-1]}>")
    visible.append(tail)
    return html.unescape("".join(visible))


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class ApiCall:
    """One recorded Bot API request."""

    method: str
    params: dict[str, Any]


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class FakeBotApi:
    """Start with `start()` (or as a context manager); `base_url` goes to `ApplicationBuilder.base_url`."""

    def __init__(self, poll_seconds: float = 0.5, token: str | None = None) -> None:
        self.poll_seconds = poll_seconds
        self.token = TOKEN if token is None else token
        self.calls: list[ApiCall] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1000
        self._chat_types: dict[int, str] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeBotApi:
        """Serve on a free loopback port in a daemon thread."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                api._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Bot API base URL (PTB appends the token)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    # -- test helpers ------------------------------------------------------------------------
    def enqueue(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; fills in `update_id` and returns it."""
        with self._cond:
            update = dict(update)
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            for key in ("message", "callback_query"):
                chat = (update.get(key) or {}).get("chat") or ((update.get(key) or {}).get("message") or {}).get("chat")
                if chat:
                    self._chat_types[chat["id"]] = chat.get("type", "private")
            self._updates.append(update)
            self._cond.notify_all()
            return update["update_id"]

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method, in order."""
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def methods(self, exclude: tuple[str, ...] = ("getUpdates",)) -> list[str]:
        """The recorded method names in order, without the polling noise."""
        with self._cond:
            return [c.method for c in self.calls if c.method not in exclude]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Wait (without blocking the event loop) until `method` was called `count` times."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} called {len(found)} times, wanted {count}: {self.methods()}")
            await asyncio.sleep(0.02)

    def wait_for_sync(self, method: str, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """`wait_for` for worker threads."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} not called {count} times: {self.methods()}")
            time.sleep(0.02)
        return self.calls_to(method)

    # -- request handling --------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        prefix, _, method = path.rpartition("/")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        params = _decode_params(request.headers.get("Content-Type", ""), body)
        with self._cond:
            self.calls.append(ApiCall(method, params))
        try:
            if prefix != "/bot" + self.token:
                raise _ApiError(401, "Unauthorized")
            result = self._dispatch(method, params)
            status, payload = 200, {"ok": True, "result": result}
        except _ApiError as exc:
            status, payload = exc.code, {"ok": False, "error_code": exc.code, "description": exc.description}
        data = json.dumps(payload).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. polling stopped)

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            self._check_text(params)
            return self._message(params)
        if method in ("sendChatAction", "answerCallbackQuery", "setMyCommands", "deleteWebhook",
                      "setWebhook", "deleteMyCommands", "close", "logOut"):
            return True
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        raise _ApiError(404, "Not Found: method not found")

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, self.poll_seconds)
        with self._cond:
            while True:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return list(self._updates)
                self._cond.wait(max(0.0, deadline - time.monotonic()))

    def _check_text(self, params: dict[str, Any]) -> None:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                text = parse_telegram_html(text)
            except TelegramHtmlError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        with self._cond:
            if "message_id" in params:
                message_id = int(params["message_id"])
            else:
                message_id = self._next_message_id
                self._next_message_id += 1
            chat_type = self._chat_types.get(chat_id, "private")
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": BOT_USER,
            "text": str(params.get("text", "")),
        }


def _decode_params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("multipart/form-data"):
        return _decode_multipart(content_type, body)
    return {k: _decode_value(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}


def _decode_value(name: str, value: str) -> Any:
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _decode_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        match = re.search(rb'name="([^"]+)"', head)
        if match:
            name = match.group(1).decode()
            params[name] = _decode_value(name, value.rstrip(b"\r\n").decode(errors="replace"))
    return params


def user(user_id: int, first_name: str = "Reporter") -> dict[str, Any]:
    """A Telegram `User` object."""
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def text_message(
    text: str,
    *,
    user_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    message_id: int = 1,
    reply_to: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An update carrying a text message (commands get their `bot_command` entity)."""
    chat_id = user_id if chat_id is None else chat_id
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type, **({"title": "Desk"} if chat_type != "private" else {})},
        "from": user(user_id),
        "text": text,
    }
    found = list(entities or [])
    if text.startswith("/"):
        found.insert(0, {"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
    if found:
        message["entities"] = found
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"message": message}


def callback_update(data: str, *, user_id: int, chat_id: int | None = None, message_id: int = 1000,
                    chat_type: str = "private") -> dict[str, Any]:
    """An update carrying an inline-button press on a bot message."""
    chat_id = user_id if chat_id is None else chat_id
    return {
        "callback_query": {
            "id": f"cq{user_id}{message_id}{data}",
            "from": user(user_id),
            "chat_instance": "ci1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "from": BOT_USER,
                "text": "an answer",
            },
        }
    }


# -- settings for the Telegram tests (the fake core is tests/conftest.py `FakeNewsroom`) -----------

def make_settings(api: FakeBotApi, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing at the fake API (no .env read)."""
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_base_url": api.base_url,
        "data_dir": tmp_path / "data",
        "feedback_log": tmp_path / "feedback.jsonl",
        "allowed_user_ids": [101, 102, 103],
        "admin_user_ids": [101],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
