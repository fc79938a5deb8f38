"""`newsbot serve`: start-up errors, and a real run (subprocess) against the fake Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.telegram.cli import serve_command

try:
    from fake_bot_api import TOKEN, FakeBotApi, text_message
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.fake_bot_api import TOKEN, FakeBotApi, text_message  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent


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
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("newsbot serve: NEWSBOT_RATE_LIMIT_PER_MINUTE: ")


def test_webhook_mode_requires_a_valid_secret(clean_env: Path) -> None:
    code, err = _serve(["--webhook-url", "https://bot.example/tg"], {"NEWSBOT_TELEGRAM_TOKEN": TOKEN})
    assert code == 2 and "needs NEWSBOT_TELEGRAM_WEBHOOK_SECRET" in err
    code, err = _serve(["--webhook-url", "https://bot.example/tg"],
                       {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "has spaces!"})
    assert code == 2 and "may only hold 1-256 characters" in err
    code, err = _serve(["--webhook-url", "bot.example/tg"],
                       {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_WEBHOOK_SECRET": "ok_secret"})
    assert code == 2 and "--webhook-url must be an absolute URL" in err


RUNNER = """
import sys, types
sys.path.insert(0, {tests!r})
from fake_bot_api import FakeNewsroom

def build_newsroom(settings):
    print("build_newsroom called", file=sys.stderr, flush=True)
    return FakeNewsroom()

wiring = types.ModuleType("bot.wiring")
wiring.build_newsroom = build_newsroom
sys.modules["bot.wiring"] = wiring  # the fake core instead of the real model and index

from bot.cli import main
sys.argv = ["newsbot", "serve"]
main()
"""


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
    assert answer.params["text"].startswith("The council approved the bridge [1].")
    assert "build_newsroom called" in err
    assert err.index("NO ALLOWLIST IS SET") > err.index("build_newsroom called")
    assert "Application started" in err or "Telegram bot @newsroom_test_bot is up" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    commands = [c["command"] for c in api.calls_to("setMyCommands")[0].params["commands"]]
    assert commands == ["help", "sources", "stats", "reindex"]


def test_a_second_bot_on_the_same_data_dir_is_refused(clean_env: Path) -> None:
    from index.locking import acquire_serve_lock

    data_dir = clean_env / "data"
    held = acquire_serve_lock(data_dir, command="newsbot serve")
    try:
        code, err = _serve([], {"NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_DATA_DIR": str(data_dir)})
    finally:
        held.release()
    assert code == 5
    assert err.startswith(f"newsbot serve: busy: another bot already runs on {data_dir}: 'newsbot serve' (pid {os.getpid()}")
