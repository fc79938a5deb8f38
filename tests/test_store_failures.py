"""The store under stress, through real `newsbot` processes (issue #10, points 7, 8 and 9f).

- A long-running `newsbot ask -` on the embedded store while another process runs
  `newsbot index --rebuild`: every question gets an answer or a one-line error, no traceback.
- A data dir that is a file, read-only, under /proc, or below a file: one line naming the path,
  exit code 4, in index / stats / ask / serve. Empty path settings: one line, exit code 2.
- A disk that fills up during a reindex (RLIMIT_FSIZE in the child): one line, exit code 4; the
  next run repairs. The lexical index and the embedding cache on a full disk: no traceback.
- A Chroma server that accepts TCP and never answers, or stops answering mid-session (SIGSTOP):
  commands end after NEWSBOT_CHROMA_TIMEOUT with one line and exit code 4.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from chroma_server import ChromaServer, chroma_binary
from newsbot_env import NEWSBOT, REPO, cli, subprocess_env

WORDS = (
    "minister election budget inflation court police hospital school energy climate market bank "
    "trade union river city harbour ferry council bridge"
).split()
QUESTION = "What about the budget and inflation?"  # answered from the random-word corpus


def write_corpus(folder: Path, articles: int, *, seed: int = 7) -> Path:
    """`articles` plain-text articles of six paragraphs of seeded random words (the same every run)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        paragraphs = []
        for _ in range(6):
            first = " ".join(rng.choice(WORDS) for _ in range(40)).capitalize()
            second = " ".join(rng.choice(WORDS) for _ in range(30))
            paragraphs.append(f"{first}. {second}.")
        body = "\n\n".join(paragraphs)
        (folder / f"a{i:03}.txt").write_text(
            f"---\ntitle: Story {i} about the {WORDS[i % len(WORDS)]}\nsource: Test News\n"
            f"published_at: 2024-10-{i % 28 + 1:02}\n---\n{body}\n",
            encoding="utf-8",
        )
    return folder


