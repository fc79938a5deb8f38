"""The threat model in one place: what the corpus folder and a stranger in Telegram can and cannot do.

docs/resilience.md ("Threat model") is the summary; the LLM endpoint's and the Chroma server's
cases live with their subject (tests/test_answer_robustness.py, tests/test_store_failures.py).

## The corpus folder

Whoever can write into the corpus folder (the admin, a scraper, a synced share) can put any file
there: symlinks, names that are not UTF-8, text without a single full stop, markup nested a
thousand levels deep, a 200 MB dump, a file nobody may read. They can make newsbot index
nonsense, but they cannot make it

- read outside the corpus folder: a file or folder whose real path leaves the corpus is skipped
  with `symlink leaves the corpus`, so `newsbot ask` never quotes /etc/passwd (corpus escape);
- stop a reindex: an odd name gets a `\\xNN`-escaped id, hostile content a skip reason or a note,
  and every other file is still indexed (hostile files);
- make one answer quote a whole file: text without sentence ends is cut into chunks of at most
  `max_chars` characters;
- exhaust memory: a file is read only as far as what can be kept (peak memory is measured);
- lose indexed coverage: a file that exists but cannot be read now keeps its indexed version.

These cases go through the CLI (`newsbot index`, `stats`, `ask`), in process with click's
CliRunner or as a real process where the operating system is part of the case (file-name bytes,
memory, permissions); the hashing test embedder stands in for the model. docs/resilience.md
("Hostile corpus files") states the policy.

## A stranger in Telegram, and a careless admin's bot settings

A stranger can find the bot and message it; they must get nothing from the coverage unless the
admin chose to open the bot to everyone (`NEWSBOT_ALLOW_EVERYONE=true`): an empty or blank
allowlist fails closed, and admins alone admit only those admins. The bot token is a password:
it must never appear in what `newsbot serve` / `newsbot run` print or log, at any level, whatever
goes wrong at start-up (a rejected token, an unreachable Bot API, a stray space in `.env`). A
setting the bot cannot work with (no allowlist, an unwritable feedback log) stops it at start-up
with one line, not with an apology for every vote later; the feedback log, which holds questions
and answers, is readable by its owner only.

These cases run the real `newsbot` command in a child process, with the real python-telegram-bot
stack talking to tests/fake_bot_api.py (which, like Telegram, answers 401 to any other token).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from fake_bot_api import TOKEN, FakeBotApi, callback_update, text_message
    from newsbot_env import NEWSBOT, SEED, cli, seed_cli_env, subprocess_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.fake_bot_api import TOKEN, FakeBotApi, callback_update, text_message  # type: ignore[no-redef]
    from tests.newsbot_env import NEWSBOT, SEED, cli, seed_cli_env, subprocess_env  # type: ignore[no-redef]

from bot.telegram.handlers import REFUSAL


# === The corpus folder: corpus escape and hostile files ==================================

SEED_ID = SEED.name
ESCAPE = "symlink leaves the corpus"
MAX_CHUNK_CHARS = 1000  # ChunkerConfig.max_chars
PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin hostsecret sentinel line.\n"
)


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A corpus with the seed article, a fresh data dir, the test embedder (CliRunner)."""
    return seed_cli_env(tmp_path, monkeypatch)


def cli_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def retrieved_ids(answer: dict) -> set[str]:
    return {r["article_id"] for r in answer["retrieved"]} | {c["article_id"] for c in answer["citations"]}


