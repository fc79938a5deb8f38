"""Environments for tests that run newsbot: no stray NEWSBOT_ settings, the fast test embedder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "kbs-2024-10-21-yoon-nato-rutte.txt"


def subprocess_env(**settings: str) -> dict[str, str]:
    """The environment for a newsbot child process: this one's, minus NEWSBOT_*, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_EMBEDDING_MODEL="test:hashing", PYTHONPATH=str(REPO))
    env.update(settings)
    return env


def seed_cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For CliRunner tests: a corpus holding the seed article, a fresh data dir, the test embedder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    for key in list(os.environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_EMBEDDING_MODEL", "test:hashing")
    return corpus
