"""Keep the bot token (and the webhook secret) out of the logs.

httpx logs every request URL, and Bot API URLs contain the token (`.../bot<token>/getUpdates`).
We quiet httpx/httpcore to WARNING and put a filter on every handler (the root's and any
logger's own) that redacts the secrets from every record, whichever logger it came from,
including exception text and formatted tracebacks. The secrets come normalised from
`Settings.telegram_secrets`, exactly as the bot uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[REDACTED]"
NOISY_LOGGERS = ("httpx", "httpcore")


class SecretRedactingFilter(logging.Filter):
    """Replaces each secret (and its URL-encoded form) with `[REDACTED]` in a record's text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""))}
        self._secrets = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we have, redacted
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str], level: str | int = "INFO") -> SecretRedactingFilter:
    """Set up logging for the bot: a root handler if none, quiet httpx, and the redacting filter
    on every handler that exists now (the root's and those of named loggers)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redactor = SecretRedactingFilter(secrets)
    loggers = [root] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            handler.addFilter(redactor)
    return redactor
