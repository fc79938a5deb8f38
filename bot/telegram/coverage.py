"""Live coverage in Telegram: `/add URL`, shared links, `/feeds`, and the feed poll on the JobQueue.

Links sent through Telegram are fetched with the public-address rule (no loopback or private
addresses, docs/feeds.md); admins may always add, other allowed users only when
NEWSBOT_TELEGRAM_LINKS_FROM_USERS is on. Replies are plain text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.core import Busy, FeedsFileError, FetchResult
from bot.settings import Settings
from bot.telegram import handlers

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
COVERAGE_KEY = "newsbot.coverage"
MAX_LINKS = 5  # per message
MESSAGE_LIMIT = 4096
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
SHARED_LINK = filters.Regex(re.compile(r"^\s*https?://\S+\s*$", re.IGNORECASE)) & ~filters.COMMAND

ADD_USAGE = "Send /add followed by a link to an article, e.g. /add https://news.example/story"
ADD_NOT_ALLOWED = "Sorry, only the bot's administrators may add articles."
BUSY = "Another fetch or reindex is running; please try again in a minute."


@dataclass(slots=True)
class CoverageState:
    """What the coverage handlers share (in `bot_data[COVERAGE_KEY]`)."""

    links_from_users: bool = False
    poll_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    feeds_problem: str | None = None  # last feeds-file problem logged, so it is logged once


def register(application: Application, settings: Settings) -> None:
    """The /add, /feeds and shared-link handlers, and the feed poll when NEWSBOT_FETCH_INTERVAL is set.

    Call before the question handler is added: a message that is only a link is handled here.
    """
    application.bot_data[COVERAGE_KEY] = CoverageState(links_from_users=settings.telegram_links_from_users)
    application.add_handler(CommandHandler("add", on_add))
    application.add_handler(CommandHandler("feeds", on_feeds))
    application.add_handler(MessageHandler(SHARED_LINK, on_shared_link))
    if settings.fetch_interval > 0:
        seconds = settings.fetch_interval * 60
        if application.job_queue is None:
            logger.warning("NEWSBOT_FETCH_INTERVAL is set but the job queue is missing "
                           "(install python-telegram-bot[job-queue]); feeds are not polled")
            return
        application.job_queue.run_repeating(poll_feeds, interval=seconds, first=min(seconds, 5.0),
                                            name="newsbot-fetch")
        logger.info("Polling the feeds every %g minutes", settings.fetch_interval)


def _coverage(context: Context) -> CoverageState:
    return context.bot_data[COVERAGE_KEY]


def _may_add(update: Update, context: Context) -> bool:
    user_id = update.effective_user.id if update.effective_user else None
    return handlers.get_state(context).policy.is_admin(user_id) or _coverage(context).links_from_users


async def on_add(update: Update, context: Context) -> None:
    """`/add URL…`: fetch each link, store and index it, and say what became of it."""
    message = update.effective_message
    assert message is not None
    if not _may_add(update, context):
        await message.reply_text(ADD_NOT_ALLOWED)
        return
    urls = _URL.findall(message.text or "")
    if not urls:
        await message.reply_text(ADD_USAGE)
        return
    await _add(update, context, urls[:MAX_LINKS])


async def on_shared_link(update: Update, context: Context) -> None:
    """A message that is only a link: added when the sender may add, else taken as a question."""
    message = update.effective_message
    assert message is not None
    if not _may_add(update, context):
        await handlers.on_question(update, context)
        return
    await _add(update, context, _URL.findall(message.text or "")[:1])


async def _add(update: Update, context: Context, urls: list[str]) -> None:
    state, message = handlers.get_state(context), update.effective_message
    assert message is not None
    try:
        result = await asyncio.to_thread(state.newsroom.add, urls, public_only=True)
    except Busy:
        await message.reply_text(BUSY)
        return
    logger.info("Added by user %s: %s", update.effective_user.id if update.effective_user else None,
                result.to_dict("added"))
    await message.reply_text(_cut(add_reply(result)))


def add_reply(result: FetchResult) -> str:
    """One line per link: "Added: outlet · date · title — N passages", or why it could not be read."""
    lines = []
    labels = (("Added", result.report.new), ("Updated", result.report.updated),
              ("Already in the coverage", result.report.unchanged))
    for label, items in labels:
        for item in items:
            date = (item.published_at or "")[:10] or "no date"
            n = result.passages.get(item.article_id)
            count = "" if n is None else f" — {n} passage{'' if n == 1 else 's'}"
            lines.append(f"{label}: {item.source or '?'} · {date} · {item.title}{count}")
    for failure in result.report.failed:
        lines.append(f"Could not add {failure.url}: {failure.reason}")
    if result.index_error:
        lines.append("Stored; it will be searchable after the next reindex (another one was running).")
    return "\n".join(lines) or "Nothing to add."


async def on_feeds(update: Update, context: Context) -> None:
    """`/feeds` (admins): each feed's last success, last error and article count."""
    state, message = handlers.get_state(context), update.effective_message
    assert message is not None
    if not state.policy.is_admin(update.effective_user.id if update.effective_user else None):
        await message.reply_text(handlers.ADMIN_ONLY.format(command="/feeds"))
        return
    try:
        feeds = await asyncio.to_thread(state.newsroom.feed_status)
    except FeedsFileError as exc:
        await message.reply_text(f"No feeds are followed: {exc}")
        return
    if not feeds:
        await message.reply_text("The feeds file lists no feeds.")
        return
    lines = [f"Feeds ({len(feeds)}):"]
    for feed in feeds:
        line = f"• {feed.source} — {feed.articles} article{'' if feed.articles == 1 else 's'}; " \
               f"last success: {_when(feed.last_success)}"
        if feed.last_error and feed.failures:
            line += f"; last error ({_when(feed.last_error_at)}): {feed.last_error}"
            if feed.retry_after:
                line += f"; next try after {_when(feed.retry_after)}"
        lines.append(line + f"\n  {feed.url}")
    await message.reply_text(_cut("\n".join(lines)))


async def poll_feeds(context: Context) -> None:
    """The JobQueue's poll: fetch the feeds and reindex in a worker thread; skipped while one runs."""
    state, coverage = handlers.get_state(context), _coverage(context)
    if coverage.poll_lock.locked():
        logger.info("Feed poll skipped: the previous one is still running")
        return
    async with coverage.poll_lock:
        try:
            result = await asyncio.to_thread(state.newsroom.fetch, always_reindex=True)
        except FeedsFileError as exc:
            if coverage.feeds_problem != str(exc):
                coverage.feeds_problem = str(exc)
                logger.warning("Feed poll: %s", exc)
            return
        except Busy as exc:
            logger.info("Feed poll skipped: %s", exc)
            return
        except Exception:  # noqa: BLE001 - a failed poll must not stop the next one
            logger.exception("Feed poll failed")
            return
        coverage.feeds_problem = None
        report = result.report
        logger.info("Feed poll: %d new, %d updated, %d unchanged, %d failed%s", len(report.new),
                    len(report.updated), len(report.unchanged), len(report.failed),
                    f" ({result.index_error})" if result.index_error else "")


def _when(value: str | None) -> str:
    if not value:
        return "never"
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT - 10 else text[: MESSAGE_LIMIT - 12] + " …"
