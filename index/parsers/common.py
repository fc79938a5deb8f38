"""Helpers shared by the format parsers: decoding, body normalisation, truncation, field coercion."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from index.models import Article, Skip
from index.text import replace_lone_surrogates, sentence_spans

BINARY_SNIFF_BYTES = 8192
TITLE_FROM_SENTENCE_MAX = 120

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")

# C0 controls except \t (0x09) and \n (0x0a); \r is turned into \n before this runs.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_INLINE_WS_RE = re.compile(r"\s+")
# A sentence end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_SENTENCE_CLOSERS = frozenset(".!?。！？…\"'”’)]")  # what a whole sentence ends with
_AUTHOR_SEP_RE = re.compile(r"\s*(?:[,;&]|\band\b)\s*", re.IGNORECASE)
_AUTHOR_BY_RE = re.compile(r"^by\s+", re.IGNORECASE)


class DecodeError(Exception):
    """Bytes that cannot become text; `reason` is the Skip reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FieldError(Exception):
    """A record field of an unusable type; `reason` is the Skip reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff_encoding(head: bytes) -> str:
    """Pick the codec for a file from its first bytes (BOM), or raise `DecodeError("binary file")`.

    UTF-16 needs a BOM; without a BOM the text must be UTF-8, and NUL bytes in the first
    8 KB mean a binary file.
    """
    if head.startswith(_BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(_BOMS_UTF16):
        return "utf-16"
    if b"\x00" in head[:BINARY_SNIFF_BYTES]:
        raise DecodeError("binary file")
    return "utf-8"


def decode_bytes(data: bytes, *, partial: bool = False) -> str:
    """Decode a file's bytes (UTF-8 with or without BOM, UTF-16 with BOM) or raise `DecodeError`.

    With `partial` the bytes are the first part of a longer file: a character cut at the end is dropped.
    """
    encoding = sniff_encoding(data[:BINARY_SNIFF_BYTES])
    try:
        if partial:
            return codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(describe_decode_error(exc, encoding)) from None


def describe_decode_error(exc: UnicodeDecodeError, encoding: str) -> str:
    """The Skip reason for undecodable bytes."""
    label = "invalid UTF-16" if encoding == "utf-16" else "invalid byte"
    return f"not UTF-8 text: {label} {exc.object[exc.start:exc.start + 4]!r} at byte {exc.start}"


def clean_text(text: str) -> str:
    """Normalise newlines to "\\n", drop C0 control characters other than "\\n" and "\\t", and
    replace lone surrogates with U+FFFD."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return replace_lone_surrogates(_CONTROL_RE.sub("", text))


def normalise_body(text: str) -> str:
    """Body text as stored: clean, no trailing spaces per line, paragraphs split by exactly one blank line.

    Everything else (inner spacing, zero-width and bidi characters, single newlines inside a
    paragraph) is kept verbatim, because chunk offsets index into the result.
    """
    text = clean_text(text)
    # str.rstrip() strips what the regex `\s` matches (Unicode whitespace), three times faster
    # than a regex for trailing spaces, which tries every space of the text.
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    if "\n\n\n" in text:
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def one_line(text: str) -> str:
    """Collapse all whitespace runs (newlines included) to single spaces; for titles and names."""
    return _INLINE_WS_RE.sub(" ", clean_text(text)).strip()


def truncate_body(body: str, max_chars: int) -> tuple[str, str | None]:
    """Cut `body` to at most `max_chars` at the last paragraph or sentence end; return (body, note).

    Falls back to the last whitespace, then to a hard cut, when no boundary exists.
    """
    if len(body) <= max_chars:
        return body, None
    window = body[: max_chars + 1]  # one extra char so a boundary right at max_chars is seen
    cut = window.rfind("\n\n", 0, max_chars + 1)
    tail_start = max(cut, 0)
    for _, end, _ in sentence_spans(window[tail_start:]):
        end += tail_start
        if end <= max_chars and window[end - 1] in _SENTENCE_CLOSERS:
            cut = max(cut, end)
    if cut <= 0:
        cut = max(window.rfind(" ", 0, max_chars + 1), window.rfind("\n", 0, max_chars + 1))
    if cut <= 0:
        cut = max_chars
    short = body[:cut].rstrip()
    if not short:
        short = body[:max_chars].rstrip()
    return short, f"body truncated from {len(body)} to {len(short)} characters"


