"""The 👍/👎 feedback log: one JSON line per vote, with user ids hashed (never stored raw)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CitedRef:
    """Which passage a `[n]` marker of a logged answer pointed at."""

    n: int
    article_id: str
    chunk_id: str


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One vote on one answer."""

    question: str
    answer: str
    cited: tuple[CitedRef, ...]
    vote: str  # "up" | "down"
    user_hash: str
    abstained: bool = False
    answerer: str = ""
    timestamp: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, object]:
        """The JSON line written to the log."""
        return {
            "timestamp": self.timestamp,
            "vote": self.vote,
            "user": self.user_hash,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "answerer": self.answerer,
            "cited": [{"n": c.n, "article_id": c.article_id, "chunk_id": c.chunk_id} for c in self.cited],
        }


class FeedbackLog:
    """Appends votes to a JSONL file; user ids are hashed with sha256 and a per-install salt.

    The salt lives next to the log (`<log>.salt`, created once, mode 0600) so the same user
    hashes the same way across restarts without the raw id ever being written. The log itself
    is created with mode 0600 too: it holds the questions and answers.
    """

    def __init__(self, path: Path, salt: bytes | None = None) -> None:
        self.path = path
        self._salt = salt
        self._lock = threading.Lock()

    @property
    def salt_path(self) -> Path:
        """Where the salt is kept when none was passed in."""
        return self.path.with_name(self.path.name + ".salt")

    def _get_salt(self) -> bytes:
        if self._salt is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._salt = self.salt_path.read_bytes()
            except FileNotFoundError:
                salt = secrets.token_hex(16).encode("ascii")
                fd = os.open(self.salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(salt)
                self._salt = salt
        return self._salt

    def check_writable(self) -> None:
        """Create the log, its folder and the salt if missing; raises `OSError` if that fails.

        Run at start-up, so a bot that could not record votes refuses to start rather than
        apologising for every 👍.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a folder should be
            folder = str(self.path.parent)
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), folder) from None
        os.close(self._open())
        self._get_salt()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def hash_user(self, user_id: int) -> str:
        """sha256(salt + user id), hex."""
        return hashlib.sha256(self._get_salt() + str(user_id).encode("ascii")).hexdigest()

    def record(self, entry: FeedbackEntry) -> None:
        """Append one vote as a JSON line."""
        line = json.dumps(entry.to_dict(), ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(self._open(), "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
