"""HTML articles: main text and metadata extracted by trafilatura (no hand-written HTML parsing).

Body: trafilatura's main text (boilerplate, scripts, styles, <noscript> and comments removed), one paragraph
per extracted block; the first block is dropped when it repeats the title. Metadata: title,
date (kept tz-aware when the page gives an offset), author(s), site name (→ source, else the
host name) and the canonical URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from index.models import Article, Skip
from index.parsers.common import Fields, build_article, one_line, parse_date, split_authors

_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# From this depth of nested elements on, a page trafilatura finds no text in gets the plain-text fallback.
DEEP_NESTING = 200
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "svg", "iframe", "object"})
_BLOCK = frozenset(
    """address article aside blockquote body br dd details dialog div dl dt fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul""".split()  # noqa
)


def parse_html(text: str, *, path: str, max_chars: int) -> Iterator[Article | Skip]:
    """Parse one decoded .html/.htm file into a single Article (or a Skip with the reason)."""
    document = _extract(text)
    if isinstance(document, Skip) or document is None:
        plain = _PlainText.of(text)
        if plain.depth >= DEEP_NESTING and plain.blocks:
            # lxml stops at ~255 levels, so trafilatura sees no main text in a page nested deeper.
            yield build_article(
                path=path,
                default_id=path,
                body="\n\n".join(plain.blocks),
                max_chars=max_chars,
                title=plain.title or None,
                notes=(f"HTML nested {plain.depth} levels deep; indexed its plain text",),
            )
        elif isinstance(document, Skip):
            yield Skip(path, document.reason)
        else:
            yield Skip(path, "no body text")
        return
    title = one_line(_text(document, "title"))
    blocks = [one_line(block) for block in _text(document, "text").split("\n")]
    blocks = [block for block in blocks if block]
    if blocks and title and blocks[0] == title:
        blocks = blocks[1:]
    notes: list[str] = []
    published_at = None
    raw_date = _text(document, "date")
    if raw_date:
        published_at, note = parse_date(raw_date)
        if note:
            notes.append(note)
    fields = Fields(
        title=title or None,
        source=one_line(_text(document, "sitename")) or one_line(_text(document, "hostname")) or None,
        published_at=published_at,
        url=one_line(_text(document, "url")) or None,
        authors=split_authors(_text(document, "author")),
        notes=tuple(notes),
    )
    yield build_article(
        path=path,
        default_id=path,
        body="\n\n".join(blocks),
        max_chars=max_chars,
        title=fields.title,
        fields=fields,
    )


def _extract(text: str) -> Any:
    """trafilatura's Document for the page, None when it finds no main text, or a Skip when it fails."""
    import trafilatura  # lazy: costs ~0.5 s and only HTML needs it
    from trafilatura.settings import set_date_params

    date_params = dict(set_date_params(True))
    date_params["outputformat"] = _DATE_FORMAT
    try:
        return trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=date_params,
            prune_xpath="//noscript",  # trafilatura keeps <noscript> fallback text otherwise
        )
    except RecursionError:
        return Skip("", "cannot parse HTML: nesting too deep")
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup; never crash the run
        return Skip("", f"cannot parse HTML: {type(exc).__name__}: {exc}"[:200])


def _text(document: Any, name: str) -> str:
    value = getattr(document, name, None)
    return value if isinstance(value, str) else ""


class _PlainText(HTMLParser):
    """The text of a page without its markup (the stdlib tokenizer: no tree, so no depth limit).

    Text inside script, style, noscript, template and head elements is left out; block
    elements end a paragraph. Also measures the deepest nesting of open elements.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.blocks: list[str] = []
        self.depth = 0
        self._open: list[str] = []
        self._hidden = 0
        self._in_title = False
        self._current: list[str] = []

    @classmethod
    def of(cls, text: str) -> _PlainText:
        parser = cls()
        parser.feed(text)
        parser.close()
        parser._end_block()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _BLOCK:
            self._end_block()
        if tag in _VOID:
            return
        self._open.append(tag)
        self.depth = max(self.depth, len(self._open))
        if tag in _HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _BLOCK:
            self._end_block()
        if tag not in self._open:
            return
        while self._open:
            closed = self._open.pop()
            if closed in _HIDDEN:
                self._hidden -= 1
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = one_line(self.title + " " + data)
        elif not self._hidden:
            self._current.append(data)

    def _end_block(self) -> None:
        block = one_line("".join(self._current))
        if block:
            self.blocks.append(block)
        self._current = []
