"""`newsbot serve`: start-up errors, and a real run (subprocess) against the fake Bot API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.serve import serve_command

try:
    from fake_bot_api import TOKEN, FakeBotApi, text_message
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.fake_bot_api import TOKEN, FakeBotApi, text_message  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\S+ (\S+): .*)$")


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No NEWSBOT_* variables and no .env in the working directory."""
    for name in list(os.environ):
        if name.startswith("NEWSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _serve(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(serve_command, args, env=env)
    return result.exit_code, result.stderr


def test_missing_token_exits_2(clean_env: Path) -> None:
    code, err = _serve([], {})
    assert code == 2
    assert err.strip() == ("newsbot serve: NEWSBOT_TELEGRAM_TOKEN is not set; create a bot with @BotFather "
                           "and put its token there.")


def test_bad_setting_is_one_line_and_exits_2(clean_env: Path) -> None:
    code, err = _serve([], {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_RATE_LIMIT_PER_MINUTE": "0"})
    assert (code, err) == (
        2,
        "newsbot serve: bad setting: NEWSBOT_RATE_LIMIT_PER_MINUTE: Input should be greater than or equal to 1 "
        "(got '0')\n",
    )


def test_webhook_mode_requires_a_valid_secret(clean_env: Path) -> None:
    assert _serve(["--webhook-url", "https://bot.example/tg"], {"NEWSBOT_TELEGRAM_TOKEN": TOKEN}) == (
        2,
        "newsbot serve: webhook mode needs NEWSBOT_TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, "
        "0-9, _ and -); Telegram sends it with every update so forged updates are rejected.\n",
    )
    assert _serve(["--webhook-url", "https://bot.example/tg"],
                  {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "has spaces!"}) == (
        2,
        "newsbot serve: NEWSBOT_TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters of A-Z, a-z, 0-9, _ "
        "and -.\n",
    )
    assert _serve(["--webhook-url", "bot.example/tg"],
                  {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "ok_secret"}) == (
        2,
        "newsbot serve: --webhook-url must be an absolute URL like https://bot.example.com/telegram "
        "(got 'bot.example/tg')\n",
    )


RUNNER = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeNewsroom

from bot.cli import main
from bot.wiring import Wiring

def build_newsroom(settings):
    print("build_newsroom called", file=sys.stderr, flush=True)
    return FakeNewsroom()

sys.argv = ["newsbot", "serve"]
main(Wiring(newsroom_factory=build_newsroom))  # the fake core instead of the real model and index
"""


def logged_lines(err: str, *, own: bool = False) -> list[str]:
    """Log lines as "LEVEL logger: message" (no timestamp) and other lines as they are;
    with `own`, only newsbot's (`bot.*` loggers) and the other lines."""
    lines = []
    for line in err.splitlines():
        match = LOG_LINE.match(line)
        if match is None:
            lines.append(line)
        elif not own or match[2].startswith("bot."):
            lines.append(match[1])
    return lines


def test_serve_polls_answers_pending_updates_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "run_serve.py"
    script.write_text(textwrap.dedent(RUNNER.format(tests=str(Path(__file__).parent))))
    with FakeBotApi() as api:
        api.enqueue(text_message("Asked while the bot was down", user_id=102))
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        env.update({
            "PYTHONPATH": str(REPO),
            "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
            "NEWSBOT_TELEGRAM_BASE_URL": api.base_url,
            "NEWSBOT_ALLOWED_USER_IDS": "102",
            "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
            "NEWSBOT_LOG_LEVEL": "DEBUG",
        })
        proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            api.wait_for_sync("sendMessage", 1, timeout=30)
            api.wait_for_sync("setMyCommands", 1, timeout=5)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    [answer] = api.calls_to("sendMessage")
    assert answer.params["chat_id"] == 102
    assert answer.params["text"] == (
        "The council approved the bridge [1]. Work starts in autumn [2].\n\n<b>Sources</b>\n"
        '[1] Harbor Gazette · 2024-03-01 · <a href="https://news.example/bridge">Council story 1</a>\n'
        '[2] Harbor Gazette · 2024-03-02 · <a href="https://news.example/bridge">Council story 2</a>'
    )
    assert logged_lines(err, own=True) == [
        "INFO bot.telegram: Loading the model and the index…",
        "build_newsroom called",
        "INFO bot.telegram: Serving by long polling",
        "INFO bot.telegram.app: Telegram bot @newsroom_test_bot is up",
    ]
    assert "INFO telegram.ext.Application: Application started" in logged_lines(err)
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    commands = [c["command"] for c in api.calls_to("setMyCommands")[0].params["commands"]]
    assert commands == ["help", "sources", "stats", "reindex", "add", "feeds"]


def test_a_second_bot_on_the_same_data_dir_is_refused(clean_env: Path) -> None:
    from index.locking import acquire_serve_lock

    data_dir = clean_env / "data"
    held = acquire_serve_lock(data_dir, command="newsbot serve")
    try:
        code, err = _serve([], {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_DATA_DIR": str(data_dir)})
    finally:
        held.release()
    assert code == 5
    holder = f"'newsbot serve' (pid {os.getpid()}"
    busy = re.escape(f"newsbot serve: busy: another bot already runs on {data_dir}: {holder}")
    assert re.fullmatch(busy + r", since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\)\n", err), err
