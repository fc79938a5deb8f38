"""Settings: prefix, .env, id lists, one clear line for a bad value, and .env.example coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in list(__import__("os").environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults():
    s = load_settings()
    assert s.corpus_dir == Path("corpus")
    assert s.embedding_model == "packaged"
    assert s.chroma_host is None and not s.server_mode
    assert s.llm_provider == "none"
    assert s.allowed_user_ids == [] and s.telegram_token is None


def test_env_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("NEWSBOT_TOP_K=5\nNEWSBOT_TELEGRAM_TOKEN=123:abc\nNEWSBOT_CHROMA_PORT=\n")
    monkeypatch.setenv("NEWSBOT_ALLOWED_USER_IDS", "42, 1001")
    monkeypatch.setenv("NEWSBOT_CHROMA_HOST", "chroma.internal")
    s = load_settings()
    assert s.top_k == 5
    assert s.allowed_user_ids == [42, 1001]
    assert s.telegram_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(s)
    assert s.server_mode and s.chroma_port is None


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("NEWSBOT_CHROMA_PORT", "abc", "NEWSBOT_CHROMA_PORT: Input should be a valid integer, unable to parse string as an integer (got 'abc')"),
        ("NEWSBOT_ALLOWED_USER_IDS", "42,bob", "NEWSBOT_ALLOWED_USER_IDS: Input should be a valid integer, unable to parse string as an integer (got 'bob')"),
        ("NEWSBOT_LLM_PROVIDER", "gpt", "NEWSBOT_LLM_PROVIDER: Input should be 'none', 'openai' or 'ollama' (got 'gpt')"),
        ("NEWSBOT_COLLECTION_PREFIX", "ab", "NEWSBOT_COLLECTION_PREFIX: String should have at least 3 characters (got 'ab')"),
    ],
)
def test_bad_value_is_one_line_naming_the_setting(monkeypatch, var, value, message):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value) == message


def test_env_example_lists_every_setting_with_a_comment():
    text = (ROOT / ".env.example").read_text()
    listed = re.findall(r"^(NEWSBOT_[A-Z_]+)=", text, flags=re.M)
    expected = {"NEWSBOT_" + name.upper() for name in Settings.model_fields}
    assert set(listed) == expected
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("NEWSBOT_"):
            assert lines[i - 1].startswith("# "), f"{line} has no comment line above it"
