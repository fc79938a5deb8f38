"""`newsbot repl`: ask questions in a loop (the REPL itself is bot/repl.py)."""

from __future__ import annotations

import sys
from datetime import date

import click

from bot.cli._common import backend_errors, ensure_index, load_settings_or_exit, parse_date, wiring


@click.command("repl")
@click.option(
    "--k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default NEWSBOT_TOP_K)."
)
@click.option("--source", default=None, help="Only this outlet (e.g. 'KBS News').")
@click.option(
    "--as-of", "as_of", callback=parse_date, default=None, help="Favour coverage from around YYYY-MM-DD."
)
@click.pass_context
def repl_command(ctx: click.Context, k: int | None, source: str | None, as_of: date | None) -> None:
    """Ask questions in a loop (follow-ups understood); :help lists the commands."""
    from bot.core import Filters
    from bot.repl import BANNER, is_terminal, run_repl

    settings = load_settings_or_exit()
    filters = Filters(source=source, as_of=as_of) if (source or as_of) else None
    with backend_errors():
        newsroom = wiring(ctx).newsroom(settings, for_questions=True)
    ensure_index(settings, newsroom)
    if is_terminal(sys.stdin):
        click.echo(BANNER)
    with backend_errors():
        code = run_repl(newsroom, sys.stdin, sys.stdout, k=k, filters=filters)
    raise SystemExit(code)
