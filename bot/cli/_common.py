"""What every `newsbot` command shares: exit codes, settings, dates, the error → exit-code map.

Exit codes (README, "Exit codes"):
  0  done (abstaining is an answer)
  1  no article could be read (empty corpus folder, or every file was skipped)
  2  bad usage or a bad setting
  3  refused: the run would remove more than half of the indexed articles (use --force)
  4  a backend could not be used: the store, the embedding model, the data folder
  5  busy: another reindex holds <data_dir>/index.lock, or a running bot owns the embedded store
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.core import Newsroom
    from bot.settings import Settings
    from bot.wiring import Wiring
    from index.models import IndexReport


class ExitCode(IntEnum):
    """The exit codes of every `newsbot` command (the module docstring says when each is used)."""

    OK = 0
    NO_ARTICLES = 1
    USAGE = 2
    REFUSED = 3
    BACKEND = 4
    BUSY = 5


def fail(message: str, code: ExitCode, *, as_json: bool = False, prog: str = "newsbot") -> None:
    """End the command: `prog: message` on stderr (and `{"error": …}` on stdout with --json), then `code`."""
    click.echo(f"{prog}: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    raise SystemExit(int(code))


def load_settings_or_exit(*, prog: str = "newsbot", **overrides: Any) -> Settings:
    """Settings for a command; a bad value ends it with one line and exit code 2."""
    from bot.settings import load_settings

    with backend_errors(prog=prog):
        return load_settings(**overrides)


def wiring(ctx: click.Context | None = None) -> Wiring:
    """The `Wiring` an entry point passed as click's `obj` (tests do), else production's."""
    from bot.wiring import Wiring

    ctx = ctx or click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Wiring) else Wiring()


@contextmanager
def backend_errors(*, as_json: bool = False, prog: str = "newsbot") -> Iterator[None]:
    """Map the core's error types to their one-line message and exit code (the one such map)."""
    from bot.core import BackendUnavailable, Busy, ConfigError, IndexRefused

    try:
        yield
    except ConfigError as exc:
        fail(f"{exc.label}: {exc}" if exc.label else str(exc), ExitCode.USAGE, as_json=as_json, prog=prog)
    except Busy as exc:
        fail(f"busy: {exc}", ExitCode.BUSY, as_json=as_json, prog=prog)
    except IndexRefused as exc:
        fail(f"refused: {exc}", ExitCode.REFUSED, as_json=as_json, prog=prog)
    except BackendUnavailable as exc:
        fail(str(exc), ExitCode.BACKEND, as_json=as_json, prog=prog)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """Click callback for YYYY-MM-DD options."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def non_empty_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback: an empty path option (`--corpus ""`) is bad usage (exit 2), not the current folder."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("must not be empty (give a folder path)")
    return Path(value)


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr (only on a terminal); yields an `IndexProgress` callback or None."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(p: Any) -> None:
            label = {"scan": "Reading corpus", "embed": "Embedding chunks", "commit": "Committing"}.get(p.phase, p.phase)
            if p.phase not in tasks:
                tasks[p.phase] = bar.add_task(label, total=p.total or None)
            bar.update(tasks[p.phase], completed=p.done, total=p.total or None)

        yield on_progress


def reindex(
    newsroom: Newsroom,
    corpus: Path,
    *,
    rebuild: bool = False,
    force: bool = False,
    wait: float = 0.0,
    as_json: bool = False,
    summary_to_stderr: bool = False,
) -> ExitCode:
    """Run `Newsroom.reindex` with a progress bar and print its summary; returns the exit code.

    Errors end the command through `backend_errors`; a missing corpus folder is exit code 1.
    `summary_to_stderr` keeps stdout clean when indexing happens on the way to another command's output.
    """
    from bot.formatting_text import format_report

    with backend_errors(as_json=as_json):
        try:
            with progress_reporter(sys.stderr.isatty()) as on_progress:
                report = newsroom.reindex(corpus, rebuild=rebuild, force=force, progress=on_progress, wait=wait)
        except FileNotFoundError as exc:
            fail(str(exc), ExitCode.NO_ARTICLES, as_json=as_json)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False), err=summary_to_stderr)
    else:
        click.echo(format_report(report, corpus), err=summary_to_stderr)
    if not _read_anything(report):
        if not as_json:
            click.echo(f"newsbot: no article could be read from {corpus}", err=True)
        return ExitCode.NO_ARTICLES
    return ExitCode.OK


def _read_anything(report: IndexReport) -> bool:
    return report.added + report.updated + report.unchanged + report.repaired + report.removed > 0


def ensure_index(settings: Settings, newsroom: Newsroom, *, prog: str = "newsbot") -> None:
    """First use: an empty index is built from the corpus before answering, saying so."""
    with backend_errors(prog=prog):
        empty = newsroom.is_empty()
    if not empty:
        return
    click.echo(f"newsbot: the index is empty; building it from {settings.corpus_dir} first…", err=True)
    code = reindex(newsroom, settings.corpus_dir, summary_to_stderr=True)
    if code != ExitCode.OK:
        raise SystemExit(int(code))
