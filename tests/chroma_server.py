"""A real `chroma run` server on loopback for tests: free port, data in a folder the test owns.

    server = ChromaServer(tmp_path / "chroma")
    server.start()          # waits for the heartbeat
    ...                     # NEWSBOT_CHROMA_HOST=server.host, NEWSBOT_CHROMA_PORT=server.port
    server.stop()           # the data stays; start() again serves it on the same port
    server.pause()          # SIGSTOP (a hung server: connections accepted, no answers); resume()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def chroma_binary() -> Path:
    """The `chroma` executable of the interpreter running the tests (the project's venv)."""
    return Path(sys.executable).parent / "chroma"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """One `chroma run --path DIR --host 127.0.0.1 --port P` process; restartable on the same port."""

    def __init__(self, path: Path, *, host: str = "127.0.0.1", port: int | None = None):
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.log_path = self.path.parent / f"{self.path.name}-server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def env(self) -> dict[str, str]:
        """The NEWSBOT_ settings that point a newsbot process at this server."""
        return {"NEWSBOT_CHROMA_HOST": self.host, "NEWSBOT_CHROMA_PORT": str(self.port)}

    def alive(self) -> bool:
        """True when the server answers its heartbeat."""
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait until it answers; raises RuntimeError with its log if it does not."""
        if self.running:
            return
        binary = chroma_binary()
        if not binary.exists():
            raise RuntimeError(f"no chroma executable at {binary}")
        self.path.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(binary), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                start_new_session=True,  # a Ctrl-C in the test run does not reach it first
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if self.alive():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma server did not come up on {self.url}:\n{self.log_text()[-2000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until the port refuses connections."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused server would not act on SIGTERM
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def pause(self) -> None:
        """SIGSTOP the server: its port still accepts connections, but nothing answers (a hung server)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def log_text(self) -> str:
        """What the server printed so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> ChromaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
