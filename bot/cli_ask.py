"""`newsbot ask`: one question (or one a line from stdin with `-`), answered with citations."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from bot.cli_index import EXIT_BACKEND, ensure_index, load_settings_or_exit


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """Click callback for YYYY-MM-DD options (shared by `ask` and `repl`)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def format_developer_view(answer) -> str:
    """What was searched, the retrieved passages with their scores, and the timings (`--passages`)."""
    from bot.formatting_text import format_passages, format_timings

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


def format_reader(answer) -> str:
    """The reader's best candidate sentences with their features and score (`--passages`, `:passages`)."""
    from bot.reader import FEATURES

    if not answer.reader:
        return "Reader: no scored sentences."
    lines = ["Reader (best sentences; score = weighted sum of the features):"]
    if answer.short_answer:
        s = answer.short_answer
        lines.append(f"  short answer: {s['text']!r} from [{s['n']}] at {s['start']}-{s['end']}")
    for i, row in enumerate(answer.reader, start=1):
        feats = " ".join(f"{name} {row[name]:.2f}" for name in FEATURES if name in row)
        sentence = " ".join(row["sentence"].split())
        shown = sentence if len(sentence) <= 160 else sentence[:159] + "…"
        lines.append(f"  {i}. score {row['score']:.3f} · retrieved passage {row['retrieved']} · {feats}\n     {shown}")
    return "\n".join(lines)


@click.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON (one object a line with '-').")
@click.option("--k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default NEWSBOT_TOP_K).")
@click.option("--source", default=None, help="Only this outlet (e.g. 'KBS News').")
@click.option("--since", callback=parse_date, default=None, help="Only coverage on or after YYYY-MM-DD.")
@click.option("--until", callback=parse_date, default=None, help="Only coverage on or before YYYY-MM-DD.")
@click.option("--as-of", "as_of", callback=parse_date, default=None, help="Favour coverage from around YYYY-MM-DD.")
@click.option("--passages", is_flag=True, help="Also show the retrieved passages, scores and timings.")
def ask_command(question, as_json, k, source, since, until, as_of, passages) -> None:
    """Answer QUESTION from the coverage, citing sources; '-' reads one question a line from stdin.

    With '-' the process outlives a store failure on one question (e.g. a Chroma server restart):
    the error is printed (as `{"question": ..., "error": ...}` with --json) and the next line is
    answered; the exit code is then 4. Without '-', a store failure ends the command with code 4.
    """
    from bot.core import Filters
    from bot.formatting_text import format_answer
    from bot.wiring import build_newsroom
    from index.embedder import EmbedderError
    from index.store import StoreError

    settings = load_settings_or_exit()
    filters = Filters(source=source, since=since, until=until, as_of=as_of)
    failed = False
    try:
        newsroom = build_newsroom(settings)
        ensure_index(settings, newsroom)
        questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
        for q in questions:
            if question == "-" and not q:
                continue
            try:
                answer = newsroom.ask(q, filters=filters, k=k)
            except StoreError as exc:
                if question != "-":
                    raise
                failed = True
                click.echo(f"newsbot: {exc}", err=True)
                click.echo(json.dumps({"question": q, "error": str(exc)}, ensure_ascii=False) if as_json else "")
                continue
            if as_json:
                click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
            else:
                click.echo(format_answer(answer))
                if passages:
                    click.echo(format_developer_view(answer))
                if question == "-":
                    click.echo("")
    except (StoreError, EmbedderError) as exc:
        click.echo(f"newsbot: {exc}", err=True)
        raise SystemExit(EXIT_BACKEND) from None
    if failed:
        raise SystemExit(EXIT_BACKEND)
