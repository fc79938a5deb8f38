"""Thin async handlers: parse the update, call the `Newsroom` (in a thread), format, reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.answer import Answer
from bot.core import ReindexBusy, Turn
from bot.telegram import formatting
from bot.telegram.access import RateDecision
from bot.telegram.feedback import FeedbackEntry
from bot.telegram.state import STATE_KEY, AnswerRecord, BotState, history, recall_answer, remember_answer
from index.models import IndexProgress

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

REFUSAL = (
    "Sorry, this bot is private to the newsroom. Ask the bot's administrator to add you "
    "if you should have access."
)
SLOW_DOWN = "You're sending questions faster than I can answer them — please slow down a little."
APOLOGY = "Sorry, something went wrong while handling that. Please try again in a moment."
ADMIN_ONLY = "Sorry, {command} is for the bot's administrators only."
EMPTY_QUESTION = (
    "Ask me a question about the coverage, e.g. “What did the council decide about the bridge?”"
)
STALE_BUTTON = "That answer is too old for its buttons; ask the question again."

START_TEXT = (
    "Hi! I answer questions from the newsroom's articles and cite where each claim comes from.\n\n"
    "Just type a question. /help explains more; /sources shows what the coverage holds."
)
HELP_TEXT = (
    "<b>What I do</b>\n"
    "I answer questions using only the newsroom's indexed articles. If the coverage doesn't say, "
    "I say so rather than guess.\n\n"
    "<b>Examples</b>\n"
    "• What did the city council decide about the new bridge?\n"
    "• Who won the regional election, and by how much?\n"
    "• What happened next? (follow-ups use our last few messages)\n\n"
    "<b>Citations</b>\n"
    "Markers like [1] point to the sources listed under the answer: outlet, date and a link to the "
    "article. Tap a numbered button to read the cited passage in full, and 👍/👎 to tell us whether "
    "the answer helped.\n\n"
    "<b>Commands</b>\n"
    "/sources — outlets and dates the coverage spans\n"
    "/help — this message\n"
    "In groups, mention me or reply to one of my messages."
)

_PASSAGE_DATA = re.compile(r"^p:(\d+):([\w-]+)$")
_FEEDBACK_DATA = re.compile(r"^f:([ud]):([\w-]+)$")
_PAGE_DATA = re.compile(r"^t:(\d+):([\w-]+)$")
_BUTTONS_PER_ROW = 6


def get_state(context: Context) -> BotState:
    """The shared `BotState` from `bot_data`."""
    return context.bot_data[STATE_KEY]


def _reply_kwargs(message: Message) -> dict[str, Any]:
    """In groups, answers quote the message they answer; in private chats they don't need to."""
    if message.chat.type == ChatType.PRIVATE:
        return {}
    return {"reply_parameters": ReplyParameters(message.message_id, allow_sending_without_reply=True)}


async def _send_html(bot: Bot, chat_id: int, parts: list[str], *, reply_to: Message | None = None,
                     markup: InlineKeyboardMarkup | None = None) -> None:
    """Send HTML parts in order; the keyboard goes under the last one."""
    for i, part in enumerate(parts):
        kwargs = _reply_kwargs(reply_to) if reply_to is not None and i == 0 else {}
        await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=markup if i == len(parts) - 1 else None,
            **kwargs,
        )