def first_sentence(body: str, limit: int = TITLE_FROM_SENTENCE_MAX) -> str:
    """The body's first sentence on one line, cut at a word boundary to at most `limit` characters."""
    head = body[: limit * 4]
    paragraph_end = head.find("\n\n")
    if paragraph_end != -1:
        head = head[:paragraph_end]
    spans = sentence_spans(head)
    sentence = one_line(head[: spans[0][1]] if spans else head)
    if len(sentence) <= limit:
        return sentence
    cut = sentence.rfind(" ", 0, limit)
    return sentence[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def split_authors(value: str) -> tuple[str, ...]:
    """Split an author string such as "A and B", "A, B & C" or "A; B" into names (deduplicated)."""
    value = _AUTHOR_BY_RE.sub("", one_line(value))
    names = (name.strip() for name in _AUTHOR_SEP_RE.split(value))
    return tuple(dict.fromkeys(name for name in names if name))


def parse_date(value: object) -> tuple[datetime | None, str | None]:
    """Parse a published date; return (datetime, None) or (None, note) when unparseable.

    ISO 8601 datetimes keep their offset (tz-aware); a bare date is a naive midnight
    `datetime` because its time zone is unknown. RFC 2822 dates (feeds) are accepted too.
    """
    if isinstance(value, datetime):
        return value, None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), None
    text = one_line(str(value))
    if not text:
        return None, None
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(candidate), None
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text), None
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    return None, f"unparseable published_at {text[:60]!r}"


@dataclass(frozen=True, slots=True)
class Fields:
    """Article metadata taken from a record (JSON object or front matter), already coerced."""

    id: str | None = None
    title: str | None = None
    body: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


_TYPE_NAMES = {dict: "an object", list: "a list", tuple: "a list"}


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), f"a {type(value).__name__}")


def _first_present(record: Mapping[str, object], keys: tuple[str, ...]) -> tuple[str, object]:
    for key in keys:
        value = record.get(key)
        if value is not None:
            return key, value
    return keys[0], None


def _scalar_text(record: Mapping[str, object], keys: tuple[str, ...], *, inline: bool) -> str | None:
    key, value = _first_present(record, keys)
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, set)):
        raise FieldError(f"field '{key}' is {_type_name(value)}, expected text")
    text = str(value)
    text = one_line(text) if inline else text
    return text or None


def _authors(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return split_authors(value)
    if isinstance(value, (list, tuple)):
        names: list[str] = []
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                item = item["name"]
            if isinstance(item, (dict, list, tuple, set)):
                raise FieldError(f"field 'authors' holds {_type_name(item)}, expected names")
            if item is not None:
                names.extend(split_authors(str(item)))
        return tuple(dict.fromkeys(names))
    if isinstance(value, dict):
        raise FieldError("field 'authors' is an object, expected a list of names")
    return split_authors(str(value))


def fields_from_record(record: Mapping[str, object]) -> Fields:
    """Coerce a JSON object / front-matter mapping into `Fields`, or raise `FieldError`.

    Keys: id, title, body | text | content, source, published_at | date | published, url,
    authors (list or "A, B and C" string). Scalars of other types are turned into strings;
    objects and lists where text is expected make the record unusable.
    """
    notes: list[str] = []
    date_key, date_value = _first_present(record, ("published_at", "date", "published"))
    if isinstance(date_value, (dict, list, tuple, set)):
        raise FieldError(f"field '{date_key}' is {_type_name(date_value)}, expected a date")
    published_at, note = parse_date(date_value) if date_value is not None else (None, None)
    if note:
        notes.append(note)
    return Fields(
        id=_scalar_text(record, ("id",), inline=True),
        title=_scalar_text(record, ("title",), inline=True),
        body=_scalar_text(record, ("body", "text", "content"), inline=False),
        source=_scalar_text(record, ("source",), inline=True),
        published_at=published_at,
        url=_scalar_text(record, ("url",), inline=True),
        authors=_authors(record.get("authors")),
        notes=tuple(notes),
    )


def build_article(
    *,
    path: str,
    default_id: str,
    body: str,
    max_chars: int,
    title: str | None,
    fields: Fields = Fields(),
    line: int | None = None,
    notes: tuple[str, ...] = (),
) -> Article | Skip:
    """Finish an article: normalise and truncate the body, fill a missing title; or Skip "no body text"."""
    body = normalise_body(body)
    if not body:
        return Skip(path, "no body text", line=line)
    all_notes = list(fields.notes) + list(notes)
    title = one_line(title) if title else ""
    if not title:
        title = first_sentence(body)
        all_notes.append("title missing; taken from the first sentence of the body")
    body, note = truncate_body(body, max_chars)
    if note:
        all_notes.append(note)
    return Article(
        id=fields.id or default_id,
        title=title,
        body=body,
        source=fields.source,
        published_at=fields.published_at,
        url=fields.url,
        authors=fields.authors,
        path=path,
        notes=tuple(all_notes),
    )
