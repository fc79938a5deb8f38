"""`newsbot ask`: one question (or one a line from stdin with `-`), answered with citations."""

from __future__ import annotations

import json
import sys

import click

from bot.cli._common import ExitCode, backend_errors, ensure_index, load_settings_or_exit, parse_date, wiring


def format_developer_view(answer) -> str:
    """What was searched, the retrieved passages with their scores, and the timings (`--passages`)."""
    from bot.formatting_text import format_passages, format_reader, format_timings

    return "\n".join(
        [
            "",
            f"Searched: {answer.standalone_query or answer.question}",
            "Retrieved passages:",
            format_passages(answer.retrieved),
            format_reader(answer),
            "Timings:",
            format_timings(answer),
        ]
    )


@click.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON (one object a line with '-').")
@click.option("--k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default NEWSBOT_TOP_K).")
@click.option("--source", default=None, help="Only this outlet (e.g. 'KBS News').")
@click.option("--since", callback=parse_date, default=None, help="Only coverage on or after YYYY-MM-DD.")
@click.option("--until", callback=parse_date, default=None, help="Only coverage on or before YYYY-MM-DD.")
@click.option("--as-of", "as_of", callback=parse_date, default=None, help="Favour coverage from around YYYY-MM-DD.")
@click.option("--passages", is_flag=True, help="Also show the retrieved passages, scores and timings.")
@click.pass_context
def ask_command(ctx: click.Context, question, as_json, k, source, since, until, as_of, passages) -> None:
    """Answer QUESTION from the coverage, citing sources; '-' reads one question a line from stdin.

    With '-' the process outlives a backend failure on one question (e.g. a Chroma server restart):
    the error is printed (as `{"question": ..., "error": ...}` with --json) and the next line is
    answered; the exit code is then 4. Without '-', a backend failure ends the command with code 4.
    """
    from bot.core import BackendUnavailable, Filters
    from bot.formatting_text import format_answer

    settings = load_settings_or_exit()
    filters = Filters(source=source, since=since, until=until, as_of=as_of)
    failed = False
    with backend_errors():
        newsroom = wiring(ctx).newsroom(settings, for_questions=True)
    ensure_index(settings, newsroom)
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    for q in questions:
        if question == "-" and not q:
            continue
        if question == "-":
            try:
                answer = newsroom.ask(q, filters=filters, k=k)
            except BackendUnavailable as exc:
                failed = True
                click.echo(f"newsbot: {exc}", err=True)
                click.echo(json.dumps({"question": q, "error": str(exc)}, ensure_ascii=False) if as_json else "")
                continue
        else:
            with backend_errors():
                answer = newsroom.ask(q, filters=filters, k=k)
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            click.echo(format_answer(answer))
            if passages:
                click.echo(format_developer_view(answer))
            if question == "-":
                click.echo("")
    if failed:
        raise SystemExit(int(ExitCode.BACKEND))
