"""Property tests of index.parsers.parse_file: hostile input never raises, and every record is well-formed."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.models import Article, Skip
from index.parsers import SUPPORTED_SUFFIXES, parse_file

MAX_CHARS = 5_000
SUFFIXES = sorted(SUPPORTED_SUFFIXES)
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")

# Bounded so the file stays well under a minute on a busy 2-core machine.
fuzz = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
fuzz_big = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WEIRD_CHARS = "\u200b\u200c\u200d\ufeff\u202e\u202d\u2066\u2069\u061c\u05d0\u0627\u2028\u2029\x85\r\t\x00\x1b"
weird_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list(WEIRD_CHARS) + ["\n", " ", "."])),
    max_size=300,
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1"])


def run_parse(suffix: str, data: bytes, max_chars: int = MAX_CHARS) -> list[Article | Skip]:
    """Write `data` as a corpus file and parse it, checking the invariants every record must meet."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "sub" / f"case{suffix}"
        path.parent.mkdir()
        path.write_bytes(data)
        records = list(parse_file(path, corpus_dir=root, max_chars=max_chars))
    assert records, "parse_file yielded nothing"
    for record in records:
        assert isinstance(record, (Article, Skip))
        assert record.path == f"sub/case{suffix}"
        if isinstance(record, Skip):
            assert isinstance(record.reason, str) and record.reason.strip()
            continue
        assert record.id and record.title and record.body
        assert record.body == record.body.strip()
        assert len(record.body) <= max_chars
        assert "\r" not in record.body and "\n\n\n" not in record.body
        assert not _FORBIDDEN_CONTROL.search(record.body)
        assert not _FORBIDDEN_CONTROL.search(record.title) and "\n" not in record.title
        assert all(not line or line == line.rstrip() for line in record.body.split("\n"))
        assert all(isinstance(name, str) and name for name in record.authors)
    return records


@fuzz
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=2_000))
def test_random_bytes(suffix: str, data: bytes) -> None:
    run_parse(suffix, data)


@fuzz
@given(suffix=st.sampled_from(SUFFIXES), text=weird_text, encoding=encodings)
def test_odd_encodings_and_invisible_characters(suffix: str, text: str, encoding: str) -> None:
    run_parse(suffix, text.encode(encoding, errors="replace"))


@fuzz
@given(
    text=weird_text, title=weird_text, extra=st.dictionaries(st.text(max_size=10), st.integers() | st.none())
)
def test_text_and_markdown_with_invisible_characters(
    text: str, title: str, extra: dict[str, int | None]
) -> None:
    for suffix in (".txt", ".md"):
        run_parse(suffix, f"{title}\n\n{text}".encode())
        front = json.dumps({"title": title, **extra})  # JSON is valid YAML flow syntax
        run_parse(suffix, f"---\n{front}\n---\n{text}\n".encode())


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
article_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.text(max_size=200)
        for key in ("id", "title", "body", "text", "source", "published_at", "date", "url", "authors")
    },
)


@fuzz
@given(records=st.lists(article_like, max_size=6), junk=st.lists(json_values, max_size=3))
def test_json_and_jsonl_with_wrong_types(records: list[dict[str, object]], junk: list[object]) -> None:
    items = [*records, *junk]
    run_parse(".json", json.dumps(items).encode())
    if records:
        run_parse(".json", json.dumps(records[0]).encode())
    jsonl = "\n".join([*(json.dumps(item) for item in items), "{broken"]) + "\n"
    outcomes = run_parse(".jsonl", jsonl.encode())
    assert Skip("sub/case.jsonl", "invalid JSON: Expecting property name enclosed in double quotes: column 2",
                line=len(items) + 1) in outcomes


@fuzz_big
@given(depth=st.integers(10_000, 20_000), opener=st.sampled_from(["[", '{"a":', "[{\"body\":"]))
def test_deeply_nested_json(depth: int, opener: str) -> None:
    nested = (opener * depth).encode()
    for suffix in (".json", ".jsonl", ".ndjson"):
        records = run_parse(suffix, nested)
        assert len(records) == 1 and isinstance(records[0], Skip)
        # A JSONL line longer than the line limit is skipped unread (index/parsers/jsonfmt.py).
        assert records[0].reason.startswith(("invalid JSON: ", "line longer than "))
    # PyYAML is pure Python and slow (quadratic here); 1,000+ levels already exceed the recursion limit.
    yaml_depth = depth // 10
    assert run_parse(".md", b"---\ntitle: " + b"[" * yaml_depth + b"\n---\nBody\n") == [
        Skip("sub/case.md", "invalid YAML front matter: nesting too deep")
    ]
    run_parse(".html", (b"<div>" * depth) + b"<p>deep text</p>")


@fuzz_big
@given(size=st.integers(1_000_000, 3_000_000), char=st.sampled_from(["a", "é", "한", " ", ".", "\u200b"]))
def test_huge_lines(size: int, char: str) -> None:
    line = char * size
    for suffix in (".txt", ".md"):
        run_parse(suffix, f"Title\n\n{line}".encode())
    body_record = json.dumps({"title": "T", "body": line}).encode()
    run_parse(".json", body_record)
    records = run_parse(".jsonl", body_record + b"\n" + body_record)
    assert len(records) == 2


script_payload = st.text(alphabet=st.characters(codec="ascii", exclude_characters="<>"), max_size=80)
html_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<>&"), min_size=0, max_size=200)


@fuzz
@given(paragraphs=st.lists(html_text, max_size=5), script=script_payload, title=html_text)
def test_html_scripts_never_reach_the_body(paragraphs: list[str], script: str, title: str) -> None:
    marker = "QZXSCRIPTMARKER"
    body = "".join(f"<p>{p}</p><script>var s = '{marker}{script}';</script>" for p in paragraphs)
    page = (
        f"<html><head><title>{title}</title><script>{marker}</script><style>p{{}} {marker}</style></head>"
        f"<body><article>{body}</article><noscript>{marker}</noscript></body></html>"
    )
    for record in run_parse(".html", page.encode()):
        if isinstance(record, Article):
            assert marker not in record.body


def _normalise_body_by_regexes(text: str) -> str:
    """normalise_body as it was first written (regexes), the reference for the faster one."""
    from index.parsers.common import clean_text

    text = re.sub(r"[^\S\n]+(?=\n|\Z)", "", clean_text(text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.one_of(st.characters(), st.sampled_from(list(WEIRD_CHARS) + [
    "\n", " ", "\t", "\u00a0", "\u3000", "\x0c", "\x1c", "\u2000", "\u205f"])), max_size=200))
def test_normalise_body_strips_what_the_regex_whitespace_class_strips(text: str) -> None:
    from index.parsers.common import normalise_body

    assert normalise_body(text) == _normalise_body_by_regexes(text)
