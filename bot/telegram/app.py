"""Builds the python-telegram-bot `Application`: state in `bot_data`, handlers, bot commands."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.core import Newsroom
from bot.settings import Settings
from bot.telegram import coverage, handlers
from bot.telegram.access import AccessPolicy, RateLimiter
from bot.telegram.feedback import FeedbackLog
from bot.telegram.state import STATE_KEY, BotState

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
BOT_COMMANDS = [
    BotCommand("help", "What I can do and how citations work"),
    BotCommand("sources", "Outlets and dates the coverage spans"),
    BotCommand("stats", "Index statistics (admins)"),
    BotCommand("reindex", "Update the index from the corpus (admins)"),
    BotCommand("add", "Add an article by its link (admins)"),
    BotCommand("feeds", "The feeds followed and how they are doing (admins)"),
]


class MissingTokenError(ValueError):
    """No bot token is configured."""


def file_base_url(base_url: str) -> str:
    """The file-download URL that goes with a Bot API base URL (`…/bot` → `…/file/bot`)."""
    for suffix in ("/bot{token}", "/bot"):
        if base_url.endswith(suffix):
            return base_url[: -len(suffix)] + "/file" + suffix
    return "https://api.telegram.org/file/bot"


def build_state(settings: Settings, newsroom: Newsroom) -> BotState:
    """The handlers' shared state from settings; warns loudly when the bot is open to everyone."""
    policy = policy_from_settings(settings)
    if policy.is_open:
        logger.warning(
            "NEWSBOT_ALLOW_EVERYONE=true: the bot will answer ANYONE on Telegram who finds it."
        )
    elif not policy.has_allowlist:
        logger.warning(
            "No allowlist is set (NEWSBOT_ALLOWED_USER_IDS / NEWSBOT_ALLOWED_CHAT_IDS / "
            "NEWSBOT_ADMIN_USER_IDS are empty): the bot will refuse everyone."
        )
    return BotState(
        newsroom=newsroom,
        policy=policy,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        feedback=FeedbackLog(settings.feedback_path),
    )


def policy_from_settings(settings: Settings) -> AccessPolicy:
    """The access policy the settings describe (`NEWSBOT_ALLOW_EVERYONE` overrides the lists)."""
    return AccessPolicy.from_ids(
        settings.allowed_user_ids,
        settings.allowed_chat_ids,
        settings.admin_user_ids,
        everyone=settings.allow_everyone,
    )


def build_application(settings: Settings, newsroom: Newsroom, state: BotState | None = None) -> Application:
    """An `Application` talking to `settings.telegram_base_url`, with every handler registered."""
    if settings.telegram_token is None:
        raise MissingTokenError("NEWSBOT_TELEGRAM_TOKEN is not set: get a token from @BotFather first.")
    application = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(file_base_url(settings.telegram_base_url))
        .concurrent_updates(True)
        .post_init(_post_init)
        .build()
    )
    application.bot_data[STATE_KEY] = state or build_state(settings, newsroom)
    register_handlers(application, settings)
    return application


def register_handlers(application: Application, settings: Settings) -> None:
    """The gate first (group -1), then commands, links, questions and buttons, and the error handler."""
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handler(CommandHandler("start", handlers.on_start))
    application.add_handler(CommandHandler("help", handlers.on_help))
    application.add_handler(CommandHandler("sources", handlers.on_sources))
    application.add_handler(CommandHandler("stats", handlers.on_stats))
    application.add_handler(CommandHandler("reindex", handlers.on_reindex))
    coverage.register(application, settings)
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.on_question))
    application.add_handler(CallbackQueryHandler(handlers.on_passage_button, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(handlers.on_feedback_button, pattern=r"^f:"))
    application.add_handler(CallbackQueryHandler(handlers.on_page_button, pattern=r"^t:"))
    application.add_error_handler(handlers.on_error)


async def _post_init(application: Application) -> None:
    """Publish the command list and say who we are."""
    await application.bot.set_my_commands(BOT_COMMANDS)
    logger.info("Telegram bot @%s is up", application.bot.username)
