"""Corpus files → `Article` records (or `Skip`s saying why not), one parser per format.

Walking rules of `iter_corpus`:
- files are visited recursively in sorted path order (names sorted within each directory,
  a directory's contents at the directory's place in that order);
- hidden files and directories (name starts with ".") and names starting with "_" are
  ignored silently, and so is a README at the corpus root (`README.md`, `readme.txt`, any
  file whose name before the suffix is "readme", case-insensitive), and so are `.toml` files
  (configuration, such as the feeds file, docs/feeds.md);
- every other file yields Articles or a `Skip` with a reason (unsupported type, empty,
  binary, not UTF-8, invalid JSON, no body text, cannot read, duplicate article id, ...);
- a file or folder whose real path is outside the corpus folder's real path (a symlink, or a
  folder reached through one) is skipped with `symlink leaves the corpus`; links inside the
  corpus are followed once: a link to something the walk reaches under its own name is ignored
  silently (no duplicate articles, no loops), a link into an ignored folder is read under the
  link's name, once;
- record paths (and default ids) are POSIX paths relative to the corpus; bytes of a file name
  that are not UTF-8 are written as `\\xNN` escapes (`safe_relpath`);
- at most what can be kept is read: .txt/.md up to `text_read_limit(max_chars)` bytes, HTML up to
  `html_read_limit(max_chars)`, JSONL line by line (a longer line is skipped); a .json file is
  parsed whole, so one bigger than `MAX_JSON_BYTES` is skipped.

Text is accepted as UTF-8 (with or without BOM) or UTF-16 with a BOM, for every format.

With a `ParseCache` (index/corpus_state.py), a file whose bytes were parsed before is not parsed
again: the bytes the parser would read are hashed (SHA-256; a .jsonl file whole, a text or HTML
file up to its read limit, with the file size) and the records recorded for that hash are
yielded, each article as an `ArticleStub`. The modification time is not consulted: a touched
file whose bytes are the same is not parsed again, and an edit that keeps the size and restores
the modification time changes the hash.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from index.models import Article, ArticleStub, Skip
from index.parsers.common import DecodeError, decode_bytes
from index.parsers.html import parse_html
from index.parsers.jsonfmt import Located, parse_json, parse_jsonl
from index.parsers.text import parse_text

__all__ = [
    "ESCAPE_REASON",
    "MAX_JSON_BYTES",
    "SUPPORTED_SUFFIXES",
    "CachedRecord",
    "Located",
    "ParseCache",
    "iter_corpus",
    "parse_file",
    "safe_relpath",
]

TEXT_SUFFIXES = frozenset({".txt"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = (
    TEXT_SUFFIXES | MARKDOWN_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
)
DEFAULT_MAX_CHARS = 200_000
# A .json file must be parsed whole; bigger collections belong in .jsonl, which is streamed.
MAX_JSON_BYTES = 64 * 1_048_576
ESCAPE_REASON = "symlink leaves the corpus"
_HASH_BLOCK = 1_048_576

CachedRecord = tuple[ArticleStub | Skip, int | None]


class ParseCache(Protocol):
    """What one file's bytes parsed into, by (record path, size, SHA-256 of the bytes read).

    Bound to one `max_chars` and one version of the parsers (index/corpus_state.py).
    """

    def get(self, path: str, size: int, digest: str) -> list[Located | CachedRecord] | None:
        """The records of a file parsed before with exactly these bytes (None: parse it)."""

    def put(self, path: str, size: int, digest: str, records: list[Located]) -> None:
        """Record what a file with these bytes parsed into."""


def iter_corpus(
    corpus_dir: Path,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    cache: ParseCache | None = None,
) -> Iterator[Article | ArticleStub | Skip]:
    """Walk corpus_dir recursively in sorted path order, yielding every Article and every Skip.

    A later article whose id was already seen in this run is skipped with
    `duplicate article id 'X' (first seen in <path>)`. Raises `NotADirectoryError` when
    corpus_dir is not a directory (an indexer must not mistake a missing corpus for an empty one).

    With `cache`, a file parsed before with the same bytes yields the records the cache gives
    (articles as `ArticleStub`s, or as the `Article`s it kept); what is parsed is put in `cache`.
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
        for record, line in _parse_located(item, corpus_dir=corpus_dir, max_chars=max_chars, cache=cache):
            if isinstance(record, (Article, ArticleStub)):
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


