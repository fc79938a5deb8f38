"""`newsbot fetch` and `newsbot add` against a real HTTP server on 127.0.0.1 (tests/feed_server.py).

The site serves an RSS 2.0 and an Atom feed in real-world shapes (CDATA, HTML in titles and
descriptions, relative links, missing dates), article pages, robots.txt, and every failure the
issue lists; the tests assert exactly which articles land in the corpus with which metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from feed_server import BRIDGE_LEAD, FILLER, Route, news_site, page, rss, rss_items
    from newsbot_env import cli, seed_cli_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.feed_server import BRIDGE_LEAD, FILLER, Route, news_site, page, rss, rss_items  # type: ignore[no-redef]
    from tests.newsbot_env import cli, seed_cli_env  # type: ignore[no-redef]

from index.fetch.corpus import article_id

@pytest.fixture
def site():
    server = news_site()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, monkeypatch, site):
    corpus = seed_cli_env(tmp_path, monkeypatch)
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "1")
    monkeypatch.setenv("NEWSBOT_FETCH_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSBOT_FETCH_MAX_BYTES", "500000")
    (corpus / "feeds.toml").write_text(
        f'[[feeds]]\nurl = "{site.url("/rss.xml")}"\nsource = "Daily Planet"\n\n'
        f'[[feeds]]\nurl = "{site.url("/atom.xml")}"\nsource = "Coast Courier"\n\n'
        f'[[feeds]]\nurl = "{site.url("/broken.xml")}"\nsource = "Broken Times"\n\n'
        f'[[feeds]]\nurl = "{site.url("/down.xml")}"\nsource = "Down Daily"\n'
    )
    return corpus


def run_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.stdout.strip(), result.stderr
    return result.exit_code, json.loads(result.stdout)


def fetched_files(corpus: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((corpus / "fetched").glob("*.json"))}


def test_fetch_stores_exactly_the_readable_articles_and_reports_every_failure(env, site):
    code, out = run_json("fetch")
    assert code == 0
    base = site.base
    bridge, tram, harbour, future = (article_id(base + p) for p in
                                     ("/news/bridge", "/news/tram", "/news/harbour", "/news/future"))
    assert [i["url"] for i in out["fetched"]] == [
        base + "/news/bridge", base + "/news/tram", base + "/news/future", base + "/news/harbour"]
    assert out["fetched"][0] == {"url": base + "/news/bridge", "path": f"fetched/{bridge}.json",
                                 "title": "Council backs new Elm Street bridge"}
    assert out["fetched"][1]["notes"] == ["no publication date found"]
    assert out["fetched"][2]["notes"] == ["publication date 2099-01-01 is in the future; ignored",
                                          "no publication date found"]
    assert (out["updated"], out["unchanged"]) == ([], [])
    assert {f["url"]: f["reason"] for f in out["failed"]} == {
        base + "/news/missing": "HTTP 404",
        base + "/news/error": "HTTP 500",
        base + "/news/slow": "timed out after 1 s",
        base + "/news/loop-a": "redirect loop",
        base + "/news/huge": "too large (50.0 MB; the limit is 0.5 MB)",
        base + "/news/endless": "too large (more than 0.5 MB)",
        base + "/news/photo": "not an HTML page (image/png)",
        base + "/news/stub": "article text too short (33 characters; a paywall or teaser?)",
        base + "/news/empty": "article text too short (4 characters; a paywall or teaser?)",
        base + "/private/memo": "disallowed by robots.txt of " + base.removeprefix("http://"),
        base + "/broken.xml": out["failed"][-2]["reason"],
        base + "/down.xml": "feed: HTTP 500",
    }
    assert out["failed"][-2]["reason"].startswith("feed: malformed feed: ")
    assert [(f["source"], f["status"]) for f in out["feeds"]] == [
        ("Daily Planet", "ok"), ("Coast Courier", "ok"), ("Broken Times", "failed"), ("Down Daily", "failed")]
    assert out["index"]["added"] == 5 and out["index"]["skipped"] == []  # with the seed article

    files = fetched_files(env)
    assert sorted(files) == sorted(f"{a}.json" for a in (bridge, tram, harbour, future))
    b = files[f"{bridge}.json"]
    assert {k: b[k] for k in ("id", "title", "source", "published_at", "url", "authors", "feed")} == {
        "id": bridge,
        "title": "Council backs new Elm Street bridge",
        "source": "Daily Planet",
        "published_at": "2026-11-30T09:15:00+00:00",  # the feed's date (it has the time)
        "url": base + "/news/bridge",
        "authors": ["Ann Lee"],
        "feed": base + "/rss.xml",
    }
    assert b["body"].startswith(BRIDGE_LEAD + "\n\n" + FILLER)
    assert "Home" not in b["body"] and "rights reserved" not in b["body"]
    assert b["fetched_at"].endswith("+00:00")
    t = files[f"{tram}.json"]
    assert (t["source"], t["published_at"], t["authors"]) == ("Daily Planet", None, [])
    h = files[f"{harbour}.json"]
    assert (h["title"], h["source"], h["authors"], h["published_at"]) == (
        "Harbour to be dredged", "Coast Courier", ["Bo Kim", "Cy Park"], "2026-12-01T07:00:00+00:00")
    assert files[f"{future}.json"]["published_at"] is None
    assert {"newsbot/0.1 (newsroom question answering; feed reader)"} == site.agents
    # No temporary files or state left where the indexer would read them.
    assert sorted(p.name for p in env.iterdir()) == [
        ".newsbot-fetch.json", ".newsbot-fetch.lock", "feeds.toml", "fetched", "kbs-2024-10-21-yoon-nato-rutte.txt"]


def test_second_fetch_transfers_nothing_and_a_changed_page_updates_one_file(env, site):
    run_json("fetch")
    files_before = fetched_files(env)
    site.log.clear()

    code, out = run_json("fetch")
    assert code == 0
    assert site.log == [("/rss.xml", 304), ("/atom.xml", 304)]  # failing feeds back off; no page is asked for
    assert (out["fetched"], out["updated"], out["unchanged"]) == ([], [], [])
    assert [f["url"] for f in out["failed"]] == [site.url("/broken.xml"), site.url("/down.xml")]
    assert all("backing off after 1 failed attempt(s)" in f["reason"] for f in out["failed"])
    assert out["index"] is None
    assert fetched_files(env) == files_before

    # The story is updated: a new page and a new feed entry date.
    site.routes["/news/bridge"] = Route(
        page("Council backs new Elm Street bridge", BRIDGE_LEAD + " Work starts in March.",
             author="Ann Lee", canonical=site.url("/news/bridge")), etag='"bridge-2"')
    site.routes["/rss.xml"] = Route(rss(rss_items("Tue, 01 Dec 2026 10:00:00 +0000")),
                                    content_type="application/rss+xml", etag='"rss-2"')
    site.log.clear()
    code, out = run_json("fetch")
    assert code == 0
    bridge = article_id(site.url("/news/bridge"))
    assert [i["path"] for i in out["updated"]] == [f"fetched/{bridge}.json"]
    assert out["fetched"] == []
    assert [i["url"] for i in out["unchanged"]] == [site.url("/news/tram"), site.url("/news/future")]
    assert out["index"]["updated"] == 1 and out["index"]["added"] == 0
    after = fetched_files(env)
    assert [name for name in after if after[name] != files_before[name]] == [f"{bridge}.json"]
    assert after[f"{bridge}.json"]["published_at"] == "2026-12-01T10:00:00+00:00"
    assert "Work starts in March." in after[f"{bridge}.json"]["body"]
    # The unchanged pages were not asked for again; the failed entries were retried.
    asked = [path for path, _ in site.log]
    assert "/news/tram" not in asked and "/news/harbour" not in asked and "/news/missing" in asked


def test_ask_answers_from_a_just_fetched_article(env, site):
    run_json("fetch")
    code, answer = run_json("ask", "What did the city council vote to replace?")
    assert code == 0
    assert answer["citations"], answer
    first = answer["citations"][0]
    assert (first["url"], first["source"]) == (site.url("/news/bridge"), "Daily Planet")
    assert "Elm Street bridge" in answer["answer"]


def test_add_stores_and_indexes_one_article_then_reports_unchanged(env, site):
    url = site.url("/news/harbour")
    code, out = run_json("add", url, site.url("/news/missing"))
    assert code == 0
    aid = article_id(url)
    assert out["added"] == [{"url": url, "path": f"fetched/{aid}.json", "title": "Harbour to be dredged",
                             "notes": ["no publication date found"]}]
    assert out["failed"] == [{"url": site.url("/news/missing"), "reason": "HTTP 404"}]
    assert out["index"]["added"] == 2  # the seed article and the new one
    stored = fetched_files(env)[f"{aid}.json"]
    assert (stored["source"], stored["feed"]) == ("Coast Courier", None)  # the page's own site name

    site.log.clear()
    code, out = run_json("add", url)
    assert (out["added"], out["updated"], [i["path"] for i in out["unchanged"]]) == ([], [], [f"fetched/{aid}.json"])
    assert site.log == [("/robots.txt", 200), ("/news/harbour", 304)]  # robots.txt is read once per run
    assert out["index"] is None


def test_add_refuses_arguments_that_are_not_links(env):
    result = CliRunner().invoke(cli, ["add", "harbour.html"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == "newsbot: not an http(s) link: 'harbour.html'\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "newsbot: no feeds file at {path} (see docs/feeds.md)\n"),
        ('[[feeds]]\nurl = "ftp://x"\nsource = "X"\n', "newsbot: feeds file {path}, feed 1: url must be an http(s) address (got 'ftp://x')\n"),
        ('[[feeds]]\nurl = "http://x/rss"\n', "newsbot: feeds file {path}, feed 1: source (the outlet name) is missing\n"),
        ('[[feeds]\nurl = 1', None),
    ],
)
def test_a_bad_feeds_file_is_exit_code_2_with_one_line(env, content, message):
    path = env / "feeds.toml"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    result = CliRunner().invoke(cli, ["fetch"], catch_exceptions=False)
    assert result.exit_code == 2
    if message is None:
        assert result.stderr.startswith(f"newsbot: feeds file {path} is not valid TOML: ")
        assert result.stderr.count("\n") == 1
    else:
        assert result.stderr == message.format(path=path)


def test_the_indexer_ignores_the_feeds_file_and_the_fetch_state(env, site):
    run_json("fetch")
    code, out = run_json("index")
    assert code == 0
    assert (out["unchanged"], out["skipped"]) == (5, [])


def test_add_prints_one_line_per_article_and_failure(env, site):
    url = site.url("/news/bridge")
    result = CliRunner().invoke(cli, ["add", url, site.url("/news/photo")], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "1 added, 0 updated, 0 unchanged, 1 failed.",
        f"  - added: Daily Planet · 2026-11-30 · Council backs new Elm Street bridge — 1 passage "
        f"(fetched/{article_id(url)}.json)",
        f"  - failed: {site.url('/news/photo')}: not an HTML page (image/png)",
        lines[3],
    ]
    assert lines[3].startswith("Reindex done in ") and lines[3].endswith(": 2 added, 0 updated, 0 removed, "
                                                                         "0 unchanged; 5 chunks in the index.")


def only_feed(env: Path, site, path: str, source: str) -> None:
    (env / "feeds.toml").write_text(f'[[feeds]]\nurl = "{site.url(path)}"\nsource = "{source}"\n')


def test_a_failing_feed_backs_off_is_retried_later_and_never_deletes_articles(env, site):
    only_feed(env, site, "/atom.xml", "Coast Courier")
    code, out = run_json("fetch")
    assert [i["title"] for i in out["fetched"]] == ["Harbour to be dredged"]
    before = fetched_files(env)

    site.routes["/atom.xml"] = Route(b"gone", status=500, content_type="text/plain")
    code, out = run_json("fetch")
    assert code == 0
    assert out["failed"] == [{"url": site.url("/atom.xml"), "reason": "feed: HTTP 500"}]
    code, out = run_json("fetch")
    [failure] = out["failed"]
    assert failure["reason"].startswith("feed: backing off after 1 failed attempt(s) (last: HTTP 500); next try after ")
    assert fetched_files(env) == before

    # Once the back-off has passed, the feed is asked again; an empty feed removes nothing.
    state_file = env / ".newsbot-fetch.json"
    state = json.loads(state_file.read_text())
    state["feeds"][site.url("/atom.xml")]["retry_after"] = "2000-01-01T00:00:00+00:00"
    state_file.write_text(json.dumps(state))
    site.routes["/atom.xml"] = Route(ATOM_EMPTY, content_type="application/atom+xml")
    site.log.clear()
    code, out = run_json("fetch")
    assert (code, out["failed"], site.log) == (0, [], [("/atom.xml", 200)])
    assert fetched_files(env) == before
    code, out = run_json("index")
    assert (out["removed"], out["unchanged"]) == (0, 2)


ATOM_EMPTY = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Coast</title><id>urn:coast</id>
<updated>2026-12-02T07:00:00Z</updated></feed>"""


