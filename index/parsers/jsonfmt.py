"""JSON (one object or a list of objects) and JSONL/NDJSON (one object a line, streamed) articles.

Ids: the record's `id` when present, else the relative path for a single JSON object,
`<path>#<index>` (0-based) for an item of a JSON list and `<path>#L<n>` (1-based line) for a
JSONL line. Blank JSONL lines are ignored; a bad line becomes a `Skip` with its line number and
the other lines still yield their articles.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

from index.models import Article, Skip
from index.parsers.common import (
    BINARY_SNIFF_BYTES,
    DecodeError,
    FieldError,
    build_article,
    describe_decode_error,
    fields_from_record,
    sniff_encoding,
)

# (record, line number or None); the line lets the caller attach it to later skips (duplicates).
Located = tuple[Article | Skip, int | None]

_JSON_TYPE_NAMES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    dict: "an object",
}


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _loads(text: str) -> tuple[object, str | None]:
    """json.loads that never raises: (value, None) or (None, error message)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg}: line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "nesting too deep"
    except ValueError as exc:  # e.g. integers beyond the int-string conversion limit
        return None, str(exc).split("\n", 1)[0]


def _record_to_article(
    record: dict[str, object], *, path: str, default_id: str, line: int | None, max_chars: int
) -> Article | Skip:
    try:
        fields = fields_from_record(record)
    except FieldError as exc:
        return Skip(path, exc.reason, line=line)
    return build_article(
        path=path,
        default_id=default_id,
        body=fields.body or "",
        max_chars=max_chars,
        title=fields.title,
        fields=fields,
        line=line,
    )


def parse_json(text: str, *, path: str, max_chars: int) -> Iterator[Located]:
    """Parse one decoded .json file: an article object or a list of article objects."""
    value, error = _loads(text)
    if error is not None:
        yield Skip(path, f"invalid JSON: {error}"), None
        return
    if isinstance(value, dict):
        yield _record_to_article(value, path=path, default_id=path, line=None, max_chars=max_chars), None
        return
    if not isinstance(value, list):
        yield Skip(path, f"JSON value is {_json_type(value)}, expected an object or a list of objects"), None
        return
    if not value:
        yield Skip(path, "JSON list is empty"), None
        return
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            yield Skip(path, f"JSON list item {index} is {_json_type(item)}, expected an object"), None
            continue
        yield (
            _record_to_article(item, path=path, default_id=f"{path}#{index}", line=None, max_chars=max_chars),
            None,
        )


def parse_jsonl(file: Path, *, path: str, max_chars: int) -> Iterator[Located]:
    """Stream one .jsonl/.ndjson file line by line (never read whole); OSError propagates to the caller."""
    with open(file, "rb") as handle:
        head = handle.read(BINARY_SNIFF_BYTES)
        if not head:
            yield Skip(path, "empty file"), None
            return
        try:
            encoding = sniff_encoding(head)
        except DecodeError as exc:
            yield Skip(path, exc.reason), None
            return
        handle.seek(0)
        if encoding == "utf-16":
            lines: Iterator[tuple[int, str | Skip]] = _utf16_lines(handle, path, jsonl_line_limit(max_chars))
        else:
            lines = _utf8_lines(handle, path, jsonl_line_limit(max_chars))
        seen_content = False
        for number, line in lines:
            if isinstance(line, Skip):
                seen_content = True
                yield line, number
                continue
            if not line.strip():
                continue
            seen_content = True
            yield _parse_line(line, path=path, number=number, max_chars=max_chars), number
        if not seen_content:
            yield Skip(path, "empty file"), None


def jsonl_line_limit(max_chars: int) -> int:
    """Longest JSONL line read, in bytes: `max_chars` characters as `\\uXXXX` escapes, plus metadata."""
    return 6 * max_chars + 65_536


def _too_long(path: str, number: int, limit: int) -> Skip:
    return Skip(path, f"line longer than {limit:,} bytes", line=number)


def _utf8_lines(handle: io.BufferedReader, path: str, limit: int) -> Iterator[tuple[int, str | Skip]]:
    number = 0
    while raw := handle.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while (rest := handle.readline(1_048_576)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line without holding it
            yield number, _too_long(path, number, limit)
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, Skip(path, describe_decode_error(exc, "utf-8"), line=number)


def _utf16_lines(handle: io.BufferedReader, path: str, limit: int) -> Iterator[tuple[int, str | Skip]]:
    # Rare: decoded incrementally, so one bad code unit ends the file rather than one line.
    reader = io.TextIOWrapper(handle, encoding="utf-16", newline="\n")
    number = 0
    chars = limit // 2  # UTF-16: two bytes a code unit
    try:
        while line := reader.readline(chars + 1):
            number += 1
            if len(line) > chars and not line.endswith("\n"):
                while (rest := reader.readline(524_288)) and not rest.endswith("\n"):
                    pass
                yield number, _too_long(path, number, limit)
                continue
            yield number, line
    except UnicodeDecodeError as exc:
        yield number + 1, Skip(path, describe_decode_error(exc, "utf-16"), line=number + 1)
    finally:
        reader.detach()


def _parse_line(line: str, *, path: str, number: int, max_chars: int) -> Article | Skip:
    value, error = _loads(line.rstrip("\r\n"))
    if error is not None:
        error = error.replace("line 1 column", "column")
        return Skip(path, f"invalid JSON: {error}", line=number)
    if not isinstance(value, dict):
        return Skip(path, f"JSON value is {_json_type(value)}, expected an object", line=number)
    default_id = f"{path}#L{number}"
    return _record_to_article(value, path=path, default_id=default_id, line=number, max_chars=max_chars)
