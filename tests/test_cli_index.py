"""`newsbot index` / `stats` through click's CliRunner, and the CLI's start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner


try:
    from newsbot_env import SEED, seed_cli_env, cli
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import SEED, seed_cli_env, cli  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A corpus with the seed article and a fresh data dir (`cli` wires in the fast test embedder)."""
    return seed_cli_env(tmp_path, monkeypatch)


def run(*args: str, group=cli):
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    return result


def index_json(group=cli):
    result = run("index", "--json", group=group)
    return result.exit_code, json.loads(result.stdout)


ARTICLE = """---
title: Council passes budget
source: Test Wire
published_at: 2024-10-22
---
The city council passed the budget on Tuesday. It includes money for two new schools.
"""


def test_index_add_unchanged_add_one_delete_one(env):
    code, first = index_json()
    assert code == 0
    assert (first["added"], first["updated"], first["removed"], first["unchanged"]) == (1, 0, 0, 0)
    assert first["skipped"] == []
    assert first["chunks"] == first["embedded_chunks"] > 0

    code, second = index_json()
    assert (second["added"], second["updated"], second["removed"], second["unchanged"]) == (0, 0, 0, 1)
    assert second["embedded_chunks"] == 0

    (env / "budget.md").write_text(ARTICLE)
    code, third = index_json()
    assert (third["added"], third["unchanged"], third["embedded_chunks"]) == (1, 1, 1)

    stats = json.loads(run("stats", "--json").stdout)
    assert stats["articles"] == 2
    assert stats["sources"] == {"KBS News": 1, "Test Wire": 1}

    (env / "budget.md").unlink()
    code, fourth = index_json()
    assert (fourth["removed"], fourth["unchanged"]) == (1, 1)
    stats = json.loads(run("stats", "--json").stdout)
    assert (stats["articles"], stats["chunks"]) == (1, first["chunks"])
    assert stats["earliest"] == "2024-10-21T23:55:00+09:00"


def test_bad_files_are_skipped_with_reasons_while_good_ones_index(env):
    (env / "empty.txt").write_text("")
    (env / "broken.json").write_text("{not json")
    (env / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (env / "mixed.jsonl").write_text(
        json.dumps({"id": "a1", "title": "Good line", "body": "A good article body. It has two sentences."})
        + "\n{oops\n"
    )
    code, report = index_json()
    assert code == 0
    assert report["added"] == 2
    reasons = {(s["path"], s.get("line")): s["reason"] for s in report["skipped"]}
    assert reasons[("empty.txt", None)] == "empty file"
    assert reasons[("binary.txt", None)] == "binary file"
    assert reasons[("broken.json", None)].startswith("invalid JSON")
    assert reasons[("mixed.jsonl", 2)].startswith("invalid JSON")
    assert len(reasons) == 4


def test_empty_corpus_exits_1_and_mass_removal_is_refused(env):
    index_json()
    (env / SEED.name).unlink()
    result = run("index", "--json")
    assert result.exit_code == 3
    assert "would remove 1 of 1 indexed articles" in result.stderr
    assert json.loads(result.stdout)["error"].startswith("refused")
    forced = run("index", "--json", "--force")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["removed"] == 1
    again = run("index")
    assert again.exit_code == 1
    assert "no article could be read" in again.stderr


def test_bad_setting_is_one_line_and_exit_2(env, monkeypatch):
    monkeypatch.setenv("NEWSBOT_CHROMA_PORT", "abc")
    result = run("stats")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "newsbot: bad setting: NEWSBOT_CHROMA_PORT: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    ]


def test_human_summary(env):
    result = run("index")
    assert result.exit_code == 0
    assert "1 added, 0 updated, 0 removed, 0 unchanged" in result.stdout
    stats = run("stats")
    assert "Articles: 1" in stats.stdout and "KBS News: 1" in stats.stdout


def test_help_is_fast_because_heavy_modules_stay_unimported():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from bot.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for name in ('index', 'stats', 'ask', 'repl', 'serve', 'eval'):\n"
        "    assert name in r.output, name\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'chromadb', 'langchain_core', 'telegram', 'trafilatura')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.model
def test_seed_corpus_with_the_real_model(env, monkeypatch):
    from bot.cli import cli as production_cli

    monkeypatch.setenv("NEWSBOT_EMBEDDING_MODEL", "packaged")
    monkeypatch.setenv("NEWSBOT_EMBEDDING_CACHE", "false")
    code, first = index_json(production_cli)
    assert code == 0 and first["added"] == 1
    code, second = index_json(production_cli)
    assert (second["added"], second["updated"], second["embedded_chunks"]) == (0, 0, 0)
    stats = json.loads(run("stats", "--json", group=production_cli).stdout)
    assert stats["model"] == "packaged:all-MiniLM-L6-v2+onnx-int8"  # the default backend
