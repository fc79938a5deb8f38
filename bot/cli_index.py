"""`newsbot index`, `newsbot stats` and `newsbot run` (the README's main job).

Exit codes of `newsbot index`:
  0  the index matches the corpus (some files may have been skipped: see the summary)
  1  no article could be read (empty corpus folder, or every file was skipped)
  2  bad usage or a bad setting
  3  refused: the run would remove more than half of the indexed articles (use --force)
  4  the store or the embedding model could not be opened
  5  busy: another reindex holds <data_dir>/index.lock (after --wait), or a running bot owns the
     embedded store (reindex with /reindex instead); see docs/resilience.md
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

EXIT_OK, EXIT_NO_ARTICLES, EXIT_USAGE, EXIT_REFUSED, EXIT_BACKEND, EXIT_BUSY = 0, 1, 2, 3, 4, 5
# Test-only: `os._exit(137)` right after the N-th store write of `newsbot index` (a planned SIGKILL).
CRASH_AFTER_WRITES_ENV = "NEWSBOT_TEST_CRASH_AFTER_WRITES"


def load_settings_or_exit(**overrides):
    """Settings for an entry point; a bad value ends the command with one line and exit code 2."""
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        click.echo(f"newsbot: bad setting: {exc}", err=True)
        raise SystemExit(EXIT_USAGE) from None


@contextmanager
def progress_reporter(enabled: bool):
    """A rich progress bar on stderr (only on a terminal); yields an `IndexProgress` callback."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def on_progress(p) -> None:
            label = {"scan": "Reading corpus", "embed": "Embedding chunks", "commit": "Committing"}.get(p.phase, p.phase)
            if p.phase not in tasks:
                tasks[p.phase] = bar.add_task(label, total=p.total or None)
            bar.update(tasks[p.phase], completed=p.done, total=p.total or None)

        yield on_progress


def format_report(report, corpus: Path) -> str:
    """The human summary of an index run."""
    lines = []
    if report.full_rebuild_reason:
        lines.append(f"Full rebuild: {report.full_rebuild_reason}")
    lines.append(
        f"Indexed {corpus}: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; embedded {report.embedded_chunks} chunks; "
        f"{report.chunks} chunks in the store ({report.seconds:.1f} s)."
    )
    if report.repaired:
        lines.append(f"Repaired {report.repaired} leftovers of an interrupted run.")
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)}:")
        for s in report.skipped:
            where = f"{s.path}:{s.line}" if s.line else s.path
            lines.append(f"  - {where}: {s.reason}")
    for w in report.warnings:
        lines.append(f"  ! {w}")
    return "\n".join(lines)


def run_index(
    settings,
    *,
    corpus: Path,
    rebuild: bool,
    force: bool,
    as_json: bool,
    newsroom=None,
    wait: float = 0.0,
    summary_to_stderr: bool = False,
) -> int:
    """Index `corpus` into the configured store and print the summary; returns the exit code.

    `summary_to_stderr` keeps stdout clean when indexing happens on the way to another command's output.

    Without `newsroom` (the `newsbot index` process) an embedded store is locked first
    (index/locking.py), waiting up to `wait` seconds for another reindex; with `newsroom`,
    `NewsroomService.reindex` takes the same lock.
    """
    from index.embedder import EmbedderError
    from index.indexer import IndexRefused
    from index.locking import LockBusy
    from index.store import StoreError

    lock = None
    try:
        if newsroom is not None:
            runner = lambda progress: newsroom.reindex(corpus, rebuild=rebuild, force=force, progress=progress)  # noqa: E731
        else:
            from bot.wiring import build_indexer

            if not settings.server_mode:
                from index.locking import acquire_index_lock

                lock = acquire_index_lock(settings.data_dir, wait=wait, command="newsbot index")
            indexer = build_indexer(settings)
            crash_hooks = crash_hooks_from_env()
            if crash_hooks is not None:
                indexer.hooks = crash_hooks
            runner = lambda progress: indexer.run(corpus, rebuild=rebuild, force=force, progress=progress)  # noqa: E731
        with progress_reporter(sys.stderr.isatty()) as on_progress:
            report = runner(on_progress)
    except LockBusy as exc:  # bot.service.ReindexBusy is a LockBusy too
        _fail(as_json, f"busy: {exc}")
        return EXIT_BUSY
    except IndexRefused as exc:
        _fail(as_json, f"refused: {exc}")
        return EXIT_REFUSED
    except FileNotFoundError as exc:
        _fail(as_json, str(exc))
        return EXIT_NO_ARTICLES
    except (StoreError, EmbedderError) as exc:
        _fail(as_json, str(exc))
        return EXIT_BACKEND
    finally:
        if lock is not None:
            lock.release()

    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False), err=summary_to_stderr)
    else:
        click.echo(format_report(report, corpus), err=summary_to_stderr)
    read = report.added + report.updated + report.unchanged + report.repaired
    if read == 0 and report.removed == 0:
        if not as_json:
            click.echo(f"newsbot: no article could be read from {corpus}", err=True)
        return EXIT_NO_ARTICLES
    return EXIT_OK