def is_addressed(message: Message, bot: Bot) -> bool:
    """Private chats always; in groups only commands for us, @mentions of us and replies to us."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or ""
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        return "@" not in command or command.split("@", 1)[1].lower() == (bot.username or "").lower()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    return _mentions(message, bot)


def _mentions(message: Message, bot: Bot) -> bool:
    username = (bot.username or "").lower()
    kinds = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    for entity, value in message.parse_entities(kinds).items():
        if entity.type == MessageEntityType.MENTION and value.lower() == f"@{username}":
            return True
        mentioned = entity.user.id if entity.user is not None else None
        if entity.type == MessageEntityType.TEXT_MENTION and mentioned == bot.id:
            return True
    return False


def question_text(message: Message, bot: Bot) -> str:
    """The question with any @mention of the bot removed."""
    text = message.text or ""
    if bot.username:
        text = re.sub(rf"@{re.escape(bot.username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


async def gate(update: Update, context: Context) -> None:
    """Runs before every handler: drop unaddressed chatter, refuse outsiders once, throttle floods."""
    state = get_state(context)
    user, chat, query = update.effective_user, update.effective_chat, update.callback_query
    message = update.message
    if user is None or chat is None or (message is None and query is None):
        raise ApplicationHandlerStop
    if message is not None and not is_addressed(message, context.bot):
        raise ApplicationHandlerStop
    if not state.policy.allows(user.id, chat.id):
        first = user.id not in state.refused_users
        state.refused_users.add(user.id)
        if first:
            logger.info("Refused user %s in chat %s (not on the allowlist)", user.id, chat.id)
        if query is not None:
            await query.answer(REFUSAL if first else None, show_alert=first)
        elif first and message is not None:
            await message.reply_text(REFUSAL, **_reply_kwargs(message))
        raise ApplicationHandlerStop
    decision = state.limiter.check(user.id)
    if decision is RateDecision.ALLOW:
        return
    if query is not None:
        await query.answer(SLOW_DOWN if decision is RateDecision.WARN else None)
    elif decision is RateDecision.WARN and message is not None:
        await message.reply_text(SLOW_DOWN, **_reply_kwargs(message))
    raise ApplicationHandlerStop


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int, interval: float) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (the first action is sent before it starts)."""

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)

    with contextlib.suppress(TelegramError):
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def answer_keyboard(answer: Answer, key: str) -> InlineKeyboardMarkup:
    """A button per cited passage (`p:<n>:<key>`) and the 👍/👎 feedback buttons (`f:u|d:<key>`)."""
    rows: list[list[InlineKeyboardButton]] = []
    if not answer.abstained and answer.kind == "answer":
        numbers = sorted({c.n for c in answer.citations})
        buttons = [InlineKeyboardButton(f"📄 {n}", callback_data=f"p:{n}:{key}") for n in numbers]
        rows.extend(buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW))
    rows.append(
        [
            InlineKeyboardButton("👍", callback_data=f"f:u:{key}"),
            InlineKeyboardButton("👎", callback_data=f"f:d:{key}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def on_question(update: Update, context: Context) -> None:
    """Answer a question from the coverage, with sources and buttons."""
    state, message = get_state(context), update.effective_message
    assert message is not None and update.effective_user is not None
    question = question_text(message, context.bot)
    if not question:
        await message.reply_text(EMPTY_QUESTION, **_reply_kwargs(message))
        return
    turns = history(context.chat_data, state.history_turns)
    async with state.user_lock(update.effective_user.id):
        async with typing(context.bot, message.chat_id, state.typing_interval):
            answer = await asyncio.to_thread(state.newsroom.ask, question, history=list(turns))
    record = AnswerRecord.from_answer(question, answer)
    pages = formatting.timeline_pages(answer) if answer.statements and not answer.abstained else []
    newest_first = bool((answer.timeline or {}).get("newest_first"))
    if len(pages) > 1:
        record = record.with_pages(pages, newest_first=newest_first)
    key = remember_answer(context.chat_data, record, state.answers_kept)
    turns.append(Turn(question=question, answer=answer))
    if len(pages) > 1:
        await _send_html(context.bot, message.chat_id, pages[:1], reply_to=message,
                         markup=page_keyboard(0, len(pages), newest_first, key))
        return
    parts = pages or formatting.answer_messages(answer)
    await _send_html(context.bot, message.chat_id, parts, reply_to=message, markup=answer_keyboard(answer, key))


def page_keyboard(page: int, pages: int, newest_first: bool, key: str) -> InlineKeyboardMarkup:
    """"◀ older" / "newer ▶" (or the reverse for a newest-first list) around page `page` of a
    timeline (`t:<page>:<key>`), then the 👍/👎 feedback buttons."""
    back, forward = ("newer", "older") if newest_first else ("older", "newer")
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(f"◀ {back}", callback_data=f"t:{page - 1}:{key}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(f"{forward} ▶", callback_data=f"t:{page + 1}:{key}"))
    votes = [InlineKeyboardButton("👍", callback_data=f"f:u:{key}"), InlineKeyboardButton("👎", callback_data=f"f:d:{key}")]
    return InlineKeyboardMarkup([nav, votes] if nav else [votes])


async def on_page_button(update: Update, context: Context) -> None:
    """Show another page of a long timeline in place of the one shown."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = _PAGE_DATA.match(query.data)
    record = recall_answer(context.chat_data, match.group(2)) if match else None
    page = int(match.group(1)) if match else -1
    if record is None or match is None or not 0 <= page < len(record.pages):
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(
        record.pages[page],
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=page_keyboard(page, len(record.pages), record.newest_first, match.group(2)),
    )


async def on_passage_button(update: Update, context: Context) -> None:
    """Show the cited passage behind a `[n]` button in full."""
    state, query = get_state(context), update.callback_query
    assert query is not None and query.data is not None
    match = _PASSAGE_DATA.match(query.data)
    record = recall_answer(context.chat_data, match.group(2)) if match else None
    chunk_id = record.chunk_id(int(match.group(1))) if record and match else None
    if chunk_id is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    passage = await asyncio.to_thread(state.newsroom.passage, chunk_id)
    if passage is None:
        await query.answer("That passage is no longer in the index.", show_alert=True)
        return
    await query.answer()
    chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
    await _send_html(context.bot, chat_id, formatting.passage_messages(int(match.group(1)), passage))


async def on_feedback_button(update: Update, context: Context) -> None:
    """Log a 👍/👎 vote on an answer (user id hashed)."""
    state, query = get_state(context), update.callback_query
    assert query is not None and query.data is not None
    match = _FEEDBACK_DATA.match(query.data)
    record = recall_answer(context.chat_data, match.group(2)) if match else None
    if record is None or match is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    entry = FeedbackEntry(
        question=record.question,
        answer=record.text,
        cited=record.cited,
        vote="up" if match.group(1) == "u" else "down",
        user_hash=state.feedback.hash_user(query.from_user.id),
        abstained=record.abstained,
        answerer=record.answerer,
    )
    await asyncio.to_thread(state.feedback.record, entry)
    await query.answer("Thanks for the feedback!")


async def on_start(update: Update, context: Context) -> None:
    """Greet and point at /help."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(START_TEXT, **_reply_kwargs(message))


async def on_help(update: Update, context: Context) -> None:
    """What the bot does, example questions and how citations work."""
    message = update.effective_message
    assert message is not None
    await message.reply_html(HELP_TEXT, **_reply_kwargs(message))


async def on_sources(update: Update, context: Context) -> None:
    """Outlets and date range of the coverage."""
    state, message = get_state(context), update.effective_message
    assert message is not None
    stats = await asyncio.to_thread(state.newsroom.stats)
    await _send_html(context.bot, message.chat_id, formatting.sources_messages(stats), reply_to=message)


async def on_stats(update: Update, context: Context) -> None:
    """Index counts (admins only)."""
    state, message = get_state(context), update.effective_message
    assert message is not None
    if not state.policy.is_admin(update.effective_user.id if update.effective_user else None):
        await message.reply_text(ADMIN_ONLY.format(command="/stats"), **_reply_kwargs(message))
        return
    stats = await asyncio.to_thread(state.newsroom.stats)
    await _send_html(context.bot, message.chat_id, formatting.stats_messages(stats), reply_to=message)


class _LatestProgress:
    """Holds the newest progress tick; written from the reindex thread, read from the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: IndexProgress | None = None

    def update(self, progress: IndexProgress) -> None:
        with self._lock:
            self._latest = progress

    def latest(self) -> IndexProgress | None:
        with self._lock:
            return self._latest


async def on_reindex(update: Update, context: Context) -> None:
    """Run the incremental reindex in a worker thread, editing one status message as it goes (admins)."""
    state, message = get_state(context), update.effective_message
    assert message is not None
    if not state.policy.is_admin(update.effective_user.id if update.effective_user else None):
        await message.reply_text(ADMIN_ONLY.format(command="/reindex"), **_reply_kwargs(message))
        return
    if state.reindex_lock.locked():
        await message.reply_text("A reindex is already running; please wait for it to finish.",
                                 **_reply_kwargs(message))
        return
    async with state.reindex_lock:
        status = await message.reply_text("Reindexing… starting", **_reply_kwargs(message))
        shown = status.text
        box = _LatestProgress()
        task = asyncio.ensure_future(asyncio.to_thread(state.newsroom.reindex, progress=box.update))
        while True:
            done, _ = await asyncio.wait({task}, timeout=state.progress_interval)
            if done:
                break
            latest = box.latest()
            text = formatting.progress_text(latest) if latest else None
            if text and text != shown:
                shown = await _edit(status, text) or shown
        try:
            report = task.result()
        except ReindexBusy as exc:  # another process (e.g. `newsbot index`) holds the index lock
            logger.warning("Reindex not started (chat %s): %s", message.chat_id, exc)
            await _edit(status, f"Reindex not started: {exc}. Try again when it has finished.")
            return
        except Exception:
            logger.exception("Reindex failed (chat %s, update %s)", message.chat_id, update.update_id)
            await _edit(status, "Reindex failed; the error is in the bot's log.")
            return
        logger.info("Reindex finished: %s", report.to_dict())
        await _edit(status, formatting.report_text(report))


async def _edit(message: Message, text: str) -> str | None:
    """Edit a status message; returns the new text, or None if Telegram refused the edit."""
    try:
        await message.edit_text(text)
    except BadRequest as exc:  # e.g. "message is not modified"
        logger.debug("Status edit refused: %s", exc)
        return None
    return text


async def on_error(update: object, context: Context) -> None:
    """Log the failure with chat id, update id and the exception, and apologise to the user."""
    chat_id = update_id = None
    if isinstance(update, Update):
        update_id = update.update_id
        chat_id = update.effective_chat.id if update.effective_chat else None
    logger.error("Error while handling update %s in chat %s", update_id, chat_id, exc_info=context.error)
    if chat_id is None:
        return
    try:
        if isinstance(update, Update) and update.callback_query is not None:
            await update.callback_query.answer(APOLOGY)
        else:
            await context.bot.send_message(chat_id, APOLOGY)
    except TelegramError:
        logger.warning("Could not send the apology to chat %s", chat_id)
