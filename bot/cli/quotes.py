"""`newsbot quotes SPEAKER`: a speaker's statements from the statement index, oldest first."""

from __future__ import annotations

import json

import click

from bot.cli._common import backend_errors, ensure_index, load_settings_or_exit, parse_date, wiring


@click.command("quotes")
@click.argument("speaker")
@click.option("--about", default=None, help="Only statements whose passage is on this topic.")
@click.option("--since", callback=parse_date, default=None, help="Only statements on or after YYYY-MM-DD.")
@click.option("--until", callback=parse_date, default=None, help="Only statements on or before YYYY-MM-DD.")
@click.option("--source", default=None, help="Only this outlet (e.g. 'KBS News').")
@click.option("--json", "as_json", is_flag=True, help='Print {"speaker", "statements": [...]} as JSON.')
@click.pass_context
def quotes_command(ctx: click.Context, speaker, about, since, until, source, as_json) -> None:
    """List what SPEAKER (a name, a surname or a role like 'the foreign secretary') said, oldest first.

    One line per statement: date · outlet · the statement. Nobody of that name speaking in the
    coverage is not an error: nothing is listed (exit code 0) and stderr says so.
    """
    from bot.timeline import day_label, statement_date

    if not speaker.strip():
        raise click.UsageError("SPEAKER is empty: name a person, a surname or a role")
    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        newsroom = wiring(ctx).newsroom(settings)
    ensure_index(settings, newsroom)
    with backend_errors(as_json=as_json):
        found = newsroom.quotes(speaker, about=about, since=since, until=until, source=source)
    if found.speaker is None:
        click.echo(f"newsbot: no statements by {speaker} in the coverage", err=True)
    if as_json:
        click.echo(json.dumps(found.to_dict(), ensure_ascii=False))
        return
    if found.speaker is None:
        return
    about_text = f" about {about}" if about else ""
    count = len(found.statements)
    click.echo(f"{found.speaker}{about_text}: {count} statement{'s' if count != 1 else ''}, oldest first")
    for s in found.statements:
        outlet = s.source or "unknown outlet"
        click.echo(f"{day_label(statement_date(s))} · {outlet} · {' '.join(s.statement.text.split())}")
