"""Handler-level tests: updates go through `Application.process_update`; replies land at the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.answer import Answer, Citation
from bot.core import ReindexBusy
from bot.telegram.app import build_application, build_state
from bot.telegram.formatting import utf16_len
from bot.telegram.handlers import STALE_BUTTON
from bot.telegram.state import STATE_KEY, BotState
from index.models import IndexProgress, IndexReport, Skip

try:
    from conftest import FakeNewsroom, make_passage
    from fake_bot_api import BOT_USER, TOKEN, FakeBotApi, callback_update, make_settings, text_message
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.conftest import FakeNewsroom, make_passage  # type: ignore[no-redef]
    from tests.fake_bot_api import (  # type: ignore[no-redef]
        BOT_USER,
        TOKEN,
        FakeBotApi,
        callback_update,
        make_settings,
        text_message,
    )

ADMIN, MEMBER, OTHER, OUTSIDER = 101, 102, 103, 666


@contextlib.asynccontextmanager
async def app_for(api: FakeBotApi, newsroom: FakeNewsroom, tmp_path: Path,
                  **overrides: Any) -> AsyncIterator[Application]:
    """An initialized Application against the fake API (no polling: updates are fed directly)."""
    settings = make_settings(api, tmp_path, **overrides)
    state = build_state(settings, newsroom)
    state.progress_interval = 0.02
    app = build_application(settings, newsroom, state)
    await app.initialize()
    try:
        yield app
    finally:
        await app.shutdown()


async def feed(app: Application, data: dict[str, Any], update_id: int = 1) -> None:
    """Process one update the way the dispatcher would."""
    await app.process_update(Update.de_json({"update_id": update_id, **data}, app.bot))


def run(coro_factory: Callable[[FakeBotApi], Any]) -> FakeBotApi:
    """Run an async test body against a fresh fake API; returns the API for assertions."""
    with FakeBotApi() as api:
        asyncio.run(coro_factory(api))
    return api


def sent_texts(api: FakeBotApi) -> list[str]:
    return [c.params["text"] for c in api.calls_to("sendMessage")]


def test_start_greets(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("/start", user_id=MEMBER))

    api = run(body)
    [call] = api.calls_to("sendMessage")
    assert call.params["chat_id"] == MEMBER
    assert call.params["text"].startswith("Hi! I answer questions from the newsroom's articles")


def test_help_explains_examples_and_citations(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("/help", user_id=MEMBER))

    api = run(body)
    [call] = api.calls_to("sendMessage")
    assert call.params["parse_mode"] == "HTML"
    text = call.params["text"]
    assert "<b>Examples</b>" in text and "<b>Citations</b>" in text
    assert "Markers like [1] point to the sources" in text


def test_sources_lists_outlets_and_date_range_escaped(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("/sources", user_id=MEMBER))

    api = run(body)
    [call] = api.calls_to("sendMessage")
    assert call.params["text"] == (
        "The coverage holds 12 articles from 2 outlets, from 2023-01-02 to 2024-03-09.\n\n"
        "<b>Outlets</b>\n• Harbor Gazette (7)\n• Valley &lt;Times&gt; &amp; Co (5)"
    )


def test_stats_is_for_admins_only(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("/stats", user_id=MEMBER), 1)
            await feed(app, text_message("/stats", user_id=ADMIN), 2)

    api = run(body)
    refused, stats = sent_texts(api)
    assert refused == "Sorry, /stats is for the bot's administrators only."
    assert stats.startswith("<b>Index</b>\nArticles: 12\nChunks: 40\nOutlets: 2\nDates: 2023-01-02 to 2024-03-09")


def test_reindex_by_admin_edits_progress_then_summary(tmp_path: Path) -> None:
    ticks = [IndexProgress("scan", 3, 8), IndexProgress("embed", 20, 40, "chunks")]
    report = IndexReport(added=2, updated=1, removed=1, unchanged=5, chunks=40, seconds=1.5,
                         skipped=[Skip("broken.json", "not valid JSON")])

    async def body(api: FakeBotApi) -> None:
        # Each tick waits until the status message shows it, so the edits are deterministic.
        newsroom = FakeNewsroom(ticks=ticks, report=report,
                                after_tick=lambda i: api.wait_for_sync("editMessageText", i + 1))
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("/reindex", user_id=ADMIN))
        assert newsroom.reindex_calls == 1

    api = run(body)
    [status] = api.calls_to("sendMessage")
    assert status.params["text"] == "Reindexing… starting"
    edits = [c.params["text"] for c in api.calls_to("editMessageText")]
    assert edits == [
        "Reindexing… scan 3/8",
        "Reindexing… embed 20/40 — chunks",
        "Reindex done in 1.5 s: 2 added, 1 updated, 1 removed, 5 unchanged; 40 chunks in the index.\n"
        "Skipped 1 file(s):\n• broken.json: not valid JSON",
    ]
    assert {c.params["message_id"] for c in api.calls_to("editMessageText")} == {1000}


def test_second_reindex_while_one_runs_is_refused_and_others_are_served(tmp_path: Path) -> None:
    release = threading.Event()

    async def body(api: FakeBotApi) -> None:
        newsroom = FakeNewsroom(ticks=[IndexProgress("scan", 1, 2)], after_tick=lambda i: release.wait(5))
        async with app_for(api, newsroom, tmp_path) as app:
            first = asyncio.create_task(feed(app, text_message("/reindex", user_id=ADMIN), 1))
            await api.wait_for("sendMessage", 1)
            await feed(app, text_message("/reindex", user_id=ADMIN, message_id=2), 2)
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 3)
            release.set()
            await first
        assert newsroom.reindex_calls == 1

    api = run(body)
    texts = sent_texts(api)
    assert texts[0] == "Reindexing… starting"
    assert texts[1] == "A reindex is already running; please wait for it to finish."
    assert texts[2].startswith("The council approved the bridge [1].")  # answered during the reindex
    assert api.calls_to("editMessageText")[-1].params["text"].startswith("Reindex done in 1.5 s")


def test_reindex_busy_elsewhere_is_reported(tmp_path: Path) -> None:
    class BusyNewsroom(FakeNewsroom):
        def reindex(self, *args: Any, **kwargs: Any) -> IndexReport:
            raise ReindexBusy("the index is locked by `newsbot index` (pid 4242)")

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, BusyNewsroom(), tmp_path) as app:
            await feed(app, text_message("/reindex", user_id=ADMIN))

    api = run(body)
    assert [c.params["text"] for c in api.calls_to("editMessageText")] == [
        "Reindex not started: the index is locked by `newsbot index` (pid 4242). Try again when it has finished."
    ]


def test_reindex_by_non_admin_is_refused(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        newsroom = FakeNewsroom()
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("/reindex", user_id=MEMBER))
        assert newsroom.reindex_calls == 0

    api = run(body)
    assert sent_texts(api) == ["Sorry, /reindex is for the bot's administrators only."]
    assert api.calls_to("editMessageText") == []


def test_question_gets_cited_answer_with_buttons_and_history(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 1)
            await feed(app, text_message("When does work start?", user_id=MEMBER, message_id=2), 2)

    api = run(body)
    assert api.methods(exclude=("getUpdates", "getMe"))[:2] == ["sendChatAction", "sendMessage"]
    assert api.calls_to("sendChatAction")[0].params == {"chat_id": MEMBER, "action": "typing"}
    first = api.calls_to("sendMessage")[0].params
    assert first["parse_mode"] == "HTML"
    assert first["text"] == (
        "The council approved the bridge [1]. Work starts in autumn [2].\n\n<b>Sources</b>\n"
        '[1] Harbor Gazette · 2024-03-01 · <a href="https://news.example/bridge">Council story 1</a>\n'
        '[2] Harbor Gazette · 2024-03-02 · <a href="https://news.example/bridge">Council story 2</a>'
    )
    rows = first["reply_markup"]["inline_keyboard"]
    labels = [[b["text"] for b in row] for row in rows]
    assert labels == [["📄 1", "📄 2"], ["👍", "👎"]]
    key = rows[0][0]["callback_data"].split(":")[2]
    assert [b["callback_data"] for b in rows[0] + rows[1]] == [f"p:1:{key}", f"p:2:{key}", f"f:u:{key}", f"f:d:{key}"]
    # the follow-up carries the first turn as history
    first_ask, second_ask = newsroom.calls
    assert (first_ask.question, first_ask.history) == ("Is the bridge approved?", [])
    assert second_ask.question == "When does work start?"
    assert [t.question for t in second_ask.history] == ["Is the bridge approved?"]
    h2 = second_ask.history
    assert h2[0].answer is not None and h2[0].answer.text.startswith("The council approved")


def test_history_keeps_the_last_four_turns(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            for i in range(6):
                await feed(app, text_message(f"question {i}", user_id=MEMBER, message_id=i + 1), i + 1)

    run(body)
    last_history = newsroom.calls[-1].history
    assert [t.question for t in last_history] == ["question 1", "question 2", "question 3", "question 4"]


def test_abstained_answer_says_so_without_sources(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("Tell me nothing about the moon", user_id=MEMBER))

    api = run(body)
    [call] = api.calls_to("sendMessage")
    assert call.params["text"] == (
        "I couldn't find that in the coverage.\n\nI only answer from the indexed coverage, so I won't guess. "
        "Try rephrasing, or see /sources for what the coverage holds."
    )
    assert "Sources" not in call.params["text"]
    assert [[b["text"] for b in row] for row in call.params["reply_markup"]["inline_keyboard"]] == [["👍", "👎"]]


def _first_key(api: FakeBotApi) -> str:
    return api.calls_to("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2]


def test_passage_button_shows_the_cited_passage_escaped(tmp_path: Path) -> None:
    newsroom = FakeNewsroom([make_passage(1), make_passage(2, text="Costs rose <10% & the *mayor* agreed.")])
    asked_ids: list[str] = []
    original = newsroom.passage
    newsroom.passage = lambda chunk_id: asked_ids.append(chunk_id) or original(chunk_id)  # type: ignore[method-assign]

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 1)
            key = _first_key(api)
            await feed(app, callback_update(f"p:2:{key}", user_id=MEMBER), 2)
            await feed(app, callback_update("p:2:unknownkey", user_id=MEMBER), 3)

    api = run(body)
    assert asked_ids == ["c2"]
    shown = api.calls_to("sendMessage")[1].params
    assert shown["parse_mode"] == "HTML"
    assert shown["text"] == (
        "<b>[2] Council story 2</b>\nHarbor Gazette · 2024-03-02\n"
        '<a href="https://news.example/bridge">Read the article</a>\n\n'
        "Costs rose &lt;10% &amp; the *mayor* agreed."
    )
    answered = [c.params for c in api.calls_to("answerCallbackQuery")]
    assert answered[0].get("text") is None
    assert answered[1]["text"] == "That answer is too old for its buttons; ask the question again."
    assert answered[1]["show_alert"] is True


def test_passage_gone_from_index_is_reported(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 1)
            newsroom.passages.clear()
            await feed(app, callback_update(f"p:1:{_first_key(api)}", user_id=MEMBER), 2)

    api = run(body)
    assert api.calls_to("answerCallbackQuery")[0].params["text"] == "That passage is no longer in the index."
    assert len(api.calls_to("sendMessage")) == 1


def test_feedback_buttons_write_hashed_votes(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 1)
            key = _first_key(api)
            await feed(app, callback_update(f"f:u:{key}", user_id=MEMBER), 2)
            await feed(app, callback_update(f"f:d:{key}", user_id=OTHER, chat_id=MEMBER), 3)

    api = run(body)
    log = tmp_path / "feedback.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["vote"] for line in lines] == ["up", "down"]
    first = lines[0]
    assert first["question"] == "Is the bridge approved?"
    assert first["answer"] == "The council approved the bridge [1]. Work starts in autumn [2]."
    assert first["cited"] == [{"n": 1, "article_id": "a1", "chunk_id": "c1"},
                              {"n": 2, "article_id": "a2", "chunk_id": "c2"}]
    assert len(first["user"]) == 64 and first["user"] != lines[1]["user"]
    for line in lines:  # the raw id appears nowhere; "user" is checked against the hash below
        assert set(line) == {"timestamp", "vote", "user", "question", "answer", "abstained", "answerer", "cited"}
        assert MEMBER not in line.values() and OTHER not in line.values()
    salt = (tmp_path / "feedback.jsonl.salt").read_bytes()
    import hashlib

    assert first["user"] == hashlib.sha256(salt + str(MEMBER).encode()).hexdigest()
    assert first["timestamp"].endswith("+00:00")
    assert api.calls_to("answerCallbackQuery")[0].params["text"] == "Thanks for the feedback!"


def test_outsider_gets_one_refusal_then_silence(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=OUTSIDER), 1)
            await feed(app, text_message("/sources", user_id=OUTSIDER, message_id=2), 2)
            await feed(app, text_message("hello?", user_id=OUTSIDER, message_id=3), 3)

    api = run(body)
    assert sent_texts(api) == [
        "Sorry, this bot is private to the newsroom. Ask the bot's administrator to add you "
        "if you should have access."
    ]
    assert newsroom.calls == [] and api.calls_to("sendChatAction") == []


def test_listed_chat_admits_unlisted_users(tmp_path: Path) -> None:
    async def body(api: FakeBotApi) -> None:
        async with app_for(api, FakeNewsroom(), tmp_path, allowed_user_ids=[], allowed_chat_ids=[-500]) as app:
            mention = [{"type": "mention", "offset": 0, "length": 18}]
            await feed(app, text_message("@newsroom_test_bot is the bridge approved?", user_id=OUTSIDER,
                                         chat_id=-500, chat_type="group", entities=mention), 1)
            await feed(app, text_message("/start", user_id=OUTSIDER, chat_id=OUTSIDER), 2)

    api = run(body)
    texts = sent_texts(api)
    assert texts[0].startswith("The council approved the bridge [1].")
    assert texts[1].startswith("Sorry, this bot is private to the newsroom.")


def test_group_answers_mentions_and_replies_only(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()
    group = {"chat_id": -100, "chat_type": "group"}

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message("lunch anyone?", user_id=MEMBER, message_id=1, **group), 1)
            await feed(app, text_message("@someone_else what about the bridge?", user_id=MEMBER, message_id=2,
                                         entities=[{"type": "mention", "offset": 0, "length": 13}], **group), 2)
            await feed(app, text_message("What did @Newsroom_Test_Bot hear about the bridge?", user_id=MEMBER,
                                         message_id=3, entities=[{"type": "mention", "offset": 9, "length": 18}],
                                         **group), 3)
            bot_message = {"message_id": 1000, "date": 0, "chat": {"id": -100, "type": "group"}, "from": BOT_USER,
                           "text": "an answer"}
            await feed(app, text_message("And the tunnel?", user_id=MEMBER, message_id=4, reply_to=bot_message,
                                         **group), 4)
            await feed(app, text_message("/stats@other_bot", user_id=OUTSIDER, message_id=5, **group), 5)

    api = run(body)
    assert [c.question for c in newsroom.calls] == ["What did hear about the bridge?", "And the tunnel?"]
    calls = api.calls_to("sendMessage")
    assert len(calls) == 2  # no reply to chatter, to other bots' commands or to outsiders not addressing us
    assert calls[0].params["reply_parameters"]["message_id"] == 3
    assert calls[1].params["reply_parameters"]["message_id"] == 4


def test_rate_limit_slows_one_user_without_starving_others(tmp_path: Path) -> None:
    newsroom = FakeNewsroom()

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path, rate_limit_per_minute=2) as app:
            for i in range(5):
                await feed(app, text_message(f"flood {i}", user_id=MEMBER, message_id=i + 1), i + 1)
            await feed(app, text_message("calm question", user_id=OTHER, message_id=9), 9)

    api = run(body)
    assert [c.question for c in newsroom.calls] == ["flood 0", "flood 1", "calm question"]
    slow = [t for t in sent_texts(api) if "slow down" in t]
    assert len(slow) == 1
    assert api.calls_to("sendMessage")[-1].params["chat_id"] == OTHER


def test_errors_are_logged_with_context_and_apologised_for(tmp_path: Path, caplog: Any) -> None:
    class BrokenNewsroom(FakeNewsroom):
        def ask(self, question: str, **kwargs: Any) -> Answer:
            raise RuntimeError("index exploded")

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, BrokenNewsroom(), tmp_path) as app:
            await feed(app, text_message("Is the bridge approved?", user_id=MEMBER), 77)

    with caplog.at_level(logging.ERROR, logger="bot.telegram.handlers"):
        api = run(body)
    assert sent_texts(api) == ["Sorry, something went wrong while handling that. Please try again in a moment."]
    [record] = [r for r in caplog.records if r.name == "bot.telegram.handlers"]
    assert record.getMessage() == f"Error while handling update 77 in chat {MEMBER}"
    assert record.exc_info is not None and str(record.exc_info[1]) == "index exploded"


def test_open_bot_is_warned_about_loudly(tmp_path: Path, caplog: Any) -> None:
    with FakeBotApi() as api, caplog.at_level(logging.WARNING, logger="bot.telegram.app"):
        build_state(make_settings(api, tmp_path, allow_everyone=True), FakeNewsroom())
        build_state(make_settings(api, tmp_path), FakeNewsroom())
        build_state(make_settings(api, tmp_path, allowed_user_ids=[], admin_user_ids=[]), FakeNewsroom())
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "NEWSBOT_ALLOW_EVERYONE=true: the bot will answer ANYONE on Telegram who finds it.",
        "No allowlist is set (NEWSBOT_ALLOWED_USER_IDS / NEWSBOT_ALLOWED_CHAT_IDS / NEWSBOT_ADMIN_USER_IDS "
        "are empty): the bot will refuse everyone.",
    ]


def test_state_lives_in_bot_data(tmp_path: Path) -> None:
    with FakeBotApi() as api:
        app = build_application(make_settings(api, tmp_path), FakeNewsroom())
    state = app.bot_data[STATE_KEY]
    assert isinstance(state, BotState)
    assert state.policy.is_admin(ADMIN) and not state.policy.is_admin(MEMBER)
    assert app.bot.token == TOKEN
    assert app.bot.base_url == api.base_url + TOKEN
    assert app.bot.base_file_url == api.base_url.replace("/bot", "/file/bot") + TOKEN


def _timeline_answer(question: str, count: int, *, newest_first: bool = False) -> Answer:
    """A timeline answer of `count` dated statements, each citing its own passage."""
    passages = [replace(make_passage(1 + i % 28, source="KBS News"), chunk_id=f"c{i}") for i in range(1, count + 1)]
    words = "the council will vote on the harbour bridge budget once the inspectors report back " * 2
    lines = [f"What Anita Verhoeven has said about the bridge, {'newest' if newest_first else 'oldest'} first:"]
    lines += [f"{i} Mar 2024 · KBS News · Statement {i}: {words.strip()}. [{i}]" for i in range(1, count + 1)]
    return Answer(
        question=question,
        text="\n".join(lines),
        citations=[Citation(n=i, passage=p, quote=f"Statement {i}.") for i, p in enumerate(passages, start=1)],
        retrieved=passages,
        statements=[{"speaker": "Anita Verhoeven", "published_at": f"2024-03-{i:02d}T09:00:00", "source": "KBS News",
                     "text": f"Statement {i}.", "n": i} for i in range(1, count + 1)],
        timeline={"speaker": "Anita Verhoeven", "topic": "the bridge", "newest_first": newest_first},
    )


def test_a_short_timeline_is_one_message_one_statement_a_line(tmp_path: Path) -> None:
    question = "What has Verhoeven said about the bridge?"
    newsroom = FakeNewsroom(answers={question: _timeline_answer(question, 2)})

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message(question, user_id=MEMBER), 1)

    api = run(body)
    sent = api.calls_to("sendMessage")
    assert len(sent) == 1
    statement = "the council will vote on the harbour bridge budget once the inspectors report back " * 2
    link = '<a href="https://news.example/bridge">'
    assert sent[0].params["text"] == (
        "<b>What Anita Verhoeven has said about the bridge, oldest first:</b>\n"
        f"1 Mar 2024 · KBS News · Statement 1: {statement.strip()}. {link}[1]</a>\n"
        f"2 Mar 2024 · KBS News · Statement 2: {statement.strip()}. {link}[2]</a>"
    )
    buttons = [b["callback_data"].split(":")[:2] for row in sent[0].params["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [["p", "1"], ["p", "2"], ["f", "u"], ["f", "d"]]


def test_a_long_timeline_pages_with_older_and_newer_buttons(tmp_path: Path) -> None:
    question = "What has Verhoeven said about the bridge?"
    newsroom = FakeNewsroom(answers={question: _timeline_answer(question, 40)})

    def nav(params: dict[str, Any]) -> list[tuple[str, str]]:
        rows = params["reply_markup"]["inline_keyboard"]
        return [(b["text"], b["callback_data"].rsplit(":", 1)[0]) for b in rows[0] if b["callback_data"][0] == "t"]

    async def body(api: FakeBotApi) -> None:
        async with app_for(api, newsroom, tmp_path) as app:
            await feed(app, text_message(question, user_id=MEMBER), 1)
            key = api.calls_to("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2]
            await feed(app, callback_update(f"t:1:{key}", user_id=MEMBER), 2)
            await feed(app, callback_update(f"t:2:{key}", user_id=MEMBER), 3)
            await feed(app, callback_update(f"t:99:{key}", user_id=MEMBER), 4)

    api = run(body)
    sent = api.calls_to("sendMessage")
    assert len(sent) == 1
    first = sent[0].params["text"]
    pages = int(first.rsplit(" of ", 1)[1].removesuffix("</i>"))
    assert pages == 3 and first.endswith("<i>page 1 of 3</i>")
    assert first.startswith("<b>What Anita Verhoeven has said about the bridge, oldest first:</b>\n1 Mar 2024 · ")
    assert nav(sent[0].params) == [("newer ▶", "t:1")]
    edits = [c.params for c in api.calls_to("editMessageText")]
    assert [e["text"].rsplit("\n", 1)[1] for e in edits] == ["<i>page 2 of 3</i>", "<i>page 3 of 3</i>"]
    assert nav(edits[0]) == [("◀ older", "t:0"), ("newer ▶", "t:2")]
    assert nav(edits[1]) == [("◀ older", "t:1")]
    shown = [first, *(e["text"] for e in edits)]
    assert all(utf16_len(text) <= 4096 for text in shown)
    # Whole statements only, in order, none lost between the pages shown.
    numbers = [int(n) for text in shown for n in re.findall(r">\[(\d+)\]</a>", text)]
    assert numbers == sorted(numbers) and numbers[0] == 1 and numbers[-1] == 40
    assert api.calls_to("answerCallbackQuery")[-1].params["text"] == STALE_BUTTON