def _walk(
    directory: Path, corpus_dir: Path, *, visited: set[str], root: str | None = None
) -> Iterator[Path | Skip]:
    """Files to parse under `directory` in sorted order, or Skips for unreadable or escaping entries.

    `visited` holds the real paths already walked or yielded (so a link loop ends and no file is
    read twice); `root` is the corpus folder's real path.
    """
    root = root if root is not None else os.path.realpath(corpus_dir)
    visited.add(os.path.realpath(directory))
    try:
        with os.scandir(directory) as entries:
            at_root = directory == corpus_dir
            names = sorted(entry.name for entry in entries if not _is_ignored(entry.name, at_root=at_root))
    except OSError as exc:
        reason = f"cannot read: {exc.strerror or exc}"
        yield Skip(safe_relpath(directory, corpus_dir), reason, unreadable=exc.errno != errno.ENOENT)
        return
    for name in names:
        path = directory / name
        real = os.path.realpath(path)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            yield Skip(safe_relpath(path, corpus_dir), ESCAPE_REASON)
            continue
        if real in visited:  # a link loop, or a second name for something already read
            continue
        if real != os.path.join(root, *path.relative_to(corpus_dir).parts) and _walked_anyway(real, root):
            continue  # a link to a file or folder the walk reaches under its own name
        try:
            is_dir = path.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(path, corpus_dir, visited=visited, root=root)
        else:
            visited.add(real)
            yield path


def _walked_anyway(real: str, root: str) -> bool:
    """Whether the corpus walk reaches `real` (inside `root`) without following a link."""
    if not os.path.exists(real):
        return False  # a dangling link: reported when it is read
    parts = Path(os.path.relpath(real, root)).parts
    return not any(_is_ignored(part, at_root=depth == 0) for depth, part in enumerate(parts))


def safe_relpath(path: Path, corpus_dir: Path) -> str:
    """`path` relative to the corpus as a POSIX string that is always valid UTF-8.

    Bytes of a file name that are not UTF-8 (which `os.fsdecode` turns into lone surrogates)
    are written as `\\xNN` escapes, so `b"\\xe9t\\xe9.txt"` becomes the stable id `\\xe9t\\xe9.txt`.
    """
    rel = path.relative_to(corpus_dir).as_posix()
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def text_read_limit(max_chars: int) -> int:
    """Bytes read from a .txt/.md file: enough for `max_chars` characters of UTF-8 plus front matter."""
    return 4 * max_chars + 65_536


def html_read_limit(max_chars: int) -> int:
    """Bytes read from an .html/.htm file: markup, scripts and styles outweigh the text they hold."""
    return 32 * max_chars + 1_048_576


