"""Live coverage through the real bot stack: the feed poll on the JobQueue, /add, shared links, /feeds.

The real python-telegram-bot polling loop talks to the fake Bot API; the real core (hashing
embedder) fetches from the local news site (tests/feed_server.py). Links from Telegram obey the
public-address rule, so the tests that add one successfully route a public name (news.example,
resolved to a public address) to the local server through the HTTP seam's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state
from bot.wiring import build_newsroom
from index.embedder import HashingEmbedder
from index.fetch.corpus import article_id
from index.fetch.http import HttpPolicy, HttpxClient

try:
    from fake_bot_api import FakeBotApi, make_settings, text_message
    from feed_server import FeedServer, Route, news_site, rss, rss_items
    from newsbot_env import SEED
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.fake_bot_api import FakeBotApi, make_settings, text_message  # type: ignore[no-redef]
    from tests.feed_server import FeedServer, Route, news_site, rss, rss_items  # type: ignore[no-redef]
    from tests.newsbot_env import SEED  # type: ignore[no-redef]

ADMIN, MEMBER = 101, 102
PUBLIC_ADDRESS = "93.184.215.14"


class RouteToLocal(httpx.BaseTransport):
    """Sends requests for news.example to the local server; every other host goes where it says."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "news.example":
            port = int(self.server.base.rsplit(":", 1)[1])
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
        return self.inner.handle_request(request)


def routed_client(server: FeedServer) -> HttpxClient:
    def resolve(host: str) -> list[str]:
        return [PUBLIC_ADDRESS] if host == "news.example" else [host]

    return HttpxClient(HttpPolicy(timeout=1, host_delay=0), resolve=resolve, transport=RouteToLocal(server))


@pytest.fixture
def site():
    server = news_site()
    yield server
    server.stop()