def test_a_json_feed_is_followed_too(env, site):
    site.routes["/feed.json"] = Route(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Coast",
        "items": [{"id": "h1", "url": "/news/harbour", "title": "Harbour <i>dredging</i>",
                   "date_published": "2026-12-01T06:30:00Z"},
                  {"id": "no-link", "title": "A note without a page"}],
    }).encode(), content_type="application/feed+json")
    only_feed(env, site, "/feed.json", "Coast Courier")
    code, out = run_json("fetch")
    assert code == 0
    assert [(i["url"], i["title"]) for i in out["fetched"]] == [(site.url("/news/harbour"), "Harbour dredging")]
    [stored] = fetched_files(env).values()
    assert (stored["published_at"], stored["source"]) == ("2026-12-01T06:30:00+00:00", "Coast Courier")


def test_a_second_fetch_at_the_same_time_is_busy(env, site):
    from filelock import FileLock

    with FileLock(str(env / ".newsbot-fetch.lock"), timeout=0, thread_local=False):
        result = CliRunner().invoke(cli, ["fetch"], catch_exceptions=False)
    assert result.exit_code == 5
    assert result.stderr == "newsbot: busy: another fetch is running on this corpus folder\n"


def test_a_damaged_state_file_is_set_aside_and_nothing_is_lost(env, site):
    only_feed(env, site, "/atom.xml", "Coast Courier")
    run_json("fetch")
    before = fetched_files(env)
    (env / ".newsbot-fetch.json").write_text("{not json")
    code, out = run_json("fetch")
    assert code == 0
    assert (out["fetched"], out["updated"], [i["title"] for i in out["unchanged"]]) == (
        [], [], ["Harbour to be dredged"])
    assert fetched_files(env) == before
    assert (env / ".newsbot-fetch.json.bad").read_text() == "{not json"