def _parse_located(
    path: Path,
    *,
    corpus_dir: Path,
    max_chars: int,
    cache: ParseCache | None = None,
) -> Iterator[Located | CachedRecord]:
    rel = safe_relpath(path, corpus_dir)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        label = f"'{suffix}'" if suffix else "(no suffix)"
        yield Skip(rel, f"unsupported file type {label}"), None
        return
    if suffix in JSON_SUFFIXES:
        limit = MAX_JSON_BYTES
    elif suffix in HTML_SUFFIXES:
        limit = html_read_limit(max_chars)
    else:
        limit = text_read_limit(max_chars)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            yield Skip(rel, "not a regular file"), None
            return
        if suffix in JSONL_SUFFIXES:
            if cache is None:
                yield from parse_jsonl(path, path=rel, max_chars=max_chars)
            else:
                yield from _cached_jsonl(path, rel, max_chars, cache)
            return
        if suffix in JSON_SUFFIXES and info.st_size > limit:
            yield Skip(
                rel,
                f"file too large: {info.st_size:,} bytes (a .json file is read whole, up to {limit:,} bytes; "
                "split it or use .jsonl)",
            ), None
            return
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        # Gone (or a dangling link) is not "unreadable": only a file that is there keeps its indexed version.
        yield Skip(rel, f"cannot read: {exc.strerror or exc}", unreadable=exc.errno != errno.ENOENT), None
        return
    if cache is None:
        yield from _parse_read(data, info.st_size, rel=rel, suffix=suffix, limit=limit, max_chars=max_chars)
        return
    # The parse depends on these bytes and the size alone (the size is in a truncation note).
    digest = hashlib.sha256(data).hexdigest()
    if (known := cache.get(rel, info.st_size, digest)) is not None:
        yield from known
        return
    records = list(_parse_read(data, info.st_size, rel=rel, suffix=suffix, limit=limit, max_chars=max_chars))
    cache.put(rel, info.st_size, digest, records)
    yield from records


def _cached_jsonl(
    path: Path, rel: str, max_chars: int, cache: ParseCache
) -> Iterator[Located | CachedRecord]:
    """A .jsonl file through the cache. It is streamed, not held, so its hash is a read of its own:
    taken before and after parsing, and what was parsed is recorded only when both agree (a file
    written to while it was parsed is parsed again next time). OSError propagates, except from
    the second hash (then nothing is recorded)."""
    size, digest = _file_digest(path)
    if (known := cache.get(rel, size, digest)) is not None:
        yield from known
        return
    records: list[Located] = []
    for record in parse_jsonl(path, path=rel, max_chars=max_chars):
        records.append(record)
        yield record
    try:
        unchanged = _file_digest(path) == (size, digest)
    except OSError:
        unchanged = False
    if unchanged:
        cache.put(rel, size, digest, records)


def _file_digest(path: Path) -> tuple[int, str]:
    """(bytes, SHA-256) of a whole file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


def _parse_read(
    data: bytes, size: int, *, rel: str, suffix: str, limit: int, max_chars: int
) -> Iterator[Located]:
    """Parse the bytes read from a .txt/.md/.json/.html file of `size` bytes (at most `limit` + 1 of them)."""
    notes: tuple[str, ...] = ()
    partial = len(data) > limit
    if partial:
        data = data[:limit]
        notes = (f"file is {size:,} bytes; only the first {limit:,} were read",)
    if not data.strip():
        yield Skip(rel, "empty file"), None
        return
    try:
        text = decode_bytes(data, partial=partial)
    except DecodeError as exc:
        yield Skip(rel, exc.reason), None
        return
    del data
    if partial and suffix not in HTML_SUFFIXES:
        text = _drop_cut_word(text)
    if not text.strip():
        yield Skip(rel, "empty file"), None
    elif suffix in JSON_SUFFIXES:
        yield from parse_json(text, path=rel, max_chars=max_chars)
    elif suffix in HTML_SUFFIXES:
        records = parse_html(text, path=rel, max_chars=max_chars)
        yield from ((_with_notes(record, notes), None) for record in records)
    else:
        markdown = suffix in MARKDOWN_SUFFIXES
        records = parse_text(text, path=rel, markdown=markdown, max_chars=max_chars)
        yield from ((_with_notes(record, notes), None) for record in records)


def _drop_cut_word(text: str) -> str:
    """Text read up to a byte limit ends mid-word or mid-sentence: drop the cut-off word."""
    cut = max(text.rfind(" "), text.rfind("\n"))
    return text[:cut] if cut > len(text) // 2 else text


def _with_notes(record: Article | Skip, notes: tuple[str, ...]) -> Article | Skip:
    if not notes or isinstance(record, Skip):
        return record
    return dataclasses.replace(record, notes=notes + record.notes)
