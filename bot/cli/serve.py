"""`newsbot serve`: run the Telegram bot by long polling, or by webhook behind a reverse proxy.

Only click and light modules are imported at top level; telegram and the core load inside.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import click

from bot.cli._common import ExitCode, backend_errors, ensure_index, fail, load_settings_or_exit, wiring

logger = logging.getLogger("bot.telegram")

_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PROG = "newsbot serve"


@click.command("serve")
@click.option("--webhook-url", metavar="URL", default=None,
              help="Public HTTPS URL Telegram posts updates to (webhook mode); without it, long polling.")
@click.option("--listen", metavar="HOST", default="127.0.0.1", show_default=True,
              help="Address the webhook server binds to (webhook mode).")
@click.option("--port", metavar="P", type=click.IntRange(1, 65535), default=8443, show_default=True,
              help="Port the webhook server binds to (webhook mode).")
@click.pass_context
def serve_command(ctx: click.Context, webhook_url: str | None, listen: str, port: int) -> None:
    """Run the Telegram bot (needs NEWSBOT_TELEGRAM_TOKEN)."""
    settings = load_settings_or_exit(prog=PROG)
    if settings.telegram_token is None:
        fail("NEWSBOT_TELEGRAM_TOKEN is not set; create a bot with @BotFather and put its token there.", ExitCode.USAGE, prog=PROG)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    url_path = ""
    if webhook_url:
        if not secret:
            fail("webhook mode needs NEWSBOT_TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ "
                 "and -); Telegram sends it with every update so forged updates are rejected.", ExitCode.USAGE, prog=PROG)
        if not _SECRET_PATTERN.match(secret):
            fail("NEWSBOT_TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters of A-Z, a-z, 0-9, _ and -.",
                 ExitCode.USAGE, prog=PROG)
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fail(f"--webhook-url must be an absolute URL like https://bot.example.com/telegram "
                 f"(got {webhook_url!r})", ExitCode.USAGE, prog=PROG)
        url_path = parts.path.strip("/")

    from bot.telegram.runner import prepare_bot, run_bot

    with backend_errors(prog=PROG):
        prepare_bot(settings, command=PROG)
        logger.info("Loading the model and the index…")
        newsroom = wiring(ctx).newsroom(settings, for_questions=True)
    ensure_index(settings, newsroom, prog=PROG)
    with backend_errors(prog=PROG):
        run_bot(settings, newsroom, webhook_url=webhook_url, listen=listen, port=port, url_path=url_path)
