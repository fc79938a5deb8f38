"""`newsbot add URL…`: fetch one article per link into the corpus, then index it (docs/feeds.md).

Exit codes: 0 when every link was tried (failures are listed), 2 for an argument that is not an
http(s) link or a missing corpus folder, 4 when the store cannot be opened, 5 when busy.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import click

from bot.cli._common import ExitCode, backend_errors, fail, load_settings_or_exit, wiring


@click.command("add")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: added, updated, unchanged, failed and the index summary.")
@click.pass_context
def add_command(ctx: click.Context, urls: tuple[str, ...], as_json: bool) -> None:
    """Fetch the article at each URL, store it in the corpus and index it."""
    from bot.formatting_text import fetch_lines

    for url in urls:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fail(f"not an http(s) link: {url!r}", ExitCode.USAGE, as_json=as_json)
    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        newsroom = wiring(ctx).newsroom(settings)
        try:
            result = newsroom.add(list(urls))
        except FileNotFoundError as exc:
            fail(str(exc), ExitCode.USAGE, as_json=as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict("added"), ensure_ascii=False))
    else:
        click.echo("\n".join(fetch_lines(result, new_label="added")))
    raise SystemExit(int(ExitCode.OK))
