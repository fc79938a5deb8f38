"""`newsbot serve`: run the Telegram bot by long polling, or by webhook behind a reverse proxy.

Only click and light modules are imported at top level; telegram and the core load inside.
"""

from __future__ import annotations

import logging
import re
import sys
from urllib.parse import urlsplit

import click

logger = logging.getLogger("bot.telegram")

_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _fail(message: str) -> None:
    click.echo(f"newsbot serve: {message}", err=True)
    sys.exit(2)


@click.command("serve")
@click.option("--webhook-url", metavar="URL", default=None,
              help="Public HTTPS URL Telegram posts updates to (webhook mode); without it, long polling.")
@click.option("--listen", metavar="HOST", default="127.0.0.1", show_default=True,
              help="Address the webhook server binds to (webhook mode).")
@click.option("--port", metavar="P", type=click.IntRange(1, 65535), default=8443, show_default=True,
              help="Port the webhook server binds to (webhook mode).")
def serve_command(webhook_url: str | None, listen: str, port: int) -> None:
    """Run the Telegram bot (needs NEWSBOT_TELEGRAM_TOKEN)."""
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    if settings.telegram_token is None:
        _fail("NEWSBOT_TELEGRAM_TOKEN is not set; create a bot with @BotFather and put its token there.")
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    url_path = ""
    if webhook_url:
        if not secret:
            _fail("webhook mode needs NEWSBOT_TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ "
                  "and -); Telegram sends it with every update so forged updates are rejected.")
        if not _SECRET_PATTERN.match(secret):
            _fail("NEWSBOT_TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters of A-Z, a-z, 0-9, _ and -.")
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            _fail(f"--webhook-url must be an absolute URL like https://bot.example.com/telegram "
                  f"(got {webhook_url!r})")
        url_path = parts.path.strip("/")

    from telegram.ext import Application  # noqa: F401  (fail early and clearly if PTB is missing)

    from bot.cli_index import ensure_index
    from bot.wiring import build_newsroom

    if not settings.server_mode:
        # The bot owns the embedded store while it runs (docs/resilience.md): taken before the store
        # is opened, held for the life of the process, released by the kernel when it ends.
        from index.locking import LockBusy, acquire_serve_lock

        try:
            acquire_serve_lock(settings.data_dir)
        except LockBusy as exc:
            click.echo(f"newsbot serve: busy: {exc}", err=True)
            sys.exit(5)

    prepare_bot(settings, prog="newsbot serve")
    logger.info("Loading the model and the index…")
    newsroom = build_newsroom(settings)
    ensure_index(settings, newsroom)
    run_bot(settings, newsroom, webhook_url=webhook_url, listen=listen, port=port, url_path=url_path,
            prog="newsbot serve")


class BotStartError(Exception):
    """The bot cannot start; the message is one line (secrets redacted) for the exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def prepare_bot(settings, *, prog: str) -> None:
    """What `newsbot serve` and `newsbot run` check before the bot starts: logging with the
    secrets redacted, an allowlist (or an explicit NEWSBOT_ALLOW_EVERYONE=true), a writable
    feedback log, and a token the Bot API accepts. A failure ends the command with one line
    on stderr: exit 2 for a setting to fix, 4 when the Bot API cannot be reached."""
    from bot.telegram.redaction import install_redaction

    install_redaction(settings.telegram_secrets, settings.log_level)
    try:
        check_access_settings(settings)
        check_feedback_log(settings)
        check_bot_api(settings)
    except BotStartError as exc:
        click.echo(f"{prog}: {exc}", err=True)
        sys.exit(exc.exit_code)


def check_access_settings(settings) -> None:
    """Fail closed: a bot with a token but no allowlist would answer anyone who finds it."""
    from bot.telegram.app import policy_from_settings

    if not settings.allow_everyone and not policy_from_settings(settings).has_allowlist:
        raise BotStartError(
            "no allowlist is set: put the Telegram user ids that may ask in NEWSBOT_ALLOWED_USER_IDS "
            "(or group chat ids in NEWSBOT_ALLOWED_CHAT_IDS), or set NEWSBOT_ALLOW_EVERYONE=true to "
            "answer anyone who finds the bot.",
            2,
        )


def check_feedback_log(settings) -> None:
    """The 👍/👎 log can be written (it is created, mode 0600, if missing)."""
    from bot.telegram.feedback import FeedbackLog

    path = settings.feedback_path
    try:
        FeedbackLog(path).check_writable()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"cannot write the feedback log {path} (NEWSBOT_FEEDBACK_LOG): {reason}"
        raise BotStartError(message, 2) from None


def check_bot_api(settings) -> None:
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


def bot_api_error(settings, exc: BaseException) -> BotStartError:
    """The one-line error for a failed Bot API call at start-up: rejected token (2), else unreachable (4)."""
    from telegram.error import InvalidToken, TelegramError

    from bot.telegram.redaction import SecretRedactingFilter

    if isinstance(exc, InvalidToken):
        return BotStartError("Telegram rejected the bot token (check NEWSBOT_TELEGRAM_TOKEN)", 2)
    redactor = SecretRedactingFilter(settings.telegram_secrets)
    base = settings.telegram_base_url
    token = settings.telegram_token.get_secret_value()
    url = redactor.redact(base.format(token=token) if "{token}" in base else base + token)
    detail = str(exc) if isinstance(exc, TelegramError) else f"{type(exc).__name__}: {exc}"
    detail = " ".join(redactor.redact(detail).split()) or type(exc).__name__
    return BotStartError(f"cannot reach the Telegram Bot API at {url}: {detail}", 4)


def run_bot(
    settings,
    newsroom,
    *,
    webhook_url: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    url_path: str = "",
    prog: str = "newsbot serve",
) -> None:
    """Warm the core up, then serve Telegram updates by webhook or long polling until stopped.

    `prepare_bot` has checked the token and the Bot API; should they fail while the bot starts
    all the same, that is the same one line and exit code.
    """
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state

    newsroom.warm_up()
    state = build_state(settings, newsroom)
    application = build_application(settings, newsroom, state)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    try:
        if webhook_url:
            logger.info("Serving by webhook on %s:%s/%s for %s", listen, port, url_path, webhook_url)
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
            logger.info("Serving by long polling")
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except (InvalidToken, NetworkError) as exc:
        error = bot_api_error(settings, exc)
        click.echo(f"{prog}: {error}", err=True)
        sys.exit(error.exit_code)
