"""Threat model: a stranger in Telegram, and a careless admin's bot settings.

A stranger can find the bot and message it; they must get nothing from the coverage unless the
admin chose to open the bot to everyone (`NEWSBOT_ALLOW_EVERYONE=true`): an empty or blank
allowlist fails closed, and admins alone admit only those admins. The bot token is a password:
it must never appear in what `newsbot serve` / `newsbot run` print or log, at any level, whatever
goes wrong at start-up (a rejected token, an unreachable Bot API, a stray space in `.env`). A
setting the bot cannot work with (no allowlist, an unwritable feedback log) stops it at start-up
with one line, not with an apology for every vote later; the feedback log, which holds questions
and answers, is readable by its owner only.

Every test runs the real `newsbot` command in a child process, with the real python-telegram-bot
stack talking to tests/fake_bot_api.py (which, like Telegram, answers 401 to any other token).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

try:
    from fake_bot_api import TOKEN, FakeBotApi, callback_update, text_message
    from newsbot_env import NEWSBOT, SEED, subprocess_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.fake_bot_api import TOKEN, FakeBotApi, callback_update, text_message  # type: ignore[no-redef]
    from tests.newsbot_env import NEWSBOT, SEED, subprocess_env  # type: ignore[no-redef]

from bot.telegram.handlers import REFUSAL

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
