"""End to end: the real python-telegram-bot polling loop (and webhook server) against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.ext import Application

from bot.answer import Answer, Citation
from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state
from bot.telegram.formatting import visible_text
from index.models import IndexProgress

try:
    from conftest import FakeNewsroom, make_passage
    from fake_bot_api import FakeBotApi, make_settings, parse_telegram_html, text_message, utf16_len
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.conftest import FakeNewsroom, make_passage  # type: ignore[no-redef]
    from tests.fake_bot_api import (  # type: ignore[no-redef]
        FakeBotApi, make_settings, parse_telegram_html, text_message, utf16_len,
    )

ADMIN, MEMBER, OUTSIDER = 101, 102, 666
SECRET = "webhook-Secret_42"


@contextlib.asynccontextmanager
async def polling(api: FakeBotApi, newsroom: FakeNewsroom, tmp_path: Path, **overrides: Any) -> AsyncIterator[Application]:
    """The bot polling the fake API in this event loop; stopped cleanly on exit."""
    settings = make_settings(api, tmp_path, **overrides)
    state = build_state(settings, newsroom)
    state.progress_interval = 0.02
    app = build_application(settings, newsroom, state)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def test_question_is_answered_through_the_polling_loop(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with polling(api, FakeNewsroom(), tmp_path):
            api.enqueue(text_message("Is the bridge approved?", user_id=MEMBER))
            await api.wait_for("sendMessage")

    with FakeBotApi() as api:
        api.enqueue(text_message("Pending: sent while the bot was down", user_id=MEMBER, message_id=7))
        asyncio.run(body(api))
    sends = api.calls_to("sendMessage")
    assert len(sends) == 2  # the pending update was not dropped
    methods = api.methods(exclude=("getUpdates", "getMe", "deleteWebhook"))
    assert methods[0] == "sendChatAction" and "sendMessage" in methods
    assert methods.index("sendChatAction") < methods.index("sendMessage")
    for call in sends:
        assert call.params["parse_mode"] == "HTML"
        assert call.params["text"].startswith("The council approved the bridge [1]. Work starts in autumn [2].")
        assert '[1] Harbor Gazette · 2024-03-01 · <a href="https://news.example/bridge">' in call.params["text"]
    assert api.calls_to("deleteWebhook")[0].params.get("drop_pending_updates") in (None, False)
    offsets = [c.params.get("offset") for c in api.calls_to("getUpdates")]
    assert 3 in offsets  # both updates were confirmed


def test_outsider_is_refused_without_corpus_content(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with polling(api, newsroom, tmp_path):
            api.enqueue(text_message("Is the bridge approved?", user_id=OUTSIDER))
            api.enqueue(text_message("/sources", user_id=OUTSIDER, message_id=2))
            await api.wait_for("sendMessage")
            await asyncio.sleep(0.2)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    [refusal] = api.calls_to("sendMessage")
    assert refusal.params["text"].startswith("Sorry, this bot is private to the newsroom.")
    assert "Harbor" not in refusal.params["text"] and "council" not in refusal.params["text"]
    assert newsroom.calls == []


def test_reindex_refused_for_member_and_run_for_admin(tmp_path: Path) -> None:
    ticks = [IndexProgress("scan", 4, 4), IndexProgress("embed", 10, 30), IndexProgress("commit", 30, 30)]

    async def body(api: FakeBotApi) -> None:
        newsroom = FakeNewsroom(ticks=ticks, after_tick=lambda i: api.wait_for_sync("editMessageText", i + 1))
        async with polling(api, newsroom, tmp_path):
            api.enqueue(text_message("/reindex", user_id=MEMBER))
            await api.wait_for("sendMessage", 1)
            api.enqueue(text_message("/reindex", user_id=ADMIN, message_id=2))
            await api.wait_for("editMessageText", len(ticks) + 1)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    refused, status = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert refused == "Sorry, /reindex is for the bot's administrators only."
    assert status == "Reindexing… starting"
    assert [c.params["text"] for c in api.calls_to("editMessageText")] == [
        "Reindexing… scan 4/4",
        "Reindexing… embed 10/30",
        "Reindexing… commit 30/30",
        "Reindex done in 1.5 s: 2 added, 1 updated, 0 removed, 5 unchanged; 40 chunks in the index.",
    ]


def test_long_answer_is_split_into_valid_messages(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()
    sentence = "The harbour authority said the 𝔟ridge works will continue through the winter months [1]. "
    long_text = "\n\n".join(sentence * 6 for _ in range(20))  # ~11,000 characters, astral chars included
    newsroom.answers["long?"] = Answer(question="long?", text=long_text,
                                       citations=[Citation(n=1, passage=make_passage(1))])

    async def body(api: FakeBotApi) -> None:
        async with polling(api, newsroom, tmp_path):
            api.enqueue(text_message("long?", user_id=MEMBER))
            await api.wait_for("sendMessage", 3)
            await asyncio.sleep(0.2)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    parts = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert len(parts) == 3
    for part in parts:
        assert utf16_len(part) <= 4096 and utf16_len(parse_telegram_html(part)) <= 4096
    assert " ".join(visible_text(p) for p in parts).count("[1].") == 6 * 20
    assert parts[-1].endswith('<a href="https://news.example/bridge">Council story 1</a>')
    markups = [c.params.get("reply_markup") for c in api.calls_to("sendMessage")]
    assert markups[0] is None and markups[1] is None and markups[2] is not None


def test_article_text_is_escaped(tmp_path: Path) -> None:
    passage = make_passage(1, title="Tolls <up> & *down*", source="A&B <News>",
                           url="https://news.example/a?x=1&y=<2>")
    newsroom = FakeNewsroom([passage])
    newsroom.answers["tolls?"] = Answer(question="tolls?", text="Tolls rise by <5% & *more* [1].",
                                        citations=[Citation(n=1, passage=passage)])

    async def body(api: FakeBotApi) -> None:
        async with polling(api, newsroom, tmp_path):
            api.enqueue(text_message("tolls?", user_id=MEMBER))
            await api.wait_for("sendMessage")

    with FakeBotApi() as api:
        asyncio.run(body(api))
    [call] = api.calls_to("sendMessage")
    assert call.params["text"] == (
        "Tolls rise by &lt;5% &amp; *more* [1].\n\n<b>Sources</b>\n"
        '[1] A&amp;B &lt;News&gt; · 2024-03-01 · '
        '<a href="https://news.example/a?x=1&amp;y=&lt;2&gt;">Tolls &lt;up&gt; &amp; *down*</a>'
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_accepts_the_secret_and_rejects_forgeries(tmp_path: Path) -> None:
    port = _free_port()
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> list[int]:
        settings = make_settings(api, tmp_path, telegram_webhook_secret=SECRET)
        app = build_application(settings, newsroom)
        await app.initialize()
        await app.start()
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="tg/hook", webhook_url="https://bot.example/tg/hook",
            secret_token=SECRET, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
        )
        statuses = []
        try:
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/tg/hook"
                for n, headers in enumerate([{"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {},
                                             {"X-Telegram-Bot-Api-Secret-Token": SECRET}]):
                    update = {"update_id": 50 + n, **text_message(f"webhook question {n}", user_id=MEMBER)}
                    response = await client.post(url, json=update, headers=headers)
                    statuses.append(response.status_code)
            await api.wait_for("sendMessage")
            await asyncio.sleep(0.2)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        return statuses

    with FakeBotApi() as api:
        statuses = asyncio.run(body(api))
    assert statuses == [403, 403, 200]
    assert [c.question for c in newsroom.calls] == ["webhook question 2"]
    assert len(api.calls_to("sendMessage")) == 1
    [hook] = api.calls_to("setWebhook")
    assert hook.params["url"] == "https://bot.example/tg/hook"
    assert hook.params["secret_token"] == SECRET
    assert hook.params["allowed_updates"] == [Update.MESSAGE, Update.CALLBACK_QUERY]
