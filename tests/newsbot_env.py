"""How tests run newsbot: no stray NEWSBOT_ settings, the fast hashing embedder wired in.

- `NEWSBOT` runs the real command line in a child process (tests/newsbot_main.py);
- `cli` is the real click group for `CliRunner`, with the same stand-ins as its `obj`.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
from pathlib import Path

import click
import pytest

from bot.cli import cli as _newsbot_cli
from bot.wiring import Wiring
from index.embedder import HashingEmbedder

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "kbs-2024-10-21-yoon-nato-rutte.txt"
NEWSBOT = [sys.executable, str(REPO / "tests" / "newsbot_main.py")]


def wired_cli(wiring: Wiring) -> click.Group:
    """The `newsbot` group whose commands build the core through `wiring`."""
    group = copy.copy(_newsbot_cli)
    group.context_settings = {**_newsbot_cli.context_settings, "obj": wiring}
    return group


cli = wired_cli(Wiring(embedder=HashingEmbedder()))


def subprocess_env(**settings: str) -> dict[str, str]:
    """The environment for a newsbot child process: this one's, minus NEWSBOT_*, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(PYTHONPATH=str(REPO))
    env.update(settings)
    return env


def seed_cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For CliRunner tests (with `cli`): a corpus holding the seed article, a fresh data dir."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    for key in list(os.environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    return corpus
