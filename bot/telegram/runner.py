"""Starting and running the bot (`newsbot serve`, `newsbot run` with a token).

`prepare_bot` runs first: claim the store, redact secrets, fail closed without an allowlist,
check the feedback log and the token. `run_bot` then serves updates until stopped.

Failures are the core's error types, so the CLI's one error map gives them their line and exit
code: `BotStartError` is a `ConfigError` (exit 2), `BotApiUnreachable` a `BackendUnavailable`
(exit 4), a store another bot owns `Busy` (exit 5).
"""

from __future__ import annotations

import logging

from bot.core import BackendUnavailable, ConfigError, Newsroom
from bot.settings import Settings
from bot.wiring import claim_store_for_bot

serve_log = logging.getLogger("bot.telegram")  # what `newsbot serve` says about serving

class BotStartError(ConfigError):
    """The bot cannot start because of a setting to fix; the message is one line, secrets redacted."""


class BotApiUnreachable(BackendUnavailable):
    """The Telegram Bot API cannot be reached; the message names its URL with the token redacted."""


def prepare_bot(settings: Settings, *, command: str) -> None:
    """What `newsbot serve` and `newsbot run` do before the bot loads the model and the index.

    Claims the embedded store for this bot (`Busy` if another bot or a reindex has it), sets up
    logging with the secrets redacted, then checks: an allowlist (or an explicit
    NEWSBOT_ALLOW_EVERYONE=true), a writable feedback log, a token the Bot API accepts.
    Raises `BotStartError` (a `ConfigError`) or `BotApiUnreachable` (a `BackendUnavailable`).
    """
    from bot.telegram.redaction import install_redaction

    claim_store_for_bot(settings, command=command)
    install_redaction(settings.telegram_secrets, settings.log_level)
    check_access_settings(settings)
    check_feedback_log(settings)
    check_bot_api(settings)


def check_access_settings(settings: Settings) -> None:
    """Fail closed: a bot with a token but no allowlist would answer anyone who finds it."""
    from bot.telegram.app import policy_from_settings

    if not settings.allow_everyone and not policy_from_settings(settings).has_allowlist:
        raise BotStartError(
            "no allowlist is set: put the Telegram user ids that may ask in NEWSBOT_ALLOWED_USER_IDS "
            "(or group chat ids in NEWSBOT_ALLOWED_CHAT_IDS), or set NEWSBOT_ALLOW_EVERYONE=true to "
            "answer anyone who finds the bot."
        )


def check_feedback_log(settings: Settings) -> None:
    """The 👍/👎 log can be written (it is created, mode 0600, if missing)."""
    from bot.telegram.feedback import FeedbackLog

    path = settings.feedback_path
    try:
        FeedbackLog(path).check_writable()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"cannot write the feedback log {path} (NEWSBOT_FEEDBACK_LOG): {reason}"
        raise BotStartError(message) from None


def check_bot_api(settings: Settings) -> None:
    """Ask the Bot API who we are (getMe): the token must be accepted and the API reachable."""
    import asyncio

    from telegram import Bot

    from bot.telegram.app import file_base_url

    async def get_me() -> None:
        bot = Bot(
            settings.telegram_token.get_secret_value(),
            base_url=settings.telegram_base_url,
            base_file_url=file_base_url(settings.telegram_base_url),
        )
        async with bot:  # initialize() calls getMe
            pass

    try:
        asyncio.run(get_me())
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise bot_api_error(settings, exc) from None


def bot_api_error(settings: Settings, exc: BaseException) -> BotStartError | BotApiUnreachable:
    """The one-line error for a failed Bot API call: a rejected token, else an unreachable API."""
    from telegram.error import InvalidToken, TelegramError

    from bot.telegram.redaction import SecretRedactingFilter

    if isinstance(exc, InvalidToken):
        return BotStartError("Telegram rejected the bot token (check NEWSBOT_TELEGRAM_TOKEN)")
    redactor = SecretRedactingFilter(settings.telegram_secrets)
    base = settings.telegram_base_url
    token = settings.telegram_token.get_secret_value()
    url = redactor.redact(base.format(token=token) if "{token}" in base else base + token)
    detail = str(exc) if isinstance(exc, TelegramError) else f"{type(exc).__name__}: {exc}"
    detail = " ".join(redactor.redact(detail).split()) or type(exc).__name__
    return BotApiUnreachable(f"cannot reach the Telegram Bot API at {url}: {detail}")


def run_bot(
    settings: Settings,
    newsroom: Newsroom,
    *,
    webhook_url: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    url_path: str = "",
) -> None:
    """Warm the core up, then serve Telegram updates by webhook or long polling until stopped.

    `prepare_bot` has checked the token and the Bot API; should they fail while the bot
    starts all the same, that raises the same `BotStartError` / `BotApiUnreachable`.
    """
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state

    newsroom.warm_up()
    state = build_state(settings, newsroom)
    application = build_application(settings, newsroom, state)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    try:
        if webhook_url:
            serve_log.info("Serving by webhook on %s:%s/%s for %s", listen, port, url_path, webhook_url)
            application.run_webhook(
                listen=listen,
                port=port,
                url_path=url_path,
                webhook_url=webhook_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        else:
            serve_log.info("Serving by long polling")
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except (InvalidToken, NetworkError) as exc:
        raise bot_api_error(settings, exc) from None
