"""Server mode end to end: real `chroma run`, real `newsbot` processes, the hashing embedder.

One Chroma server (shared by the module; each test has its own collection prefix) holds the
index. `newsbot index` runs as its own process (the admin); `newsbot serve` polls a fake Bot API;
long-lived `newsbot ask - --json` processes (bot replicas) answer questions written to their
stdin over time. Checked: index/stats/ask/eval/serve work through the server and nothing is
written under NEWSBOT_DATA_DIR; a reindex or rebuild elsewhere reaches a running process within
NEWSBOT_INDEX_REFRESH_SECONDS; a stopped server gives a clear error naming host:port with exit
code 4; after the server comes back (same data, same port) the same process answers again.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chroma_server import ChromaServer, chroma_binary  # tests/ is on sys.path (rootdir-relative imports)
from fake_bot_api import TOKEN, FakeBotApi, text_message
from newsbot_env import NEWSBOT

pytestmark = pytest.mark.skipif(not chroma_binary().exists(), reason="no chroma executable in the venv")

ROOT = Path(__file__).resolve().parent.parent
COST_QUESTION = "How much will the ferry terminal cost?"

HARBOR = """---
title: Harbor council approves new ferry terminal
source: Test Wire
published_at: 2024-03-04
url: https://example.test/harbor
---
The Harbor council approved a new ferry terminal on Monday after a long debate.

Mayor Ilsa Verhoeven said the terminal will cost {cost} million crowns and open in 2026.

Residents of the old quarter complained about noise from the construction site.
"""

ORCHARD = """---
title: Orchard growers report record apple harvest
source: Valley Times
published_at: 2024-03-05
---
Apple growers in the northern valley reported a record harvest this autumn.

The growers cooperative said prices for cider apples fell by a third.
"""


def cost_sentence(cost: int) -> str:
    """The sentence of the harbor article an answer about the cost must quote."""
    return f"Mayor Ilsa Verhoeven said the terminal will cost {cost} million crowns and open in 2026."


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    """One server for the module (starting one takes seconds); each test has its own collections."""
    srv = ChromaServer(tmp_path_factory.mktemp("server") / "chroma")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(chroma):
    """The module's server, running (a test may have stopped it)."""
    chroma.start()
    return chroma


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "harbor.md").write_text(HARBOR.format(cost=40), encoding="utf-8")
    (folder / "orchard.md").write_text(ORCHARD, encoding="utf-8")
    return folder