def crash_hooks_from_env():
    """`IndexerHooks` that die like SIGKILL after `NEWSBOT_TEST_CRASH_AFTER_WRITES` store writes, or None.

    Test-only (tests/test_crash_safety.py): `os._exit` skips every cleanup, as a kill would.
    """
    value = os.environ.get(CRASH_AFTER_WRITES_ENV, "").strip()
    if not value:
        return None
    from index.indexer import IndexerHooks

    limit = int(value)

    def crash(writes: int) -> None:
        if writes >= limit:
            os._exit(137)

    return IndexerHooks(after_write=crash)


def non_empty_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback: an empty path option (`--corpus ""`) is bad usage (exit 2), not the current folder."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("must not be empty (give a folder path)")
    return Path(value)


def _fail(as_json: bool, message: str) -> None:
    click.echo(f"newsbot: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message}))


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
def index_command(corpus: Path | None, rebuild: bool, force: bool, as_json: bool, wait: float) -> None:
    """Bring the index in step with the corpus: embed new and changed articles, drop removed ones."""
    settings = load_settings_or_exit()
    code = run_index(
        settings, corpus=corpus or settings.corpus_dir, rebuild=rebuild, force=force, as_json=as_json, wait=wait
    )
    raise SystemExit(code)


def format_stats(stats) -> str:
    """The human form of `newsbot stats`."""
    span = "—"
    if stats.earliest and stats.latest:
        span = f"{stats.earliest.date().isoformat()} … {stats.latest.date().isoformat()}"
    lines = [
        f"Articles: {stats.articles}",
        f"Chunks:   {stats.chunks}",
        f"Dates:    {span}",
        f"Store:    {stats.store}",
        f"Model:    {stats.model or '—'}",
        f"Chunker:  {stats.chunker or '—'}",
        "Sources:" + ("" if stats.sources else " —"),
    ]
    lines += [f"  {name}: {count}" for name, count in stats.sources.items()]
    return "\n".join(lines)


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_command(as_json: bool) -> None:
    """Show what is indexed: articles, chunks, sources, date range, store and model."""
    from index.indexer import collect_stats
    from index.store import StoreError

    settings = load_settings_or_exit()
    from bot.wiring import build_store

    try:
        stats = collect_stats(build_store(settings))
    except StoreError as exc:
        _fail(as_json, str(exc))
        raise SystemExit(EXIT_BACKEND) from None
    click.echo(json.dumps(stats.to_dict(), ensure_ascii=False) if as_json else format_stats(stats))


@click.command("run")
def run_command() -> None:
    """The main job: index the corpus, then start the bot (with a token) or open the REPL."""
    settings = load_settings_or_exit()
    from bot.wiring import build_newsroom

    if settings.telegram_token is not None and not settings.server_mode:
        # The bot owns the embedded store while it runs (docs/resilience.md); taken before the
        # store is opened, released by the kernel when this process ends.
        from index.locking import LockBusy, acquire_serve_lock

        try:
            acquire_serve_lock(settings.data_dir, command="newsbot run")
        except LockBusy as exc:
            click.echo(f"newsbot: busy: {exc}", err=True)
            raise SystemExit(EXIT_BUSY) from None
    newsroom = build_newsroom(settings)
    code = run_index(settings, corpus=settings.corpus_dir, rebuild=False, force=False, as_json=False, newsroom=newsroom)
    if code not in (EXIT_OK,):
        raise SystemExit(code)
    if settings.telegram_token is not None:
        from bot.telegram.cli import run_bot
        from bot.telegram.redaction import install_redaction

        install_redaction([settings.telegram_token.get_secret_value()], settings.log_level)
        run_bot(settings, newsroom)
        return
    from bot.repl import run_repl

    if sys.stdin.isatty():
        click.echo("Ask a question about the coverage (:help for commands, :quit to leave).")
    run_repl(newsroom, sys.stdin, sys.stdout)


def ensure_index(settings, newsroom) -> None:
    """First use: an empty index is built from the corpus before answering, saying so."""
    if not newsroom.is_empty():
        return
    click.echo(f"newsbot: the index is empty; building it from {settings.corpus_dir} first…", err=True)
    code = run_index(
        settings,
        corpus=settings.corpus_dir,
        rebuild=False,
        force=False,
        as_json=False,
        newsroom=newsroom,
        summary_to_stderr=True,
    )
    if code != EXIT_OK:
        raise SystemExit(code)
