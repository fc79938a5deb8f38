"""`newsbot eval`: score the current index on a questions file (the metrics are bot/evaluation.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli._common import backend_errors, load_settings_or_exit, wiring
from bot.evaluation import DEFAULT_K, MIN_RETRIEVAL_DEPTH, QuestionsFileError, format_report, load_questions, run_eval


@click.command("eval")
@click.argument("questions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (metrics + per-question rows).")
@click.option(
    "--k",
    type=click.IntRange(1, 200),
    default=DEFAULT_K,
    show_default=True,
    help=f"Passages retrieved per question (at least {MIN_RETRIEVAL_DEPTH} are asked for, for Hits@10).",
)
@click.pass_context
def eval_command(ctx: click.Context, questions_file: Path, as_json: bool, k: int) -> None:
    """Score the current index on QUESTIONS_FILE (JSONL: id, question, answer, gold_article_ids,
    optional question_date used as the as-of date): Hits@1/5/10, MRR@10, answer containment,
    abstention rate, citation validity and latency."""
    try:
        questions = load_questions(questions_file)
    except QuestionsFileError as exc:
        raise click.ClickException(str(exc)) from None
    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        newsroom = wiring(ctx).newsroom(settings, for_questions=True)

    def tick(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} questions", nl=done == total, err=True)

    show_progress = not as_json and sys.stderr.isatty()
    with backend_errors(as_json=as_json):
        report = run_eval(newsroom, questions, k=k, progress=tick if show_progress else None)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(format_report(report))
