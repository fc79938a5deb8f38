"""The `newsbot` command line. Commands are imported lazily so `newsbot --help` stays instant."""

from __future__ import annotations

import importlib
import sys

import click

# name -> "module:attribute"; each command module imports only click and light modules at top level.
COMMANDS: dict[str, str] = {
    "index": "bot.cli_index:index_command",
    "stats": "bot.cli_index:stats_command",
    "run": "bot.cli_index:run_command",
    "ask": "bot.cli_ask:ask_command",
    "repl": "bot.repl:repl_command",
    "serve": "bot.telegram.cli:serve_command",
    "eval": "bot.evaluation:eval_command",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # command not built yet
            raise
        return getattr(module, attr, None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot")
def cli() -> None:
    """newsbot: answers questions from your newsroom's articles, citing every claim."""


def main() -> None:
    """Console-script entry point.

    A store that cannot be reached (e.g. the Chroma server is down) ends any command with its
    one-line message and exit code 4, even where the command does not handle it itself.
    """
    try:
        cli(prog_name="newsbot")
    except Exception as exc:
        from index.store import StoreError

        if not isinstance(exc, StoreError):
            raise
        click.echo(f"newsbot: {exc}", err=True)
        sys.exit(4)  # EXIT_BACKEND in bot/cli_index.py


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
