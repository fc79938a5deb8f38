"""The `newsbot` command line: one module per command, imported lazily so `newsbot --help` stays instant.

Commands parse their options, build the core through `bot.wiring.Wiring` (click's `obj`; tests
pass their own) and map its errors to exit codes with `bot.cli._common.backend_errors`.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

import click

from bot.cli._common import ExitCode

if TYPE_CHECKING:
    from bot.wiring import Wiring

# name -> "module:attribute"; each command module imports only click and light modules at top level.
COMMANDS: dict[str, str] = {
    "index": "bot.cli.index:index_command",
    "stats": "bot.cli.stats:stats_command",
    "run": "bot.cli.run:run_command",
    "ask": "bot.cli.ask:ask_command",
    "repl": "bot.cli.repl:repl_command",
    "serve": "bot.cli.serve:serve_command",
    "eval": "bot.cli.eval:eval_command",
    "fetch": "bot.cli.fetch:fetch_command",
    "add": "bot.cli.add:add_command",
    "quotes": "bot.cli.quotes:quotes_command",
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


def main(wiring: Wiring | None = None) -> None:
    """Console-script entry point; `wiring` swaps in stand-ins (tests' entry point passes one).

    A backend that fails outside a command's own handling (e.g. the Chroma server goes away mid-
    command) still ends it with its one-line message and exit code 4.
    """
    from bot.core import BackendUnavailable

    try:
        cli(prog_name="newsbot", obj=wiring)
    except BackendUnavailable as exc:
        click.echo(f"newsbot: {exc}", err=True)
        sys.exit(int(ExitCode.BACKEND))
