"""`newsbot fetch`: poll the feeds file's feeds into the corpus, then index (docs/feeds.md).

Exit codes: 0 when every feed was tried (failures are listed, not fatal), 2 for a missing or
malformed feeds file or corpus folder, 4 when the store cannot be opened, 5 when another fetch
or reindex holds the lock.
"""

from __future__ import annotations

import json

import click

from bot.cli._common import ExitCode, backend_errors, fail, load_settings_or_exit, wiring


@click.command("fetch")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: fetched, updated, unchanged, failed, feeds and the index summary.")
@click.pass_context
def fetch_command(ctx: click.Context, as_json: bool) -> None:
    """Poll the feeds in NEWSBOT_FEEDS_FILE, store new and changed articles in the corpus, index them."""
    from bot.core import FeedsFileError
    from bot.formatting_text import fetch_lines

    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        newsroom = wiring(ctx).newsroom(settings)
        try:
            result = newsroom.fetch()
        except (FeedsFileError, FileNotFoundError) as exc:
            fail(str(exc), ExitCode.USAGE, as_json=as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict("fetched"), ensure_ascii=False))
    else:
        click.echo("\n".join(fetch_lines(result, new_label="fetched")))
    raise SystemExit(int(ExitCode.OK))
