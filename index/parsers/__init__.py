"""Corpus files → `Article` records (or `Skip`s saying why not), one parser per format.

Walking rules of `iter_corpus`:
- files are visited recursively in sorted path order (names sorted within each directory,
  a directory's contents at the directory's place in that order);
- hidden files and directories (name starts with ".") and names starting with "_" are
  ignored silently, and so is a README at the corpus root (`README.md`, `readme.txt`, any
  file whose name before the suffix is "readme", case-insensitive), and so are `.toml` files
  (configuration, such as the feeds file, docs/feeds.md);
- every other file yields Articles or a `Skip` with a reason (unsupported type, empty,
  binary, not UTF-8, invalid JSON, no body text, cannot read, duplicate article id, ...).

Text is accepted as UTF-8 (with or without BOM) or UTF-16 with a BOM, for every format.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from index.models import Article, Skip
from index.parsers.common import DecodeError, decode_bytes
from index.parsers.html import parse_html
from index.parsers.jsonfmt import Located, parse_json, parse_jsonl
from index.parsers.text import parse_text

__all__ = ["SUPPORTED_SUFFIXES", "iter_corpus", "parse_file"]

TEXT_SUFFIXES = frozenset({".txt"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = (
    TEXT_SUFFIXES | MARKDOWN_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
)
DEFAULT_MAX_CHARS = 200_000


def iter_corpus(corpus_dir: Path, *, max_chars: int = DEFAULT_MAX_CHARS) -> Iterator[Article | Skip]:
    """Walk corpus_dir recursively in sorted path order, yielding every Article and every Skip.

    A later article whose id was already seen in this run is skipped with
    `duplicate article id 'X' (first seen in <path>)`. Raises `NotADirectoryError` when
    corpus_dir is not a directory (an indexer must not mistake a missing corpus for an empty one).
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise NotADirectoryError(f"corpus directory not found: {corpus_dir}")
    _check_max_chars(max_chars)
    first_seen: dict[str, str] = {}
    for item in _walk(corpus_dir, corpus_dir, visited=set()):
        if isinstance(item, Skip):
            yield item
            continue
        for record, line in _parse_located(item, corpus_dir=corpus_dir, max_chars=max_chars):
            if isinstance(record, Article):
                earlier = first_seen.get(record.id)
                if earlier is not None:
                    yield Skip(
                        record.path or "",
                        f"duplicate article id '{record.id}' (first seen in {earlier})",
                        line=line,
                    )
                    continue
                first_seen[record.id] = record.path or ""
            yield record


def parse_file(
    path: Path, *, corpus_dir: Path, max_chars: int = DEFAULT_MAX_CHARS
) -> Iterator[Article | Skip]:
    """Parse one corpus file into Articles and Skips (no ignore rules, no duplicate-id check).

    `path` must lie under `corpus_dir`; record paths are POSIX paths relative to it.
    """
    _check_max_chars(max_chars)
    for record, _line in _parse_located(Path(path), corpus_dir=Path(corpus_dir), max_chars=max_chars):
        yield record


def _check_max_chars(max_chars: int) -> None:
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")


def _is_ignored(name: str, *, at_root: bool) -> bool:
    if name.startswith((".", "_")) or name.lower().endswith(".toml"):  # .toml: configuration (the feeds file)
        return True
    return at_root and name.lower().partition(".")[0] == "readme"


def _walk(directory: Path, corpus_dir: Path, *, visited: set[str]) -> Iterator[Path | Skip]:
    """Files to parse under `directory` in sorted order, or Skips for unreadable entries."""
    real = os.path.realpath(directory)
    if real in visited:  # a symlink loop
        return
    visited.add(real)
    try:
        with os.scandir(directory) as entries:
            at_root = directory == corpus_dir
            names = sorted(entry.name for entry in entries if not _is_ignored(entry.name, at_root=at_root))
    except OSError as exc:
        yield Skip(directory.relative_to(corpus_dir).as_posix(), f"cannot read: {exc.strerror or exc}")
        return
    for name in names:
        path = directory / name
        try:
            is_dir = path.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(path, corpus_dir, visited=visited)
        else:
            yield path


def _parse_located(path: Path, *, corpus_dir: Path, max_chars: int) -> Iterator[Located]:
    rel = path.relative_to(corpus_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        label = f"'{suffix}'" if suffix else "(no suffix)"
        yield Skip(rel, f"unsupported file type {label}"), None
        return
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            yield Skip(rel, "not a regular file"), None
            return
        if suffix in JSONL_SUFFIXES:
            yield from parse_jsonl(path, path=rel, max_chars=max_chars)
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Skip(rel, f"cannot read: {exc.strerror or exc}"), None
        return
    if not data.strip():
        yield Skip(rel, "empty file"), None
        return
    try:
        text = decode_bytes(data)
    except DecodeError as exc:
        yield Skip(rel, exc.reason), None
        return
    del data
    if not text.strip():
        yield Skip(rel, "empty file"), None
    elif suffix in JSON_SUFFIXES:
        yield from parse_json(text, path=rel, max_chars=max_chars)
    elif suffix in HTML_SUFFIXES:
        yield from ((record, None) for record in parse_html(text, path=rel, max_chars=max_chars))
    else:
        markdown = suffix in MARKDOWN_SUFFIXES
        records = parse_text(text, path=rel, markdown=markdown, max_chars=max_chars)
        yield from ((record, None) for record in records)
