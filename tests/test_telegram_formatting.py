"""Unit tests: HTML formatting and splitting, access policy, rate limiting, token redaction."""

from __future__ import annotations

import io
import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Answer, Citation
from bot.telegram.access import AccessPolicy, RateDecision, RateLimiter
from bot.telegram.formatting import (
    answer_messages,
    markup_block,
    split_message,
    text_block,
    utf16_len,
    visible_text,
)
from bot.telegram.redaction import REDACTED, SecretRedactingFilter, install_redaction

try:
    from conftest import make_passage
    from fake_bot_api import TOKEN, parse_telegram_html
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.conftest import make_passage  # type: ignore[no-redef]
    from tests.fake_bot_api import TOKEN, parse_telegram_html  # type: ignore[no-redef]


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀b") == 4
    assert visible_text("<b>x &amp; y</b>") == "x & y"


def test_split_prefers_paragraphs_then_sentences() -> None:
    blocks = [text_block("First paragraph here.\n\nSecond one. It has two sentences.")]
    assert split_message(blocks, limit=25) == ["First paragraph here.", "Second one.", "It has two sentences."]
    assert split_message(blocks, limit=1000) == ["First paragraph here.\n\nSecond one. It has two sentences."]


def test_split_never_cuts_an_entity_or_a_tag() -> None:
    blocks = [text_block("&" * 30), markup_block('<a href="https://x.example/">title</a>')]
    parts = split_message(blocks, limit=40)
    assert parts == ["&amp;" * 8, "&amp;" * 8, "&amp;" * 8, "&amp;" * 6, '<a href="https://x.example/">title</a>']
    for part in parts:
        parse_telegram_html(part)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab <>&*😀.!? \n")), max_size=600),
    limit=st.integers(min_value=12, max_value=120),
)
def test_every_part_is_valid_fits_and_keeps_the_text(text: str, limit: int) -> None:
    parts = split_message([text_block(text), markup_block("<b>Sources</b>")], limit=limit)
    for part in parts:
        assert utf16_len(part) <= limit
        parse_telegram_html(part)  # raises if Telegram would reject it
    shown = "".join(visible_text(p) for p in parts)
    assert "".join(shown.split()) == "".join(text.split()) + "Sources"


def test_answer_lists_sources_in_marker_order() -> None:
    answer = Answer(question="q", text="B [2] and A [1].",
                    citations=[Citation(2, make_passage(2, url=None)), Citation(1, make_passage(1))])
    [message] = answer_messages(answer)
    assert message == (
        "B [2] and A [1].\n\n<b>Sources</b>\n"
        '[1] Harbor Gazette · 2024-03-01 · <a href="https://news.example/bridge">Council story 1</a>\n'
        "[2] Harbor Gazette · 2024-03-02 · Council story 2"
    )


def test_a_short_answer_is_the_bold_first_line() -> None:
    answer = Answer(question="Which company bought the dairy?",
                    text="Bed Bath & Beyond.\nBed Bath & Beyond <b>bought</b> it. [1]",
                    citations=[Citation(1, make_passage(1, url=None))],
                    short_answer={"text": "Bed Bath & Beyond", "n": 1, "start": 0, "end": 17})
    [message] = answer_messages(answer)
    assert message == (
        "<b>Bed Bath &amp; Beyond.</b>\nBed Bath &amp; Beyond &lt;b&gt;bought&lt;/b&gt; it. [1]\n\n<b>Sources</b>\n"
        "[1] Harbor Gazette · 2024-03-01 · Council story 1"
    )
    parse_telegram_html(message)


def test_non_http_urls_are_not_linked() -> None:
    answer = Answer(question="q", text="X [1].",
                    citations=[Citation(1, make_passage(1, url="javascript:alert(1)"))])
    assert "href" not in answer_messages(answer)[0]


def test_access_policy() -> None:
    closed = AccessPolicy.from_ids()
    assert not closed.is_open and not closed.has_allowlist and not closed.allows(1, 1)
    open_policy = AccessPolicy.from_ids(everyone=True)
    assert open_policy.is_open and open_policy.allows(1, 1)
    admins_only = AccessPolicy.from_ids(admins=[9])
    assert admins_only.has_allowlist and admins_only.allows(9, 9)
    assert not admins_only.is_open and not admins_only.allows(2, 2)
    policy = AccessPolicy.from_ids(users=[1], chats=[-5], admins=[9])
    assert not policy.is_open and policy.has_allowlist
    assert policy.allows(1, 1) and policy.allows(2, -5) and policy.allows(9, 9)
    assert not policy.allows(2, 2) and not policy.allows(None, None)
    assert policy.is_admin(9) and not policy.is_admin(1)


def test_token_bucket_per_user() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(4)] == [
        RateDecision.ALLOW, RateDecision.ALLOW, RateDecision.WARN, RateDecision.SILENT,
    ]
    assert limiter.check(2) is RateDecision.ALLOW  # another user is unaffected
    now[0] = 30.0  # one token back after 30 s at 2/minute
    assert limiter.check(1) is RateDecision.ALLOW
    assert limiter.check(1) is RateDecision.WARN  # a new episode warns again


def test_redaction_filter_removes_the_token_from_request_urls() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactingFilter([TOKEN]))
    log = logging.getLogger("test.redaction.httpx")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning('HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TOKEN}/getUpdates")
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN.replace(':', '%3A')}/getMe")
        except RuntimeError:
            log.exception("network error")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert f"https://api.telegram.org/bot{REDACTED}/getUpdates" in out
    assert f"https://api.telegram.org/bot{REDACTED}/getMe" in out
    assert TOKEN not in out and "TEST-secret-token_xyz" not in out


def test_install_redaction_quiets_httpx_and_filters_root_handlers() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    try:
        install_redaction([TOKEN], "INFO")
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        logging.getLogger("telegram.ext.Updater").warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    finally:
        root.removeHandler(handler)
        for h in root.handlers:
            h.filters = [f for f in h.filters if not isinstance(f, SecretRedactingFilter)]
        root.setLevel(old_level)
    assert stream.getvalue().strip() == f"GET https://api.telegram.org/bot{REDACTED}/getMe"
