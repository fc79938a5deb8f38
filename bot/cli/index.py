"""`newsbot index`: bring the index in step with the corpus folder (exit codes: bot/cli/_common.py)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli._common import backend_errors, load_settings_or_exit, non_empty_path, reindex, wiring


@click.command("index")
@click.option("--corpus", "corpus", type=click.Path(), callback=non_empty_path, default=None, help="Corpus folder (default: NEWSBOT_CORPUS_DIR).")
@click.option("--rebuild", is_flag=True, help="Drop the index and embed everything again.")
@click.option("--force", is_flag=True, help="Allow a run that removes more than half of the indexed articles.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON summary on stdout.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="If another reindex is running, wait this long for it before giving up (exit code 5).",
)
@click.pass_context
def index_command(ctx: click.Context, corpus: Path | None, rebuild: bool, force: bool, as_json: bool, wait: float) -> None:
    """Bring the index in step with the corpus: embed new and changed articles, drop removed ones."""
    settings = load_settings_or_exit()
    with backend_errors(as_json=as_json):
        newsroom = wiring(ctx).newsroom(settings)
    code = reindex(
        newsroom, corpus or settings.corpus_dir, rebuild=rebuild, force=force, wait=wait, as_json=as_json
    )
    raise SystemExit(int(code))
