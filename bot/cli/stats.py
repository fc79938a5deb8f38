"""`newsbot stats`: what is indexed."""

from __future__ import annotations

import json

import click

from bot.cli._common import backend_errors, load_settings_or_exit, wiring


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats_command(ctx: click.Context, as_json: bool) -> None:
    """Show what is indexed: articles, chunks, sources, date range, store and model."""
    from bot.formatting_text import format_stats

    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        stats = wiring(ctx).newsroom(settings).stats()
    click.echo(json.dumps(stats.to_dict(), ensure_ascii=False) if as_json else format_stats(stats))
