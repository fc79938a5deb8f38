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
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    if not token:
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

    from bot.telegram.redaction import install_redaction

    install_redaction([token, secret], settings.log_level)

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

    logger.info("Loading the model and the index…")
    newsroom = build_newsroom(settings)
    ensure_index(settings, newsroom)
    run_bot(settings, newsroom, webhook_url=webhook_url, listen=listen, port=port, url_path=url_path)


def run_bot(
    settings,
    newsroom,
    *,
    webhook_url: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    url_path: str = "",
) -> None:
    """Warm the core up, then serve Telegram updates by webhook or long polling until stopped."""
    from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state

    newsroom.warm_up()
    state = build_state(settings, newsroom)
    application = build_application(settings, newsroom, state)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
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
