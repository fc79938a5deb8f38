"""The Telegram bot (python-telegram-bot): `newsbot serve` by long polling or webhook.

Modules: `app` builds the Application, `handlers` holds the update handlers, `formatting` the
HTML, `access` allowlists and rate limits, `feedback` the vote log, `redaction` keeps the token
out of the logs, `state` what is kept between updates, `cli` the `serve` command.
"""
