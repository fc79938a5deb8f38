"""Tests of index.parsers: every format, every skip reason, ids, ignore rules, truncation."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from index.models import Article, Skip
from index.parsers import SUPPORTED_SUFFIXES, iter_corpus, parse_file
from index.parsers.common import normalise_body, split_authors, truncate_body

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "kbs-2024-10-21-yoon-nato-rutte.txt"
KST = timezone(timedelta(hours=9))


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def parse_one(root: Path, rel: str, content: str | bytes, **kwargs: int) -> list[Article | Skip]:
    return list(parse_file(write(root, rel, content), corpus_dir=root, **kwargs))


def only_article(records: list[Article | Skip]) -> Article:
    assert len(records) == 1 and isinstance(records[0], Article), records
    return records[0]


# --- the seed article -------------------------------------------------------------------------


def test_seed_article_parses_exactly(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / SEED.name)
    records = list(iter_corpus(tmp_path))
    article = only_article(records)
    assert article.id == "kbs-2024-10-21-yoon-nato-rutte.txt"
    assert article.path == "kbs-2024-10-21-yoon-nato-rutte.txt"
    assert article.title == (
        "President Yoon speaks with NATO Secretary General: "
        "“We will never overlook N. Korea's deployment”"
    )
    assert article.published_at == datetime(2024, 10, 21, 23, 55, tzinfo=timezone(timedelta(hours=9)))
    assert article.published_at.utcoffset() == timedelta(hours=9)
    assert article.source == "KBS News"
    assert article.authors == ("Jeong Sae-bae",)
    assert article.url is None
    assert article.notes == ()
    assert article.body.startswith(
        "President Yoon Suk-yeol had a phone call with the NATO Secretary General to discuss joint responses"
    )
    assert article.body.endswith("security threats to Europe and South Korea.")
    assert "[Anchor]" not in article.body and "[Report]" not in article.body
    assert "입력" not in article.body and "This is KBS News" not in article.body
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) == 14
    assert paragraphs[3] == "Jeong Sae-bae reports."
    assert all(p and "\n" not in p for p in paragraphs)


# --- plain text and Markdown ---------------------------------------------------------------------


def test_txt_front_matter_gives_all_metadata(tmp_path: Path) -> None:
    text = (
        "---\n"
        "id: harbour-01\n"
        "title: Harbour bridge reopens\n"
        "source: Coastal Times\n"
        "published_at: 2024-03-05T08:30:00+01:00\n"
        "url: https://example.org/harbour\n"
        "authors: Ana Ruiz, Ben Okafor and Chen Li\n"
        "---\n"
        "The bridge reopened on Tuesday.   \r\n"
        "Traffic was light.\r\n\r\n\r\n\r\n"
        "Officials were pleased.\n"
    )
    article = only_article(parse_one(tmp_path, "news/harbour.txt", text))
    assert article == Article(
        id="harbour-01",
        title="Harbour bridge reopens",
        body="The bridge reopened on Tuesday.\nTraffic was light.\n\nOfficials were pleased.",
        source="Coastal Times",
        published_at=datetime(2024, 3, 5, 8, 30, tzinfo=timezone(timedelta(hours=1))),
        url="https://example.org/harbour",
        authors=("Ana Ruiz", "Ben Okafor", "Chen Li"),
        path="news/harbour.txt",
    )


def test_front_matter_date_key_list_authors_and_date_only(tmp_path: Path) -> None:
    text = "---\ntitle: T\ndate: 2023-01-02\nauthors: [Kim, Lee]\n---\nBody text.\n"
    article = only_article(parse_one(tmp_path, "a.txt", text))
    assert article.published_at == datetime(2023, 1, 2)
    assert article.published_at.tzinfo is None
    assert article.authors == ("Kim", "Lee")
    assert article.body == "Body text."


def test_markdown_heading_is_title_and_dropped_from_body(tmp_path: Path) -> None:
    text = "# Storm hits the coast\n\nWinds reached **120 km/h**.\n\n- roofs lost\n- roads closed\n"
    article = only_article(parse_one(tmp_path, "storm.md", text))
    assert article.title == "Storm hits the coast"
    assert article.body == "Winds reached **120 km/h**.\n\n- roofs lost\n- roads closed"
    assert article.id == "storm.md"


def test_markdown_front_matter_title_drops_repeated_heading(tmp_path: Path) -> None:
    text = "---\ntitle: Storm hits the coast\n---\n\n# Storm hits the coast\n\nWinds were strong.\n"
    article = only_article(parse_one(tmp_path, "storm.markdown", text))
    assert article.title == "Storm hits the coast"
    assert article.body == "Winds were strong."


def test_txt_iso_date_line_and_markers_and_modified_line(tmp_path: Path) -> None:
    text = (
        "Council approves budget\n"
        "2024-05-06T14:00:00Z\n"
        "Updated 2024-05-07\n"
        "\n[Anchor]\n\nThe council voted 7 to 2.\n\n[ Interview ]\n\nA resident said it was fair.\n"
    )
    article = only_article(parse_one(tmp_path, "budget.txt", text))
    assert article.title == "Council approves budget"
    assert article.published_at == datetime(2024, 5, 6, 14, 0, tzinfo=timezone.utc)
    assert article.body == "The council voted 7 to 2.\n\nA resident said it was fair."
    assert article.source is None and article.authors == ()


def test_korean_sign_off_and_modified_line(tmp_path: Path) -> None:
    text = (
        "시의회 예산 통과\n\n입력 2024.05.06 (09:10) 수정 2024.05.06 (10:00)\n\n[앵커]\n\n"
        "시의회가 예산을 통과시켰습니다.\n\nKBS 뉴스 김민지입니다.\n"
    )
    article = only_article(parse_one(tmp_path, "ko.txt", text))
    assert article.title == "시의회 예산 통과"
    assert article.published_at == datetime(2024, 5, 6, 9, 10, tzinfo=KST)
    assert article.body == "시의회가 예산을 통과시켰습니다."
    assert article.source == "KBS 뉴스"
    assert article.authors == ("김민지",)


def test_sign_off_only_recognised_as_last_paragraph(tmp_path: Path) -> None:
    text = "Title\n\nThis is Channel Four, Ann Lee.\n\nThe story goes on here.\n"
    article = only_article(parse_one(tmp_path, "a.txt", text))
    assert article.body == "This is Channel Four, Ann Lee.\n\nThe story goes on here."
    assert article.source is None


def test_overlong_first_line_is_not_a_title(tmp_path: Path) -> None:
    paragraph = "The minister said the plan would proceed. " + "More detail follows in this line. " * 10
    article = only_article(parse_one(tmp_path, "long.txt", paragraph))
    assert article.title == "The minister said the plan would proceed."
    assert article.body == paragraph.strip()
    assert article.notes == ("title missing; taken from the first sentence of the body",)


def test_control_characters_removed_zero_width_kept(tmp_path: Path) -> None:
    text = "Title\n\nA\x01B\x07C\tD\u200bE\u202eF\x0c\n"
    article = only_article(parse_one(tmp_path, "c.txt", text))
    assert article.body == "ABC\tD\u200bE\u202eF"
    late_nul = "Title\n\n" + "x" * 9000 + "\x00y"  # NUL past the 8 KB binary sniff
    assert only_article(parse_one(tmp_path, "n.txt", late_nul)).body == "x" * 9000 + "y"


def test_bad_yaml_front_matter_skipped(tmp_path: Path) -> None:
    records = parse_one(tmp_path, "bad.md", "---\ntitle: [unclosed\n---\nBody\n")
    assert len(records) == 1 and isinstance(records[0], Skip)
    assert records[0].path == "bad.md"
    assert records[0].reason.startswith("invalid YAML front matter: ")


def test_front_matter_not_a_mapping_or_unclosed(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "a.md", "---\n- a\n- b\n---\nBody\n") == [
        Skip("a.md", "invalid YAML front matter: expected a mapping, got list")
    ]
    assert parse_one(tmp_path, "b.md", "---\ntitle: x\nBody\n") == [
        Skip("b.md", "invalid front matter: no closing '---' line")
    ]


def test_front_matter_title_object_skipped(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "a.md", "---\ntitle: {a: 1}\n---\nBody\n") == [
        Skip("a.md", "front matter field 'title' is an object, expected text")
    ]


# --- JSON and JSONL ---------------------------------------------------------------------------


def test_json_object(tmp_path: Path) -> None:
    record = {
        "id": 42,
        "title": "Rates held",
        "text": "The bank held rates.\n\nMarkets rose.",
        "source": "Finance Wire",
        "published": "2024-02-01T10:00:00-05:00",
        "url": "https://example.com/rates",
        "authors": "Dana Smith and Eli Jones",
    }
    article = only_article(parse_one(tmp_path, "rates.json", json.dumps(record)))
    assert article == Article(
        id="42",
        title="Rates held",
        body="The bank held rates.\n\nMarkets rose.",
        source="Finance Wire",
        published_at=datetime(2024, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5))),
        url="https://example.com/rates",
        authors=("Dana Smith", "Eli Jones"),
        path="rates.json",
    )


def test_json_list_ids_and_item_skips(tmp_path: Path) -> None:
    items = [
        {"title": "One", "body": "First body."},
        "not an object",
        {"id": "x-3", "title": "Three", "content": "Third body."},
        {"title": "Four", "body": "   "},
        {"title": {"nested": True}, "body": "Fifth."},
    ]
    records = parse_one(tmp_path, "sub/list.json", json.dumps(items))
    assert [r.id if isinstance(r, Article) else r for r in records] == [
        "sub/list.json#0",
        Skip("sub/list.json", "JSON list item 1 is a string, expected an object"),
        "x-3",
        Skip("sub/list.json", "no body text"),
        Skip("sub/list.json", "field 'title' is an object, expected text"),
    ]


def test_json_dates_and_missing_title(tmp_path: Path) -> None:
    items = [
        {"body": "Short first sentence. Then more text.", "date": "2024-07-08"},
        {"title": "Bad date", "body": "Body.", "published_at": "next Tuesday"},
        {"title": True, "body": "Body.", "published_at": 20240101},
    ]
    first, second, third = parse_one(tmp_path, "d.json", json.dumps(items))
    assert isinstance(first, Article) and isinstance(second, Article) and isinstance(third, Article)
    assert first.title == "Short first sentence."
    assert first.notes == ("title missing; taken from the first sentence of the body",)
    assert first.published_at == datetime(2024, 7, 8) and first.published_at.tzinfo is None
    assert second.published_at is None
    assert second.notes == ("unparseable published_at 'next Tuesday'",)
    assert third.title == "True"
    assert third.published_at == datetime(2024, 1, 1)  # 20240101 is ISO 8601 basic format


def test_long_first_sentence_title_is_cut_at_a_word(tmp_path: Path) -> None:
    body = "word " * 60 + "end."
    article = only_article(parse_one(tmp_path, "w.json", json.dumps({"body": body})))
    assert article.title == ("word " * 24).strip() + "…"
    assert len(article.title) <= 120


def test_json_skip_reasons(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "a.json", '{"title": "x",') == [
        Skip("a.json", "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 15")
    ]
    assert parse_one(tmp_path, "b.json", "42") == [
        Skip("b.json", "JSON value is a number, expected an object or a list of objects")
    ]
    assert parse_one(tmp_path, "c.json", "[]") == [Skip("c.json", "JSON list is empty")]
    assert parse_one(tmp_path, "d.json", '{"title": "no body"}') == [Skip("d.json", "no body text")]
    assert parse_one(tmp_path, "e.json", "[" * 10_000) == [Skip("e.json", "invalid JSON: nesting too deep")]
    assert parse_one(tmp_path, "f.json", '{"body": "x", "authors": [{"id": 1}]}') == [
        Skip("f.json", "field 'authors' holds an object, expected names")
    ]


def test_jsonl_good_lines_bad_line_and_ids(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "A", "body": "Alpha."}),
        "",
        '{"title": "B", "body": ',
        json.dumps({"id": "c", "title": "C", "body": "Gamma."}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "E", "body": ""}),
        json.dumps({"title": "F", "body": "Zeta.", "authors": [{"name": "Fay Ng"}]}),
    ]
    records = parse_one(tmp_path, "feed.jsonl", "\n".join(lines) + "\n")
    assert records == [
        Article(id="feed.jsonl#L1", title="A", body="Alpha.", path="feed.jsonl"),
        Skip("feed.jsonl", "invalid JSON: Expecting value: column 24", line=3),
        Article(id="c", title="C", body="Gamma.", path="feed.jsonl"),
        Skip("feed.jsonl", "JSON value is an array, expected an object", line=5),
        Skip("feed.jsonl", "no body text", line=6),
        Article(id="feed.jsonl#L7", title="F", body="Zeta.", authors=("Fay Ng",), path="feed.jsonl"),
    ]


def test_jsonl_bad_utf8_line_and_bom(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + b'{"title": "A", "body": "Alpha."}\n' + b'{"body": "\xff\xfe"}\n'
    records = parse_one(tmp_path, "x.ndjson", data)
    assert records == [
        Article(id="x.ndjson#L1", title="A", body="Alpha.", path="x.ndjson"),
        Skip("x.ndjson", "not UTF-8 text: invalid byte b'\\xff\\xfe\"}' at byte 10", line=2),
    ]


def test_jsonl_utf16_with_bom(tmp_path: Path) -> None:
    data = (json.dumps({"title": "Ü", "body": "Grüße."}, ensure_ascii=False) + "\n").encode("utf-16")
    assert parse_one(tmp_path, "u.jsonl", data) == [
        Article(id="u.jsonl#L1", title="Ü", body="Grüße.", path="u.jsonl")
    ]


def test_jsonl_empty_and_blank(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "a.jsonl", b"") == [Skip("a.jsonl", "empty file")]
    assert parse_one(tmp_path, "b.jsonl", "\n  \n\n") == [Skip("b.jsonl", "empty file")]
    assert parse_one(tmp_path, "c.jsonl", b"\x00\x01{}") == [Skip("c.jsonl", "binary file")]


def test_jsonl_truncation_is_per_article_not_per_file(tmp_path: Path) -> None:
    body = "Sentence number one is here. " * 10
    lines = "\n".join(json.dumps({"title": f"T{i}", "body": body}) for i in range(50))
    records = parse_one(tmp_path, "big.jsonl", lines, max_chars=100)
    assert len(records) == 50 and all(isinstance(r, Article) for r in records)
    assert records[0].body == ("Sentence number one is here. " * 3).strip()
    assert records[0].notes == ("body truncated from 289 to 86 characters",)


# --- HTML -------------------------------------------------------------------------------------


HTML_PAGE = """<!DOCTYPE html>
<html><head>
<title>Flood warning issued | Riverside Post</title>
<meta property="og:title" content="Flood warning issued">
<meta property="og:site_name" content="Riverside Post">
<meta name="author" content="Mara Quinn">
<meta property="article:published_time" content="2024-04-02T07:15:00+02:00">
<link rel="canonical" href="https://riverside.example/flood">
<script>var tracker = "SCRIPT_MARKER_HEAD";</script>
<style>.x { color: red } STYLE_MARKER</style>
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>
<h1>Flood warning issued</h1>
<p>The river rose two metres overnight and authorities issued a flood warning for the valley.</p>
<script>document.write("SCRIPT_MARKER_BODY");</script>
<p>Residents near the bank were told to move valuables upstairs and to follow local radio updates.</p>
</article>
<noscript>NOSCRIPT_MARKER please enable JavaScript</noscript>
</body></html>
"""


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    article = only_article(parse_one(tmp_path, "web/flood.html", HTML_PAGE))
    assert article.id == "web/flood.html"
    assert article.title == "Flood warning issued"
    assert article.body == (
        "The river rose two metres overnight and authorities issued a flood warning for the valley.\n\n"
        "Residents near the bank were told to move valuables upstairs and to follow local radio updates."
    )
    assert article.published_at == datetime(2024, 4, 2, 7, 15, tzinfo=timezone(timedelta(hours=2)))
    assert article.source == "Riverside Post"
    assert article.authors == ("Mara Quinn",)
    assert article.url == "https://riverside.example/flood"
    assert "MARKER" not in article.body  # script, style and noscript text


def test_html_without_main_text_skipped(tmp_path: Path) -> None:
    page = "<html><head><script>var a = 1;</script></head><body><div></div></body></html>"
    assert parse_one(tmp_path, "empty.htm", page) == [Skip("empty.htm", "no body text")]


# --- skip reasons shared by all formats ---------------------------------------------------------


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_common_skip_reasons(tmp_path: Path, suffix: str) -> None:
    assert parse_one(tmp_path, f"empty{suffix}", b"") == [Skip(f"empty{suffix}", "empty file")]
    assert parse_one(tmp_path, f"bin{suffix}", b"abc\x00def") == [Skip(f"bin{suffix}", "binary file")]
    line = 1 if suffix in (".jsonl", ".ndjson") else None
    assert parse_one(tmp_path, f"latin{suffix}", "caf\xe9 au lait".encode("latin-1")) == [
        Skip(f"latin{suffix}", "not UTF-8 text: invalid byte b'\\xe9 au' at byte 3", line=line)
    ]


def test_utf8_bom_and_utf16_bom_text(tmp_path: Path) -> None:
    for name, data in [
        ("bom8.txt", "Title\n\nBody é.".encode("utf-8-sig")),
        ("bom16le.txt", "Title\n\nBody é.".encode("utf-16")),
        ("bom16be.txt", b"\xfe\xff" + "Title\n\nBody é.".encode("utf-16-be")),
    ]:
        article = only_article(parse_one(tmp_path, name, data))
        assert (article.title, article.body) == ("Title", "Body é."), name


def test_utf16_without_bom_is_binary(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "a.txt", "Title\n\nBody".encode("utf-16-le")) == [Skip("a.txt", "binary file")]


def test_whitespace_only_file_is_empty_and_title_only_has_no_body(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "w.txt", " \n\t\n") == [Skip("w.txt", "empty file")]
    assert parse_one(tmp_path, "t.txt", "Just a title\n\n[Anchor]\n") == [Skip("t.txt", "no body text")]


def test_unsupported_and_unreadable(tmp_path: Path) -> None:
    assert parse_one(tmp_path, "doc.pdf", b"%PDF") == [Skip("doc.pdf", "unsupported file type '.pdf'")]
    assert parse_one(tmp_path, "Makefile", b"x") == [Skip("Makefile", "unsupported file type (no suffix)")]
    missing = tmp_path / "gone.txt"
    assert list(parse_file(missing, corpus_dir=tmp_path)) == [
        Skip("gone.txt", "cannot read: No such file or directory")
    ]


def test_fifo_and_dangling_symlink(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "missing.txt")
    assert list(iter_corpus(tmp_path)) == [
        Skip("link.txt", "cannot read: No such file or directory"),
        Skip("pipe.txt", "not a regular file"),
    ]


def test_directory_with_suffix_is_not_parsed_as_file(tmp_path: Path) -> None:
    (tmp_path / "odd.txt").mkdir()
    write(tmp_path, "odd.txt/inner.txt", "T\n\nBody.")
    assert [r.id for r in iter_corpus(tmp_path)] == ["odd.txt/inner.txt"]


# --- truncation -------------------------------------------------------------------------------


def test_truncation_at_paragraph_or_sentence_end(tmp_path: Path) -> None:
    body = "First sentence here. Second sentence here.\n\nThird paragraph is long enough."
    assert truncate_body(body, 200) == (body, None)
    assert truncate_body(body, 50) == (
        "First sentence here. Second sentence here.",
        "body truncated from 75 to 42 characters",
    )
    assert truncate_body(body, 30) == ("First sentence here.", "body truncated from 75 to 20 characters")
    assert truncate_body("abcdefghij klmnop", 12) == ("abcdefghij", "body truncated from 17 to 10 characters")
    assert truncate_body("x" * 20, 5) == ("xxxxx", "body truncated from 20 to 5 characters")
    article = only_article(parse_one(tmp_path, "t.txt", "Title\n\n" + body, max_chars=50))
    assert article.body == "First sentence here. Second sentence here."
    assert article.notes == ("body truncated from 75 to 42 characters",)


def test_max_chars_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        list(iter_corpus(tmp_path, max_chars=0))


# --- corpus walking ---------------------------------------------------------------------------


def test_iter_corpus_order_ignore_rules_and_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# About this corpus\n\nNot an article.")
    write(tmp_path, "readme.txt", "Not an article either.")
    write(tmp_path, "sub/README.md", "# Sub readme\n\nThis one is an article.")
    write(tmp_path, ".hidden.txt", "T\n\nHidden.")
    write(tmp_path, ".git/config.txt", "T\n\nHidden dir.")
    write(tmp_path, "_drafts/draft.txt", "T\n\nDraft.")
    write(tmp_path, "_notes.txt", "T\n\nNote.")
    write(tmp_path, "b.json", json.dumps({"id": "same", "title": "B", "body": "Bee."}))
    write(tmp_path, "a/z.txt", "Zed\n\nZed body.")
    write(tmp_path, "c.jsonl", json.dumps({"id": "same", "title": "C", "body": "Sea."}) + "\n")
    write(tmp_path, "d.pdf", b"%PDF-1.4")
    records = list(iter_corpus(tmp_path))
    assert [r if isinstance(r, Skip) else (r.id, r.path) for r in records] == [
        ("a/z.txt", "a/z.txt"),
        ("same", "b.json"),
        Skip("c.jsonl", "duplicate article id 'same' (first seen in b.json)", line=1),
        Skip("d.pdf", "unsupported file type '.pdf'"),
        ("sub/README.md", "sub/README.md"),
    ]


def test_iter_corpus_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        list(iter_corpus(tmp_path / "nope"))


def test_iter_corpus_symlink_loop_terminates(tmp_path: Path) -> None:
    write(tmp_path, "x/a.txt", "T\n\nBody.")
    (tmp_path / "x" / "loop").symlink_to(tmp_path / "x", target_is_directory=True)
    assert [r.path for r in iter_corpus(tmp_path)] == ["x/a.txt"]


# --- helpers ------------------------------------------------------------------------------------


def test_normalise_body() -> None:
    assert normalise_body("\n\n  a  \r\nb\t\n\n\n\nc\u3000\n\n") == "a\nb\n\nc"
    assert normalise_body("x\u2028y\x85z\u200b") == "x\u2028y\x85z\u200b"


def test_split_authors() -> None:
    assert split_authors("By Ann Lee, Bo Kim and Cy Park") == ("Ann Lee", "Bo Kim", "Cy Park")
    assert split_authors("Ann Lee; Ann Lee & Alexander Brand") == ("Ann Lee", "Alexander Brand")
    assert split_authors("  ") == ()


# --- hostile names and sizes (the CLI side is in tests/test_security.py) ------------------------


def test_non_utf8_file_name_gets_an_escaped_stable_id(tmp_path: Path) -> None:
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"Title\n\nBody of the article.")
    records = list(iter_corpus(tmp_path))
    assert [(r.id, r.path) for r in records] == [("caf\\xe9.txt", "caf\\xe9.txt")]
    assert records[0].id.encode("utf-8")  # valid UTF-8, no surrogates


def test_lone_surrogates_in_json_become_replacement_characters(tmp_path: Path) -> None:
    raw = '{"id": "a\\udce9", "title": "T\\ud800", "body": "Caf\\udce9 opens today."}'
    article = only_article(parse_one(tmp_path, "s.json", raw))
    assert (article.id, article.title, article.body) == ("a\ufffd", "T\ufffd", "Caf\ufffd opens today.")


def test_big_text_file_is_read_only_up_to_its_limit(tmp_path: Path) -> None:
    # max_chars 1000 → 4 × 1000 + 65,536 bytes are read; "é" is 2 bytes, so the cut falls inside one
    # character at an odd byte count, and then the cut-off word is dropped.
    content = "Title\n\n" + ("é" * 9 + " ") * 20_000
    records = parse_one(tmp_path, "big.txt", content, max_chars=1000)
    article = only_article(records)
    assert article.body == ("é" * 9 + " ") * 99 + "é" * 9
    assert article.notes == (
        "file is 380,007 bytes; only the first 69,536 were read",
        "body truncated from 36589 to 999 characters",
    )


def test_jsonl_line_over_the_limit_is_skipped_and_the_next_line_read(tmp_path: Path) -> None:
    giant = json.dumps({"title": "Giant", "body": "word " * 40_000})  # 200 kB > 6 × 1000 + 65,536
    good = json.dumps({"id": "ok", "title": "Fine", "body": "A normal article."})
    records = parse_one(tmp_path, "f.jsonl", f"{giant}\n{good}\n", max_chars=1000)
    assert records[0] == Skip("f.jsonl", "line longer than 71,536 bytes", line=1)
    assert [r.id for r in records[1:]] == ["ok"]


def test_deep_html_fallback_leaves_out_scripts_and_styles(tmp_path: Path) -> None:
    hidden = "<script>var MARKER = 1;</script><style>p { color: red }</style><noscript>MARKER</noscript>"
    page = "<html><body>" + "<div>" * 600 + hidden + "</div>" * 600 + "</body></html>"
    assert parse_one(tmp_path, "deep.html", page) == [Skip("deep.html", "no body text")]
    page = page.replace("<noscript>", "<p>Ferries run twice a day.</p><noscript>")
    article = only_article(parse_one(tmp_path, "deep.html", page))
    assert (article.title, article.body) == ("Ferries run twice a day.", "Ferries run twice a day.")