@pytest.mark.parametrize(
    ("address", "refused"),
    [("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.1", True),
     ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("::1", True), ("fd00::1", True),
     ("fe80::1", True), ("::ffff:127.0.0.1", True), ("224.0.0.1", True), ("93.184.215.14", False),
     ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False)],
)
def test_the_public_address_rule(address, refused):
    from index.fetch.errors import AddressRefused
    from index.fetch.http import check_public

    if refused:
        with pytest.raises(AddressRefused, match=r"^links to local or private addresses are not fetched"):
            check_public("https://news.example/x", lambda host: [address])
    else:
        check_public("https://news.example/x", lambda host: [address])


def test_last_modified_is_sent_back_and_requests_to_one_host_are_spaced(env, site, monkeypatch):
    monkeypatch.setenv("NEWSBOT_FETCH_HOST_DELAY", "0.3")
    stamp = "Mon, 30 Nov 2026 09:00:00 GMT"
    site.routes["/news/harbour"] = Route(site.routes["/news/harbour"].body, last_modified=stamp)
    urls = [site.url("/news/harbour"), site.url("/news/tram")]
    code, out = run_json("add", *urls)
    assert [i["url"] for i in out["added"]] == urls
    times = [t for _, t in site.arrivals]
    assert [p for p, _ in site.arrivals] == ["/robots.txt", "/news/harbour", "/news/tram"]
    assert all(later - earlier >= 0.29 for earlier, later in zip(times, times[1:]))

    site.log.clear()
    code, out = run_json("add", site.url("/news/harbour"))
    assert [i["url"] for i in out["unchanged"]] == [site.url("/news/harbour")]
    assert site.log == [("/robots.txt", 200), ("/news/harbour", 304)]