def newsbot_env(server: ChromaServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a newsbot process pointed at `server` (no NEWSBOT_ setting leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        server.env(),
        NEWSBOT_COLLECTION_PREFIX=tmp_path.name,  # per test: tests share one server
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_CORPUS_DIR=str(tmp_path / "corpus"),
        NEWSBOT_LLM_PROVIDER="none",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def newsbot(env: dict[str, str], cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run one `newsbot` command to completion (cwd outside the repo, so no `.env` is read)."""
    return subprocess.run(
        [*NEWSBOT, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def newsbot_together(env: dict[str, str], cwd: Path, *commands: tuple[str, ...]) -> list:
    """Run independent one-shot `newsbot` commands at the same time (each start costs seconds)."""
    procs = [
        (
            args,
            subprocess.Popen(
                [*NEWSBOT, *args],
                env=env,
                cwd=cwd,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
        for args in commands
    ]
    done = []
    for args, proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(list(args), proc.returncode, out, err))
    return done


class AskProcess:
    """A long-lived `newsbot ask - --json`: one question a line in, one JSON object a line out."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.stderr_path = cwd / f"ask-{id(self)}.stderr"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [*NEWSBOT, "ask", "-", "--json"],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def ask(self, question: str, timeout: float = 30) -> dict:
        """Write one question and return the JSON line answering it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(question + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s; stderr:\n{self.stderr()}") from None
        if line is None:
            raise AssertionError(f"the ask process ended (code {self.proc.poll()}); stderr:\n{self.stderr()}")
        return json.loads(line)

    def close(self, timeout: float = 30) -> int:
        """End of input: the process finishes and its exit code is returned."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        """Stop the process if it still runs (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._stderr.close()

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text()


@pytest.fixture
def bot_api():
    with FakeBotApi(poll_seconds=0.2) as api:
        yield api


@pytest.fixture
def serve_process(bot_api, server, tmp_path):
    """`newsbot serve` (long polling the fake Bot API) over the server; user 101 is an admin."""
    env = newsbot_env(
        server,
        tmp_path,
        NEWSBOT_TELEGRAM_TOKEN=TOKEN,
        NEWSBOT_TELEGRAM_BASE_URL=bot_api.base_url,
        NEWSBOT_ALLOWED_USER_IDS="101,102",
        NEWSBOT_ADMIN_USER_IDS="101",
        NEWSBOT_FEEDBACK_LOG=str(tmp_path / "feedback.jsonl"),
        NEWSBOT_INDEX_REFRESH_SECONDS="0",
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [*NEWSBOT, "serve"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    log.close()


def telegram_reply(api: FakeBotApi, method: str, count: int, tmp_path: Path) -> str:
    """The text of the `count`-th call of `method` (waits for the bot; shows its log on failure)."""
    try:
        return api.wait_for_sync(method, count, timeout=40)[count - 1].params["text"]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nserve log:\n{(tmp_path / 'serve.log').read_text()[-3000:]}") from None


@pytest.fixture
def ask_processes():
    started: list[AskProcess] = []
    yield started
    for p in started:
        p.kill()


def cited_quotes(answer: dict) -> list[tuple[str, str | None]]:
    """(article id, quote) of every citation of a JSON answer."""
    return [(c["article_id"], c["quote"]) for c in answer["citations"]]


def index_corpus(env: dict[str, str], cwd: Path) -> dict:
    """`newsbot index --json` in its own process; returns the report."""
    done = newsbot(env, cwd, "index", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_index_stats_ask_eval_serve_through_the_server_write_nothing_under_the_data_dir(
    server, corpus, tmp_path, bot_api, request
):
    env = newsbot_env(server, tmp_path)

    report = index_corpus(env, tmp_path)
    assert (report["added"], report["updated"], report["removed"], report["skipped"]) == (2, 0, 0, [])
    request.getfixturevalue("serve_process")  # the bot starts while the one-shot commands run

    questions = tmp_path / "questions.jsonl"
    question = {"id": "q1", "question": COST_QUESTION, "answer": "40 million"}
    question["gold_article_ids"] = ["harbor.md"]
    questions.write_text(json.dumps(question) + "\n", encoding="utf-8")
    stats, asked, scored = newsbot_together(
        env,
        tmp_path,
        ("stats", "--json"),
        ("ask", "--json", COST_QUESTION),
        ("eval", "--json", str(questions)),
    )
    for done in (stats, asked, scored):
        assert done.returncode == 0, (done.args, done.stderr)

    got = json.loads(stats.stdout)
    assert (got["articles"], got["store"]) == (2, f"chroma server http://127.0.0.1:{server.port}")
    assert got["sources"] == {"Test Wire": 1, "Valley Times": 1}
    assert cited_quotes(json.loads(asked.stdout)) == [("harbor.md", cost_sentence(40))]
    metrics = json.loads(scored.stdout)["metrics"]
    assert (metrics["hits_at_1"], metrics["answer_containment"]) == (1.0, 1.0)

    # The Telegram bot answers from the server; an admin's /reindex there commits to the server.
    bot_api.enqueue(text_message(COST_QUESTION, user_id=102))
    assert cost_sentence(40) in telegram_reply(bot_api, "sendMessage", 1, tmp_path)
    (corpus / "harbor.md").write_text(HARBOR.format(cost=55), encoding="utf-8")
    bot_api.enqueue(text_message("/reindex", user_id=101, message_id=2))
    bot_api.wait_for_sync("sendMessage", 2, timeout=40)  # "Reindexing… starting"
    deadline = time.monotonic() + 40
    while not any("Reindex done" in c.params["text"] for c in bot_api.calls_to("editMessageText")):
        assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
        time.sleep(0.1)
    assert "1 updated" in [c.params["text"] for c in bot_api.calls_to("editMessageText")][-1]
    bot_api.enqueue(text_message(COST_QUESTION, user_id=102, message_id=3))
    assert cost_sentence(55) in telegram_reply(bot_api, "sendMessage", 3, tmp_path)
    asked = newsbot(env, tmp_path, "ask", "--json", COST_QUESTION)
    assert cited_quotes(json.loads(asked.stdout)) == [("harbor.md", cost_sentence(55))]

    # The embedded store, the lexical index and the embedding cache all stayed off the disk.
    assert not (tmp_path / "data").exists()


def test_a_running_process_follows_reindexes_rebuilds_and_a_server_restart(
    server, corpus, tmp_path, ask_processes, bot_api
):
    env = newsbot_env(server, tmp_path)
    index_corpus(env, tmp_path)

    every_query = AskProcess(newsbot_env(server, tmp_path, NEWSBOT_INDEX_REFRESH_SECONDS="0"), tmp_path)
    every_second = AskProcess(newsbot_env(server, tmp_path, NEWSBOT_INDEX_REFRESH_SECONDS="1"), tmp_path)
    ask_processes += [every_query, every_second]
    for bot in (every_query, every_second):
        assert cited_quotes(bot.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(40))]

    # The admin changes an article and reindexes from another process.
    (corpus / "harbor.md").write_text(HARBOR.format(cost=55), encoding="utf-8")
    report = index_corpus(env, tmp_path)
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 1, 1)

    assert cited_quotes(every_query.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(55))]
    time.sleep(1.1)  # NEWSBOT_INDEX_REFRESH_SECONDS=1 bounds how long a replica may answer from the old index
    assert cited_quotes(every_second.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(55))]

    # The server goes away: one-shot commands fail clearly, the running process reports and lives on.
    server.stop()
    where = f"127.0.0.1:{server.port}"
    questions = tmp_path / "questions.jsonl"
    question = {"id": "q", "question": COST_QUESTION, "answer": "55", "gold_article_ids": ["harbor.md"]}
    questions.write_text(json.dumps(question) + "\n", encoding="utf-8")
    one_shots = [("stats",), ("ask", COST_QUESTION), ("index", "--json"), ("eval", str(questions))]
    one_shots.append(("serve",))
    bot_env = {**env, "NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_BASE_URL": bot_api.base_url,
               "NEWSBOT_ALLOWED_USER_IDS": "101", "NEWSBOT_FEEDBACK_LOG": str(tmp_path / "feedback.jsonl")}
    for done in newsbot_together(bot_env, tmp_path, *one_shots):
        assert done.returncode == 4, (done.args, done.stdout, done.stderr)
        assert where in done.stderr and "Traceback" not in done.stderr, (done.args, done.stderr)
    failed = every_query.ask(COST_QUESTION)
    assert failed["question"] == COST_QUESTION
    assert where in failed["error"] and "NEWSBOT_CHROMA_HOST" in failed["error"]

    # Same data, same port: the same process answers again without a restart.
    server.start()
    assert cited_quotes(every_query.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(55))]
    assert cited_quotes(every_second.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(55))]

    # `index --rebuild` drops and recreates the collections: cached collection ids go stale, and
    # the generation counter must not start again where a replica last synced.
    (corpus / "harbor.md").write_text(HARBOR.format(cost=70), encoding="utf-8")
    rebuilt = newsbot(env, tmp_path, "index", "--json", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["added"] == 2
    assert cited_quotes(every_query.ask(COST_QUESTION)) == [("harbor.md", cost_sentence(70))]

    assert every_query.close() == 4  # one question failed while the server was down
    assert "Traceback" not in every_query.stderr()
    assert every_second.close() == 0
    assert not (tmp_path / "data").exists()


def test_a_store_refetches_collections_dropped_by_a_rebuild_elsewhere_and_counts_on(tmp_path):
    """In-process and embedded: the same stale-id and generation rules the server tests rely on."""
    from datetime import datetime, timezone

    from index.embedder import HashingEmbedder
    from index.indexer import Indexer
    from index.models import Article
    from index.store import open_store

    def article(cost: int) -> Article:
        return Article(
            id="harbor", title="Harbor terminal", body=cost_sentence(cost), source="Test Wire",
            published_at=datetime(2024, 3, 4, tzinfo=timezone.utc), path="harbor.md",
        )

    reader = open_store(data_dir=str(tmp_path / "data"))
    writer = open_store(data_dir=str(tmp_path / "data"))
    Indexer(writer, HashingEmbedder(), articles=lambda _d: [article(40)]).run(tmp_path)
    # Reading caches the collections (and their ids) in `reader`.
    assert [c.text for c in reader.get_chunks(sorted(reader.chunk_ids()))] == [cost_sentence(40)]
    seen = reader.generation()

    Indexer(writer, HashingEmbedder(), articles=lambda _d: [article(70)]).run(tmp_path, rebuild=True)

    assert [c.text for c in reader.get_chunks(sorted(reader.chunk_ids()))] == [cost_sentence(70)]
    assert reader.generation() > seen  # a rebuild never lands back on a generation a reader has seen