def newsbot(*args: str, env: dict[str, str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run `newsbot ARGS` (tests/newsbot_main.py) to completion."""
    return subprocess.run(
        [*NEWSBOT, *args],
        env=env,
        cwd=kwargs.pop("cwd", REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def one_line(stderr: str) -> str:
    """The single line a failing command printed on stderr (fails the test if there is more)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


# --- point 7: a reader during a rebuild by another process -------------------------------------


class AskProcess:
    """A `newsbot ask - --json` child: write a question, read its one JSON line back."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [*NEWSBOT, "ask", "-", "--json"],
            env=env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.stderr_lines: list[str] = []
        self._stderr = threading.Thread(target=self._drain, daemon=True)
        self._stderr.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def ask(self, question: str, timeout: float = 60.0) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(question + "\n")
        self.proc.stdin.flush()
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        assert got and got[0], f"no answer line for {question!r}; stderr: {''.join(self.stderr_lines)[-3000:]}"
        return json.loads(got[0])

    def finish(self, timeout: float = 60.0) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        finally:
            self._stderr.join(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_ask_stdin_survives_rebuilds_by_another_process(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", 20)
    env = subprocess_env(
        NEWSBOT_CORPUS_DIR=str(corpus),
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_INDEX_REFRESH_SECONDS="0",
        HF_HUB_OFFLINE="1",
    )
    assert newsbot("index", env=env).returncode == 0
    reader = AskProcess(env)
    replies: list[dict] = []
    try:
        replies.append(reader.ask(QUESTION))
        # In turn: the rebuild has finished before the next question (on main: "Error creating
        # hnsw segment reader: Nothing found on disk" and the reader dies).
        for n in range(3):
            rebuild = newsbot("index", "--rebuild", "--json", env=env)
            assert rebuild.returncode == 0, rebuild.stderr
            replies.append(reader.ask(f"{QUESTION} ({n})"))
            replies.append(reader.ask(f"What did the court say about the hospital? ({n})"))
        in_turn = list(replies)
        # Overlapping: questions keep coming while three rebuilds run.
        rebuilds = subprocess.Popen(
            [sys.executable, "-c", (
                "import subprocess, sys\n"
                "for _ in range(3):\n"
                f"    subprocess.run([*{NEWSBOT!r}, 'index', '--rebuild', '--json'],"
                " check=True, stdout=subprocess.DEVNULL)\n"
            )],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        while rebuilds.poll() is None and time.monotonic() < deadline:
            replies.append(reader.ask(f"{QUESTION} ({len(replies)})"))
        assert rebuilds.wait(30) == 0, rebuilds.stderr.read() if rebuilds.stderr else ""
        replies.append(reader.ask(QUESTION))
        code = reader.finish()
    finally:
        reader.kill()

    stderr = "".join(reader.stderr_lines)
    assert "Traceback" not in stderr, stderr
    for reply in in_turn:
        assert "error" not in reply, reply
        assert reply["retrieved"], reply  # the rebuilt store was read, not an empty or stale view
    errors = [r for r in replies if "error" in r]
    for reply in errors:  # a question that met the rebuild half way: one line, then the next one
        assert set(reply) == {"question", "error"} and "\n" not in reply["error"], reply
        assert reply["error"].startswith(f"the store at {tmp_path / 'data' / 'chroma'} changed while it was read"), reply
    assert code == (4 if errors else 0)
    assert replies[-1]["citations"], replies[-1]  # after the rebuilds, answers as before


# --- point 8: a data dir that cannot hold the store ------------------------------------------------


@pytest.fixture
def seeded(tmp_path) -> dict[str, str]:
    """The environment of a child newsbot with a two-article corpus (data dir set by each test)."""
    corpus = write_corpus(tmp_path / "corpus", 2)
    return subprocess_env(
        NEWSBOT_CORPUS_DIR=str(corpus),
        HF_HUB_OFFLINE="1",
        NEWSBOT_TELEGRAM_TOKEN="123456:TEST-TOKEN",
        NEWSBOT_ALLOWED_USER_IDS="1",
        NEWSBOT_TELEGRAM_BASE_URL="http://127.0.0.1:9/bot",  # never reached: the data dir fails first
    )


COMMANDS = {"index": ["index"], "stats": ["stats"], "ask": ["ask", QUESTION], "serve": ["serve"]}


def prog(command: str) -> str:
    """How a command names itself in its one-line errors."""
    return "newsbot serve" if command == "serve" else "newsbot"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_data_dir_that_is_a_file_is_one_line_exit_4(command, seeded, tmp_path):
    path = tmp_path / "data"
    path.write_text("not a folder")
    done = newsbot(*COMMANDS[command], env={**seeded, "NEWSBOT_DATA_DIR": str(path)}, timeout=60)
    assert done.returncode == 4, done.stderr
    assert one_line(done.stderr) == f"{prog(command)}: NEWSBOT_DATA_DIR '{path}' is not a folder (a file is in the way)"
    assert path.read_text() == "not a folder"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_data_dir_under_proc_is_one_line_exit_4(command, seeded):
    path = "/proc/self/newsbot-data"
    done = newsbot(*COMMANDS[command], env={**seeded, "NEWSBOT_DATA_DIR": path}, timeout=60)
    assert done.returncode == 4, done.stderr
    assert one_line(done.stderr) == f"{prog(command)}: NEWSBOT_DATA_DIR '{path}' is under /proc, which is not a place for data"


@pytest.mark.parametrize("command", ["index", "ask"])
def test_a_data_dir_below_a_file_is_one_line_exit_4(command, seeded, tmp_path):
    (tmp_path / "blocker").write_text("x")
    path = tmp_path / "blocker" / "data"
    done = newsbot(*COMMANDS[command], env={**seeded, "NEWSBOT_DATA_DIR": str(path)}, timeout=60)
    assert done.returncode == 4, done.stderr
    assert one_line(done.stderr) == f"newsbot: cannot create NEWSBOT_DATA_DIR '{path}': Not a directory"


def _setpriv() -> str | None:
    return shutil.which("setpriv") if os.geteuid() == 0 else None


@pytest.mark.skipif(_setpriv() is None, reason="needs root and setpriv to drop CAP_DAC_OVERRIDE")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_read_only_data_dir_is_one_line_exit_4(command, seeded, tmp_path):
    # Root ignores permission bits; without its capabilities the owner's r-x applies as to anyone.
    path = tmp_path / "data"
    path.mkdir()
    path.chmod(0o555)
    try:
        done = subprocess.run(
            [_setpriv(), "--inh-caps=-all", "--bounding-set=-all", *NEWSBOT, *COMMANDS[command]],
            env={**seeded, "NEWSBOT_DATA_DIR": str(path)},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    finally:
        path.chmod(0o755)
    assert done.returncode == 4, done.stderr
    assert one_line(done.stderr) == f"{prog(command)}: NEWSBOT_DATA_DIR '{path}' is not writable: Permission denied"
    assert list(path.iterdir()) == []


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("NEWSBOT_DATA_DIR", ["index"]),
        ("NEWSBOT_DATA_DIR", ["stats"]),
        ("NEWSBOT_DATA_DIR", ["ask", QUESTION]),
        ("NEWSBOT_CORPUS_DIR", ["index"]),
        ("NEWSBOT_CORPUS_DIR", ["ask", QUESTION]),
    ],
)
def test_an_empty_path_setting_is_rejected_and_nothing_lands_in_the_current_folder(variable, args, tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {k: None for k in os.environ if k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_CORPUS_DIR=str(write_corpus(tmp_path / "corpus", 1)))
    env.update(NEWSBOT_DATA_DIR=str(tmp_path / "data"))
    env[variable] = ""
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"newsbot: bad setting: {variable}: Value error, must not be empty (give a folder path) (got '')\n"
    )
    assert list(work.iterdir()) == []


def test_an_empty_corpus_option_is_bad_usage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "note.txt").write_text("Title: Not coverage\n\nThis folder is not a corpus.\n")
    env = {k: None for k in os.environ if k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_DATA_DIR=str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["index", "--corpus", ""], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == "Error: Invalid value for '--corpus': must not be empty (give a folder path)"
    assert not (tmp_path / "data").exists()


# --- point 8: a disk that fills up ---------------------------------------------------------------


def limited(limit: int):
    """A preexec_fn: files may not grow past `limit` bytes, and a write past it fails with EFBIG.

    SIGXFSZ would otherwise kill the child at the first such write (its default action); ignored,
    the write returns EFBIG, which is what a program sees of a full disk.
    """

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


DISK_FULL_TAIL = "free some space and try again (`newsbot index` repairs an interrupted reindex)"


def test_a_disk_that_fills_during_a_reindex_is_one_line_exit_4_and_the_next_run_repairs(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", 60)
    data = tmp_path / "data"
    env = subprocess_env(NEWSBOT_CORPUS_DIR=str(corpus), NEWSBOT_DATA_DIR=str(data), HF_HUB_OFFLINE="1")
    full = newsbot("index", env=env, preexec_fn=limited(1_000_000))
    assert full.returncode == 4, full.stderr
    line = one_line(full.stderr)
    assert line.startswith(f"newsbot: could not write under {data / 'chroma'}, is the disk full? ("), line
    assert line.endswith(DISK_FULL_TAIL), line
    assert full.stdout == ""

    repair = newsbot("index", "--json", env=env)
    assert repair.returncode == 0, repair.stderr
    report = json.loads(repair.stdout)
    assert (report["added"], report["removed"], report["skipped"]) == (60, 0, [])
    assert report["repaired"] > 0  # the chunks the full run wrote but never committed
    stats = json.loads(newsbot("stats", "--json", env=env).stdout)
    assert (stats["articles"], stats["chunks"]) == (60, report["chunks"])
    again = json.loads(newsbot("index", "--json", env=env).stdout)
    assert (again["unchanged"], again["embedded_chunks"], again["repaired"]) == (60, 0, 0)


def test_a_full_disk_for_the_lexical_index_is_one_line_exit_4(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", 60)
    data = tmp_path / "data"
    env = subprocess_env(NEWSBOT_CORPUS_DIR=str(corpus), NEWSBOT_DATA_DIR=str(data), HF_HUB_OFFLINE="1")
    assert newsbot("index", env=env).returncode == 0
    (data / "lexical-newsbot.sqlite").unlink(missing_ok=True)  # `ask` builds it: ~0.5 MB for 60 articles
    full = newsbot("ask", QUESTION, env=env, preexec_fn=limited(100_000))
    assert full.returncode == 4, full.stderr
    line = one_line(full.stderr)
    assert line.startswith(f"newsbot: could not write under {data / 'lexical-newsbot.sqlite'}, is the disk full? ("), line
    assert line.endswith(DISK_FULL_TAIL), line
    answered = newsbot("ask", QUESTION, "--json", env=env)
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["citations"]


def test_a_full_disk_for_the_embedding_cache_warns_once_and_embeds_on(tmp_path):
    # The cache only wraps real models; a child process runs it over the hashing embedder so the
    # file size limit applies to it alone.
    script = (
        "import numpy as np\n"
        "from pathlib import Path\n"
        "from index.embedder import CachedEmbedder, HashingEmbedder\n"
        "inner = HashingEmbedder()\n"
        f"cache = CachedEmbedder(inner, Path({str(tmp_path / 'cache.sqlite')!r}))\n"
        "texts = [f'text number {i} ' + 'padding ' * 200 for i in range(400)]\n"
        "got = cache.embed_documents(texts)\n"
        "assert np.allclose(got, inner.embed_documents(texts))\n"
        "got = cache.embed_documents(texts[:3])\n"
        "assert np.allclose(got, inner.embed_documents(texts[:3]))\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limited(64_000),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
    line = one_line(done.stderr)
    assert line.startswith(f"embedding cache {tmp_path / 'cache.sqlite'} disabled: OperationalError: "), line


# --- 9f: a Chroma server that never answers ----------------------------------------------------


class HungServer:
    """A socket on 127.0.0.1 that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


@pytest.mark.parametrize("args", [["stats"], ["ask", QUESTION], ["index"]], ids=["stats", "ask", "index"])
def test_a_hung_chroma_server_ends_the_command_after_the_timeout(args, hung, tmp_path):
    env = subprocess_env(
        NEWSBOT_CORPUS_DIR=str(write_corpus(tmp_path / "corpus", 2)),
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_CHROMA_HOST="127.0.0.1",
        NEWSBOT_CHROMA_PORT=str(hung.port),
        NEWSBOT_CHROMA_TIMEOUT="1",
        HF_HUB_OFFLINE="1",
    )
    started = time.monotonic()
    done = newsbot(*args, env=env, timeout=45)
    assert done.returncode == 4, done.stderr
    assert one_line(done.stderr) == (
        f"newsbot: cannot reach the Chroma server at 127.0.0.1:{hung.port} (NEWSBOT_CHROMA_HOST/NEWSBOT_CHROMA_PORT): "
        "no answer within 1 s (NEWSBOT_CHROMA_TIMEOUT); is the server hung?"
    )
    assert hung.accepted  # it did connect, and waited no longer than the timeout (plus start-up)
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_a_bad_chroma_timeout_is_a_bad_setting(value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {k: None for k in os.environ if k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_CHROMA_TIMEOUT=value, NEWSBOT_DATA_DIR=str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["stats"], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("newsbot: bad setting: NEWSBOT_CHROMA_TIMEOUT: "), result.output
    assert result.output.endswith(f" (got {value!r})\n"), result.output


@pytest.mark.skipif(not chroma_binary().exists(), reason="no chroma executable in the venv")
def test_a_server_that_stops_answering_mid_session_costs_one_question(tmp_path):
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    env = subprocess_env(
        NEWSBOT_CORPUS_DIR=str(write_corpus(tmp_path / "corpus", 4)),
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_COLLECTION_PREFIX="hang",
        NEWSBOT_CHROMA_TIMEOUT="1",
        NEWSBOT_INDEX_REFRESH_SECONDS="0",
        HF_HUB_OFFLINE="1",
        **server.env(),
    )
    reader = None
    try:
        assert newsbot("index", env=env).returncode == 0
        reader = AskProcess(env)
        assert reader.ask(QUESTION)["citations"]
        server.pause()  # SIGSTOP: the port still accepts connections, nothing answers
        try:
            started = time.monotonic()
            hung_reply = reader.ask(QUESTION, timeout=30)
            waited = time.monotonic() - started
        finally:
            server.resume()
        assert set(hung_reply) == {"question", "error"}, hung_reply
        assert hung_reply["error"].startswith(
            f"the Chroma server at 127.0.0.1:{server.port} (NEWSBOT_CHROMA_HOST/NEWSBOT_CHROMA_PORT) "
            "did not answer within the timeout (NEWSBOT_CHROMA_TIMEOUT): ReadTimeout: "
        ), hung_reply
        assert waited < 15
        assert reader.ask(QUESTION)["citations"]
        assert reader.finish() == 4  # documented: a store error on any question of `ask -`
        assert "Traceback" not in "".join(reader.stderr_lines)
    finally:
        if reader is not None:
            reader.kill()
        server.stop()


@pytest.mark.skipif(not chroma_binary().exists(), reason="no chroma executable in the venv")
def test_the_bot_apologises_for_a_question_the_hung_server_does_not_answer(tmp_path):
    from bot.telegram.handlers import APOLOGY
    from fake_bot_api import TOKEN, FakeBotApi, text_message

    server = ChromaServer(tmp_path / "chroma")
    server.start()
    env = subprocess_env(
        NEWSBOT_CORPUS_DIR=str(write_corpus(tmp_path / "corpus", 4)),
        NEWSBOT_DATA_DIR=str(tmp_path / "data"),
        NEWSBOT_COLLECTION_PREFIX="hangbot",
        NEWSBOT_CHROMA_TIMEOUT="1",
        NEWSBOT_INDEX_REFRESH_SECONDS="0",
        NEWSBOT_TELEGRAM_TOKEN=TOKEN,
        NEWSBOT_ALLOWED_USER_IDS="102",
        HF_HUB_OFFLINE="1",
        **server.env(),
    )
    proc = None
    try:
        assert newsbot("index", env=env).returncode == 0
        with FakeBotApi(poll_seconds=0.2) as api, (tmp_path / "serve.log").open("w") as log:
            proc = subprocess.Popen(
                [*NEWSBOT, "serve"],
                env={**env, "NEWSBOT_TELEGRAM_BASE_URL": api.base_url},
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

            def reply(count: int) -> str:
                try:
                    return api.wait_for_sync("sendMessage", count, timeout=40)[count - 1].params["text"]
                except AssertionError as exc:
                    raise AssertionError(f"{exc}\n{(tmp_path / 'serve.log').read_text()[-3000:]}") from None

            api.enqueue(text_message(QUESTION, user_id=102, message_id=1))
            first = reply(1)
            assert first != APOLOGY and "[1]" in first, first
            server.pause()
            try:
                started = time.monotonic()
                api.enqueue(text_message(QUESTION, user_id=102, message_id=2))
                assert reply(2) == APOLOGY
                assert time.monotonic() - started < 15
            finally:
                server.resume()
            api.enqueue(text_message(QUESTION, user_id=102, message_id=3))
            assert reply(3) == first
            assert proc.poll() is None  # still serving
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        server.stop()
    log_text = (tmp_path / "serve.log").read_text()
    assert "Error while handling update" in log_text  # logged for the admin, not shown to the user
    assert "NEWSBOT_CHROMA_TIMEOUT" in log_text