def corpus_with_seed(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return corpus


@contextlib.asynccontextmanager
async def serving(api: FakeBotApi, tmp_path: Path, *, client: HttpxClient | None = None,
                  **overrides: Any) -> AsyncIterator[Application]:
    """The real core and bot, polling the fake Bot API in this event loop."""
    settings = make_settings(api, tmp_path, corpus_dir=tmp_path / "corpus", fetch_timeout=1,
                             fetch_host_delay=0, fetch_max_bytes=500_000, **overrides)
    newsroom = build_newsroom(settings, embedder=HashingEmbedder(), http_client=client)
    await asyncio.to_thread(newsroom.reindex)
    app = build_application(settings, newsroom, build_state(settings, newsroom))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


def test_serve_polls_the_feeds_and_answers_about_a_new_entry_without_restart(tmp_path: Path, site) -> None:
    corpus = corpus_with_seed(tmp_path)
    site.routes["/rss.xml"] = Route(rss(""), content_type="application/rss+xml", etag='"empty"')
    (corpus / "feeds.toml").write_text(f'[[feeds]]\nurl = "{site.url("/rss.xml")}"\nsource = "Daily Planet"\n')
    bridge_file = corpus / "fetched" / f"{article_id(site.url('/news/bridge'))}.json"

    async def body(api: FakeBotApi) -> None:
        async with serving(api, tmp_path, fetch_interval=0.01) as app:  # every 0.6 s
            await until(lambda: ("/rss.xml", 200) in site.log)
            site.routes["/rss.xml"] = Route(rss(rss_items()), content_type="application/rss+xml", etag='"full"')
            await until(lambda: bridge_file.exists())
            newsroom = app.bot_data["newsbot"].newsroom
            # the seed, the bridge, the tram, the school, and the readers switched to them
            await until(lambda: newsroom.stats().articles == 4 and not newsroom.reindexing)
            api.enqueue(text_message("What did the city council vote to replace?", user_id=MEMBER))
            await api.wait_for("sendMessage", timeout=10)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    [answer] = api.calls_to("sendMessage")
    assert "Elm Street bridge" in answer.params["text"]
    assert f'Daily Planet · 2026-11-30 · <a href="{site.url("/news/bridge")}">' in answer.params["text"]


def test_admin_adds_a_link_and_gets_outlet_date_title_and_passages(tmp_path: Path, site) -> None:
    corpus_with_seed(tmp_path)

    async def body(api: FakeBotApi) -> None:
        async with serving(api, tmp_path, client=routed_client(site)):
            api.enqueue(text_message("/add https://news.example/news/bridge", user_id=ADMIN))
            await api.wait_for("sendMessage", timeout=10)
            api.enqueue(text_message("/add https://news.example/news/stub", user_id=ADMIN, message_id=2))
            await api.wait_for("sendMessage", 2, timeout=10)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    added, refused = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert added == "Added: Daily Planet · 2026-11-30 · Council backs new Elm Street bridge — 1 passage"
    assert refused == ("Could not add https://news.example/news/stub: article text too short "
                       "(33 characters; a paywall or teaser?)")


def test_links_from_telegram_may_not_reach_local_or_private_addresses(tmp_path: Path, site) -> None:
    corpus_with_seed(tmp_path)
    site.routes["/news/to-local"] = Route(status=302, location=site.url("/news/bridge"))

    async def body(api: FakeBotApi) -> None:
        async with serving(api, tmp_path, client=routed_client(site)):
            api.enqueue(text_message(f"/add {site.url('/news/bridge')}", user_id=ADMIN))
            await api.wait_for("sendMessage", timeout=10)
            api.enqueue(text_message("/add https://news.example/news/to-local", user_id=ADMIN, message_id=2))
            await api.wait_for("sendMessage", 2, timeout=10)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    direct, redirected = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert direct == (f"Could not add {site.url('/news/bridge')}: links to local or private addresses are "
                      "not fetched (127.0.0.1 is 127.0.0.1)")
    assert redirected == ("Could not add https://news.example/news/to-local: links to local or private "
                          "addresses are not fetched (127.0.0.1 is 127.0.0.1)")
    assert ("/news/bridge", 200) not in site.log
    assert not (tmp_path / "corpus" / "fetched").exists()


def test_members_may_share_links_only_when_the_admins_allow_it(tmp_path: Path, site) -> None:
    corpus_with_seed(tmp_path)

    async def body(api: FakeBotApi, allow: bool) -> None:
        async with serving(api, tmp_path, client=routed_client(site), telegram_links_from_users=allow):
            api.enqueue(text_message("/add https://news.example/news/harbour", user_id=MEMBER))
            await api.wait_for("sendMessage", timeout=10)
            api.enqueue(text_message("https://news.example/news/tram", user_id=MEMBER, message_id=2))
            await api.wait_for("sendMessage", 2, timeout=10)

    with FakeBotApi() as api:
        asyncio.run(body(api, False))
    refused, as_question = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert refused == "Sorry, only the bot's administrators may add articles."
    assert "Added" not in as_question  # answered as a question instead
    assert not (tmp_path / "corpus" / "fetched").exists()

    with FakeBotApi() as api:
        asyncio.run(body(api, True))
    added = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert added == [
        "Added: Coast Courier · no date · Harbour to be dredged — 1 passage",
        "Added: news.example · no date · Airport tram line approved — 1 passage",
    ]


def test_feeds_shows_each_feeds_last_success_error_and_articles(tmp_path: Path, site) -> None:
    corpus = corpus_with_seed(tmp_path)
    (corpus / "feeds.toml").write_text(
        f'[[feeds]]\nurl = "{site.url("/atom.xml")}"\nsource = "Coast Courier"\n\n'
        f'[[feeds]]\nurl = "{site.url("/down.xml")}"\nsource = "Down Daily"\n')

    async def body(api: FakeBotApi) -> None:
        async with serving(api, tmp_path) as app:
            await asyncio.to_thread(app.bot_data["newsbot"].newsroom.fetch)
            api.enqueue(text_message("/feeds", user_id=MEMBER))
            await api.wait_for("sendMessage", timeout=10)
            api.enqueue(text_message("/feeds", user_id=ADMIN, message_id=2))
            await api.wait_for("sendMessage", 2, timeout=10)

    with FakeBotApi() as api:
        asyncio.run(body(api))
    refused, shown = [c.params["text"] for c in api.calls_to("sendMessage")]
    assert refused == "Sorry, /feeds is for the bot's administrators only."
    lines = shown.split("\n")
    assert lines[0] == "Feeds (2):"
    assert lines[1].startswith("• Coast Courier — 1 article; last success: 20")
    assert lines[2] == f"  {site.url('/atom.xml')}"
    assert lines[3].startswith("• Down Daily — 0 articles; last success: never; last error (20")
    assert ": HTTP 500; next try after 20" in lines[3]
    assert lines[4] == f"  {site.url('/down.xml')}"