def write_article(path: Path, title: str, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")


# --- corpus escape ------------------------------------------------------------------------------


def test_symlinked_files_outside_the_corpus_are_skipped_and_never_quoted(
    corpus: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text(PASSWD)
    (corpus / "passwd.txt").symlink_to(host / "passwd")  # absolute target
    (corpus / "up.txt").symlink_to(Path("..") / "host" / "passwd")  # relative target climbing out
    code, report = cli_json("index")
    assert code == 0
    assert (report["added"], report["removed"]) == (1, 0)
    assert report["skipped"] == [
        {"path": "passwd.txt", "reason": ESCAPE},
        {"path": "up.txt", "reason": ESCAPE},
    ]
    code, answer = cli_json("ask", "hostsecret sentinel root daemon nologin")
    assert code == 0
    assert retrieved_ids(answer) <= {SEED_ID}
    assert "root:x" not in json.dumps(answer)
    assert cli_json("stats")[1]["articles"] == 1


def test_symlinked_folder_outside_the_corpus_is_skipped(corpus: Path, tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    write_article(etc / "hosts.txt", "Host table", "The hostsecret machine list lives here.")
    write_article(etc / "deep" / "shadow.md", "Shadow", "Every hostsecret password hash lives here.")
    (corpus / "etcdir").symlink_to(etc, target_is_directory=True)
    (corpus / "inside").mkdir()
    (corpus / "inside" / "etc-again").symlink_to(etc, target_is_directory=True)
    code, report = cli_json("index")
    assert (code, report["added"]) == (0, 1)
    assert report["skipped"] == [
        {"path": "etcdir", "reason": ESCAPE},
        {"path": "inside/etc-again", "reason": ESCAPE},
    ]
    assert retrieved_ids(cli_json("ask", "hostsecret password hash machine list")[1]) <= {SEED_ID}


def test_links_inside_the_corpus_are_followed_once_without_loops_or_duplicates(corpus: Path) -> None:
    write_article(corpus / "sub" / "inner.txt", "Harbour bridge opens", "The harbour bridge opened Monday.")
    write_article(corpus / "_private" / "extra.txt", "Ferry strike ends", "The ferry strike ended on Friday.")
    (corpus / "a-copy.txt").symlink_to(Path("sub") / "inner.txt")  # sorts before its target
    (corpus / "another-sub").symlink_to("sub", target_is_directory=True)
    (corpus / "sub" / "loop").symlink_to("..", target_is_directory=True)
    (corpus / "sub" / "self").symlink_to(".", target_is_directory=True)
    (corpus / "extra-link.txt").symlink_to(Path("_private") / "extra.txt")  # into an ignored folder
    (corpus / "extra-again.txt").symlink_to(Path("_private") / "extra.txt")
    code, report = cli_json("index")
    assert code == 0
    assert report["skipped"] == []
    assert report["added"] == 3
    stats = cli_json("stats")[1]
    assert stats["articles"] == 3
    answer = cli_json("ask", "harbour bridge opened ferry strike ended")[1]
    assert retrieved_ids(answer) == {"sub/inner.txt", "extra-again.txt", SEED_ID}
    code, again = cli_json("index")
    assert (again["added"], again["unchanged"], again["removed"]) == (0, 3, 0)


# --- hostile files ------------------------------------------------------------------------------


def run_newsbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*NEWSBOT, *args], env=env, capture_output=True, timeout=120, check=False)


def process_env(tmp_path: Path, corpus: Path) -> dict[str, str]:
    return subprocess_env(
        HF_HUB_OFFLINE="1", NEWSBOT_CORPUS_DIR=str(corpus), NEWSBOT_DATA_DIR=str(tmp_path / "data")
    )


def test_non_utf8_file_name_is_indexed_under_an_escaped_id(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    name = os.path.join(os.fsencode(corpus), b"\xe9t\xe9.txt")
    with open(name, "wb") as handle:
        handle.write("Summer festival\n\nThe summer festival drew twelve thousand visitors.\n".encode())
    write_article(corpus / "later.txt", "Library reopens", "The library reopened after repairs.")
    env = process_env(tmp_path, corpus)

    done = run_newsbot(env, "index", "--json")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = json.loads(done.stdout.decode("utf-8"))  # strict: the JSON is valid UTF-8
    assert (report["added"], report["skipped"]) == (3, [])

    done = run_newsbot(env, "index")
    assert done.returncode == 0
    assert "0 added, 0 updated, 0 removed, 3 unchanged" in done.stdout.decode("utf-8")

    done = run_newsbot(env, "ask", "--json", "How many visitors did the summer festival draw?")
    assert done.returncode == 0
    answer = json.loads(done.stdout.decode("utf-8"))
    assert answer["citations"][0]["article_id"] == "\\xe9t\\xe9.txt"
    assert answer["citations"][0]["passage"] == "The summer festival drew twelve thousand visitors."


KOREAN_WORDS = "대통령은 오늘 기자회견에서 경제 정책과 외교 현안을 설명하고 국회와의 협력을 강조했다 그리고".split()
HOSTILE_TEXTS = {
    "unpunctuated words": " ".join(f"word{i % 97} alpha beta gamma" for i in range(1750)),  # ~35k chars
    "korean without sentence ends": " ".join(KOREAN_WORDS[i % len(KOREAN_WORDS)] for i in range(2000)),
    "150 urls": " ".join(f"https://news.example/2024/10/21/story-{i}-about-the-harbour" for i in range(150)),
    "200 kB repetitive": "repeat " * 28_600,
    "no spaces at all": "가나다라마바사" * 1500,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXTS))
def test_text_without_sentence_ends_becomes_bounded_chunks(corpus: Path, kind: str) -> None:
    (corpus / SEED.name).unlink()
    body = HOSTILE_TEXTS[kind]
    write_article(corpus / "wall.txt", "Wall of text", body)
    code, report = cli_json("index")
    assert code == 0 and report["added"] == 1 and report["skipped"] == []
    assert report["chunks"] >= math.ceil(len(body) / MAX_CHUNK_CHARS)
    code, answer = cli_json("ask", "What does the wall of text say about the harbour word alpha 대통령은?")
    assert code == 0
    assert answer["retrieved"]
    assert all(len(r["passage"]) <= MAX_CHUNK_CHARS for r in answer["retrieved"])
    assert len(answer["answer"]) <= 2 * MAX_CHUNK_CHARS


def test_deeply_nested_html_falls_back_to_plain_text(corpus: Path) -> None:
    depth = 600
    page = (
        "<html><head><title>Ferry timetable changes</title>"
        "<script>var hidden = 'MARKER';</script></head><body>"
        + "<div>" * depth
        + "<p>The ferry company cut the winter timetable to four crossings a day.</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    (corpus / "deep.html").write_text(page)
    code, report = cli_json("index")
    assert (code, report["added"], report["skipped"]) == (0, 2, [])
    assert report["warnings"] == [f"deep.html: HTML nested {depth + 3} levels deep; indexed its plain text"]
    answer = cli_json("ask", "How many ferry crossings a day in the winter timetable?")[1]
    cited = answer["citations"][0]
    assert (cited["article_id"], cited["title"]) == ("deep.html", "Ferry timetable changes")
    assert cited["passage"] == "The ferry company cut the winter timetable to four crossings a day."


PEAK_RSS = textwrap.dedent(
    """
    import resource, subprocess, sys
    done = subprocess.run([*sys.argv[1:], "index", "--json"], capture_output=True)
    sys.stdout.write(done.stdout.decode())
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """
)


def index_peak_kib(tmp_path: Path, corpus: Path) -> tuple[dict, int]:
    """`newsbot index --json` as a child process: its report and its peak resident memory in KiB."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *NEWSBOT], env=process_env(tmp_path, corpus), capture_output=True,
        timeout=300,
    )
    report_line, peak = done.stdout.decode().strip().rsplit("\n", 1)
    return json.loads(report_line), int(peak)


def test_a_200_mb_file_is_not_read_whole(tmp_path: Path) -> None:
    small = tmp_path / "small"
    write_article(small / "note.txt", "Short note", "A short note about the harbour.")
    _, baseline = index_peak_kib(tmp_path / "a", small)

    big = tmp_path / "big"
    big.mkdir()
    line = b"the harbour authority met again and talked about the weather and the tides\n"
    block = b"Tide report\n\n" + line * (1_048_576 // len(line))
    with open(big / "dump.txt", "wb") as handle:
        handle.write(block)
        for _ in range(199):
            handle.write(line * (1_048_576 // len(line)))
    size = (big / "dump.txt").stat().st_size
    assert size > 200_000_000
    report, peak = index_peak_kib(tmp_path / "b", big)
    (big / "dump.txt").unlink()
    assert report["added"] == 1
    # Reading it whole costs at least 400 MB (bytes + decoded text); the prefix is under 1 MB.
    assert peak - baseline < 100 * 1024, f"peak {peak} KiB vs {baseline} KiB for a small corpus"
    assert report["warnings"][0] == f"dump.txt: file is {size:,} bytes; only the first 865,536 were read"


def test_giant_jsonl_line_and_oversized_json_are_skipped_with_reasons(corpus: Path) -> None:
    record = {"id": "ok", "title": "Council meets", "body": "The council met on Tuesday."}
    with open(corpus / "feed.jsonl", "w") as handle:
        handle.write(json.dumps({"title": "Giant", "body": "x " * 2_000_000}) + "\n")
        handle.write(json.dumps(record) + "\n")
    with open(corpus / "dump.json", "wb") as handle:
        handle.truncate(65 * 1_048_576)  # sparse: only its size matters
    code, report = cli_json("index")
    assert (code, report["added"]) == (0, 2)
    assert report["skipped"] == [
        {
            "path": "dump.json",
            "reason": "file too large: 68,157,440 bytes (a .json file is read whole, up to 67,108,864 bytes; "
            "split it or use .jsonl)",
        },
        {"path": "feed.jsonl", "reason": "line longer than 1,265,536 bytes", "line": 1},
    ]


def dropped_read_access() -> list[str]:
    """A command prefix that runs a child without root's power to read any file, or skips the test."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop CAP_DAC_OVERRIDE")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_file_that_cannot_be_read_now_keeps_its_indexed_version(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    write_article(corpus / "budget.txt", "Council passes budget", "The council passed the budget.")
    write_article(corpus / "desk" / "a.txt", "Ferry strike ends", "The ferry strike ended on Friday.")
    write_article(corpus / "desk" / "b.txt", "Library reopens", "The library reopened after repairs.")
    for n in range(3):  # so that main's removal of three articles is not refused as "most of the index"
        write_article(corpus / f"wire-{n}.txt", f"Wire story {n}", f"Wire story {n} about the harbour.")
    env = process_env(tmp_path, corpus)
    prefix = dropped_read_access()
    first = run_newsbot(env, "index", "--json")
    assert json.loads(first.stdout)["added"] == 7

    (corpus / "budget.txt").chmod(0)
    (corpus / "desk").chmod(0)
    try:
        done = subprocess.run(
            [*prefix, *NEWSBOT, "index", "--json"],
            env=env, capture_output=True, timeout=120, check=False,
        )
        asked = subprocess.run(
            [*prefix, *NEWSBOT, "ask", "--json", "When did the ferry strike end?"],
            env=env, capture_output=True, timeout=120, check=False,
        )
    finally:
        (corpus / "budget.txt").chmod(0o644)
        (corpus / "desk").chmod(0o755)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = json.loads(done.stdout)
    assert (report["added"], report["removed"], report["unchanged"]) == (0, 0, 4)
    assert report["skipped"] == [
        {"path": "budget.txt", "reason": "cannot read: Permission denied (the indexed version is kept)"},
        {"path": "desk", "reason": "cannot read: Permission denied (2 indexed articles are kept)"},
    ]
    assert json.loads(asked.stdout)["citations"][0]["article_id"] == "desk/a.txt"
    stats = json.loads(run_newsbot(env, "stats", "--json").stdout)
    assert stats["articles"] == 7
    readable = json.loads(run_newsbot(env, "index", "--json").stdout)
    assert (readable["unchanged"], readable["skipped"]) == (7, [])


# === A stranger in Telegram: the token, the allowlist, the feedback log =====================

ADMIN, MEMBER, STRANGER = 101, 102, 666
REJECTED_TOKEN = "999999:SECRET-rejected_token"
QUESTION = "Who did President Yoon have a phone call with?"  # the seed article answers it
COMMANDS = ["serve", "run"]
PREFIX = {"serve": "newsbot serve", "run": "newsbot"}
TIMEOUT = 60
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(poll_seconds=0.2) as api:
        yield api


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A corpus holding the seed article; the data dir and feedback log go next to it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    return tmp_path


def bot_env(home: Path, api_url: str, **settings: str) -> dict[str, str]:
    """A bot's environment: the seed corpus, a fresh data dir, DEBUG logs, the fake Bot API."""
    values = {
        "NEWSBOT_CORPUS_DIR": str(home / "corpus"),
        "NEWSBOT_DATA_DIR": str(home / "data"),
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_BASE_URL": api_url,
        "NEWSBOT_ALLOWED_USER_IDS": str(MEMBER),
        "NEWSBOT_ADMIN_USER_IDS": str(ADMIN),
        "NEWSBOT_LOG_LEVEL": "DEBUG",
    }
    values.update(settings)
    return subprocess_env(**values)


def newsbot(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a newsbot command that is expected to stop by itself."""
    return subprocess.run([*NEWSBOT, command], env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)


@contextmanager
def running_bot(command: str, env: dict[str, str], cwd: Path, api: FakeBotApi) -> Iterator[dict[str, str]]:
    """A bot started by `command`, up (commands published) when the block starts, stopped with
    SIGTERM after it; `out["text"]` then holds everything it printed (stdout and stderr)."""
    out: dict[str, str] = {}
    log_path = cwd / f"{command}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*NEWSBOT, command], env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + TIMEOUT
            while not api.calls_to("setMyCommands"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the bot did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.05)
            yield out
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            out["text"] = log_path.read_text()
    assert proc.returncode == 0, out["text"][-3000:]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def messages(output: str) -> list[str]:
    """What a command printed for its user: the lines that are not log records."""
    return [line for line in output.splitlines() if not LOG_LINE.match(line)]


def assert_secret_absent(text: str, token: str = TOKEN) -> None:
    secret_part = token.split(":", 1)[1].strip()
    assert token.strip() not in text and secret_part not in text, text[-3000:]


def sent_to(api: FakeBotApi, chat_id: int) -> list[str]:
    return [c.params["text"] for c in api.calls_to("sendMessage") if c.params["chat_id"] == chat_id]


# -- the token never prints -------------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_a_rejected_token_is_one_line_exit_2_and_never_printed(command, home, bot_api) -> None:
    done = newsbot(command, bot_env(home, bot_api.base_url, NEWSBOT_TELEGRAM_TOKEN=REJECTED_TOKEN), home)
    assert (done.returncode, done.stdout, messages(done.stderr)) == (
        2, "", [f"{PREFIX[command]}: Telegram rejected the bot token (check NEWSBOT_TELEGRAM_TOKEN)"]
    )
    assert "DEBUG telegram.Bot: Set Bot API URL: " + bot_api.base_url + "[REDACTED]" in done.stderr
    assert_secret_absent(done.stderr, REJECTED_TOKEN)
    assert [c.method for c in bot_api.calls] == ["getMe"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreachable_bot_api_is_one_line_exit_4_naming_the_url_without_the_token(command, home) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/bot"
    done = newsbot(command, bot_env(home, base_url), home)
    assert (done.returncode, done.stdout) == (4, ""), done.stderr
    [line] = messages(done.stderr)
    where = f"{PREFIX[command]}: cannot reach the Telegram Bot API at {base_url}[REDACTED]: "
    assert line.startswith(where), line
    assert_secret_absent(done.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_token_with_stray_spaces_is_used_stripped_and_never_logged_at_debug(command, home, bot_api) -> None:
    env = bot_env(home, bot_api.base_url, NEWSBOT_TELEGRAM_TOKEN=f"  {TOKEN} \t")
    with running_bot(command, env, home, bot_api) as out:
        bot_api.enqueue(text_message(QUESTION, user_id=MEMBER))
        bot_api.wait_for_sync("sendMessage", timeout=TIMEOUT)
    assert "DEBUG" in out["text"] and "[REDACTED]" in out["text"]  # PTB logged its Bot API URL, redacted
    assert_secret_absent(out["text"])


# -- an allowlist is required; admins alone admit only the admins -------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("users, chats", [("", ""), ("  ", " , "), (" ;, ", "")])
def test_a_bot_without_an_allowlist_refuses_to_start(command, users, chats, home, bot_api) -> None:
    env = bot_env(home, bot_api.base_url, NEWSBOT_ALLOWED_USER_IDS=users, NEWSBOT_ALLOWED_CHAT_IDS=chats,
                  NEWSBOT_ADMIN_USER_IDS="")
    done = newsbot(command, env, home)
    assert (done.returncode, done.stdout, messages(done.stderr)) == (
        2, "",
        [f"{PREFIX[command]}: no allowlist is set: put the Telegram user ids that may ask in "
         "NEWSBOT_ALLOWED_USER_IDS (or group chat ids in NEWSBOT_ALLOWED_CHAT_IDS), or set "
         "NEWSBOT_ALLOW_EVERYONE=true to answer anyone who finds the bot."],
    )
    assert bot_api.calls == []


def test_allow_everyone_opens_the_bot_explicitly_and_says_so(home, bot_api) -> None:
    env = bot_env(home, bot_api.base_url, NEWSBOT_ALLOWED_USER_IDS="", NEWSBOT_ADMIN_USER_IDS="",
                  NEWSBOT_ALLOW_EVERYONE="true")
    with running_bot("serve", env, home, bot_api) as out:
        bot_api.enqueue(text_message(QUESTION, user_id=STRANGER))
        [reply] = bot_api.wait_for_sync("sendMessage", timeout=TIMEOUT)
    assert reply.params["chat_id"] == STRANGER and reply.params["text"] != REFUSAL
    assert "Rutte" in reply.params["text"]
    assert ("WARNING bot.telegram.app: NEWSBOT_ALLOW_EVERYONE=true: the bot will answer ANYONE on Telegram "
            "who finds it.") in out["text"]


def test_admins_alone_admit_only_the_admins(home, bot_api) -> None:
    env = bot_env(home, bot_api.base_url, NEWSBOT_ALLOWED_USER_IDS=" ", NEWSBOT_ADMIN_USER_IDS=str(ADMIN))
    with running_bot("serve", env, home, bot_api):
        bot_api.enqueue(text_message(QUESTION, user_id=STRANGER))
        bot_api.enqueue(text_message(QUESTION, user_id=ADMIN))
        bot_api.wait_for_sync("sendMessage", 2, timeout=TIMEOUT)
    assert sent_to(bot_api, STRANGER) == [REFUSAL]
    [answer] = sent_to(bot_api, ADMIN)
    assert "Rutte" in answer


# -- the feedback log ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", ["a directory", "under a file", "under a file, by default"])
def test_an_unwritable_feedback_log_stops_the_bot_at_start_up(command, case, home, bot_api) -> None:
    settings: dict[str, str] = {}
    if case == "a directory":
        log = home / "votes"
        log.mkdir()
    elif case == "under a file":
        (home / "not-a-folder").write_text("x")
        log = home / "not-a-folder" / "feedback.jsonl"
    else:  # NEWSBOT_FEEDBACK_LOG unset: <data dir>/feedback.jsonl, a data dir that exists
        (home / "data").mkdir()
        log = home / "data" / "feedback.jsonl"
        log.mkdir()
    if case != "under a file, by default":
        settings["NEWSBOT_FEEDBACK_LOG"] = str(log)
    reason = "Is a directory" if log.is_dir() else "Not a directory"
    done = newsbot(command, bot_env(home, bot_api.base_url, **settings), home)
    assert (done.returncode, done.stdout, messages(done.stderr)) == (
        2, "", [f"{PREFIX[command]}: cannot write the feedback log {log} (NEWSBOT_FEEDBACK_LOG): {reason}"]
    )
    assert bot_api.calls == []


@pytest.mark.parametrize("command", COMMANDS)
def test_the_feedback_log_is_created_for_its_owner_only_and_records_votes(command, home, bot_api) -> None:
    log = home / "private" / "feedback.jsonl"
    env = bot_env(home, bot_api.base_url, NEWSBOT_FEEDBACK_LOG=str(log))
    with running_bot(command, env, home, bot_api):
        bot_api.enqueue(text_message(QUESTION, user_id=MEMBER))
        [answer] = bot_api.wait_for_sync("sendMessage", timeout=TIMEOUT)
        buttons = [b for row in answer.params["reply_markup"]["inline_keyboard"] for b in row]
        [up] = [b["callback_data"] for b in buttons if b["text"] == "👍"]
        bot_api.enqueue(callback_update(up, user_id=MEMBER))
        [thanks] = bot_api.wait_for_sync("answerCallbackQuery", timeout=TIMEOUT)
    assert thanks.params["text"] == "Thanks for the feedback!"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log.with_name("feedback.jsonl.salt")).st_mode) == 0o600
    [vote] = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert (vote["vote"], vote["question"], vote["user"] != str(MEMBER)) == ("up", QUESTION, True)


@pytest.mark.parametrize("token", [None, "  \t"])
def test_run_without_a_token_still_opens_the_repl_with_no_allowlist(token, home) -> None:
    """`make run` on a fresh machine: no token (or one that is only spaces) means the REPL, not the bot."""
    env = bot_env(home, "http://127.0.0.1:1/bot", NEWSBOT_ALLOWED_USER_IDS="", NEWSBOT_ADMIN_USER_IDS="")
    del env["NEWSBOT_TELEGRAM_TOKEN"]
    if token is not None:
        env["NEWSBOT_TELEGRAM_TOKEN"] = token
    done = subprocess.run([*NEWSBOT, "run"], env=env, cwd=home, input=QUESTION + "\n",
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "Mark Rutte" in done.stdout
