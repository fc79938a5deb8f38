"""`newsbot run`: the README's main job — index the corpus, then start the bot or open the REPL."""

from __future__ import annotations

import sys

import click

from bot.cli._common import ExitCode, backend_errors, load_settings_or_exit, reindex, wiring


@click.command("run")
@click.pass_context
def run_command(ctx: click.Context) -> None:
    """The main job: index the corpus, then start the bot (with a token) or open the REPL."""
    settings = load_settings_or_exit()
    with backend_errors():
        if settings.telegram_token is not None:
            from bot.telegram.runner import prepare_bot

            prepare_bot(settings, command="newsbot run")  # before indexing: a bot that can't start fails fast
        newsroom = wiring(ctx).newsroom(settings)
    code = reindex(newsroom, settings.corpus_dir)
    if code != ExitCode.OK:
        raise SystemExit(int(code))
    if settings.telegram_token is not None:
        from bot.telegram.runner import run_bot

        with backend_errors():
            run_bot(settings, newsroom)
        return
    from bot.repl import BANNER, is_terminal, run_repl

    if is_terminal(sys.stdin):
        click.echo(BANNER)
    with backend_errors():
        code = run_repl(newsroom, sys.stdin, sys.stdout)
    raise SystemExit(code)
