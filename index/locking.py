"""OS-level locks under the data dir: one writer at a time, and `serve` as the store's owner.

Two lock files, both `flock`ed (the kernel drops the lock when the holder's process dies, even
by SIGKILL, so a stale lock file never blocks anybody; the file itself is left in place):

- `<data_dir>/index.lock`: held for the length of every reindex, by `newsbot index` and by
  `NewsroomService.reindex`. A second writer waits up to its timeout, then gets `LockBusy`.
- `<data_dir>/serve.lock`: held by `newsbot serve` for its lifetime. The embedded Chroma client
  is not safe across processes (chroma-core/chroma#3792), so while `serve` runs it is the only
  writer: a reindex from any other process is refused with a message pointing to /reindex.

The holder writes its pid, command and start time into the file, so a refusal can say who holds
the lock. `flock` locks belong to an open file, not to a process: a second `acquire` from the
same process on a fresh `ProcessLock` also fails, which keeps threads apart too.

In Chroma-server mode (`NEWSBOT_CHROMA_HOST`) nothing may be written under the data dir, so
none of this applies; see docs/resilience.md for what concurrent writers can do there.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from index.store import writable_data_dir

INDEX_LOCK = "index.lock"
SERVE_LOCK = "serve.lock"
_POLL_SECONDS = 0.05


class LockBusy(RuntimeError):
    """The lock is held by someone else; `holder` says who, when the holder wrote it down."""

    def __init__(self, message: str, holder: LockHolder | None = None):
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True, slots=True)
class LockHolder:
    """What a lock's holder wrote into the lock file."""

    pid: int
    command: str
    since: str

    def describe(self) -> str:
        """`'newsbot index' (pid 123, since 2024-05-01T10:00:00+00:00)`."""
        return f"{self.command!r} (pid {self.pid}, since {self.since})"


class ProcessLock:
    """An exclusive `flock` on one file; use `acquire`/`release` or `with lock.held(...)`."""

    def __init__(self, path: Path, *, command: str):
        self.path = Path(path)
        self.command = command
        self._fd: int | None = None

    @property
    def locked(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds; raises `LockBusy` naming the holder."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this ProcessLock")
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(self.path)
                    os.close(fd)
                    who = holder.describe() if holder else "another process"
                    raise LockBusy(f"{self.path} is held by {who}", holder) from None
                time.sleep(_POLL_SECONDS)
            except BaseException:
                os.close(fd)
                raise
        try:
            record = {
                "pid": os.getpid(),
                "command": self.command,
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
        except BaseException:
            os.close(fd)  # closing the file drops the flock
            raise
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays; an unlocked file means nothing)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(path: Path) -> LockHolder | None:
    """Who wrote `path` last, or None if it is empty, missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "null")
        return LockHolder(pid=int(data["pid"]), command=str(data["command"]), since=str(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_held(path: Path) -> bool:
    """True if some open file (in any process, this one included) holds the lock on `path`."""
    if not Path(path).exists():
        return False
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock if it got one
    return False


def serve_holder(data_dir: Path) -> LockHolder | None:
    """The `serve` process that owns the store under `data_dir` if it is *another* process, else None."""
    path = Path(data_dir) / SERVE_LOCK
    if not is_held(path):
        return None
    holder = read_holder(path)
    if holder is not None and holder.pid == os.getpid():
        return None
    return holder or LockHolder(pid=0, command="newsbot serve", since="unknown")


def acquire_index_lock(data_dir: Path, *, wait: float = 0.0, command: str | None = None) -> ProcessLock:
    """Take `<data_dir>/index.lock` for one reindex (the caller releases it; a data dir that cannot be
    written raises `StoreError` first, see `index.store.writable_data_dir`).

    Refuses with `LockBusy` when another process's `serve` owns the store, or when another
    reindex still holds the lock after `wait` seconds. The messages say what to do instead.
    """
    data_dir = writable_data_dir(data_dir)
    lock = ProcessLock(data_dir / INDEX_LOCK, command=command or _command_line())
    try:
        lock.acquire(wait)
    except LockBusy as exc:
        raise LockBusy(
            f"another reindex is running on {data_dir}: {_who(exc.holder)}; "
            "wait for it to finish (or pass --wait SECONDS)",
            exc.holder,
        ) from None
    # Checked under the index lock: `acquire_serve_lock` takes the index lock after the serve
    # lock, so a serve that starts now waits for this reindex instead of racing it.
    owner = serve_holder(data_dir)
    if owner is not None:
        lock.release()
        raise LockBusy(
            f"a running bot owns the index in {data_dir}: {owner.describe()}; the embedded store "
            "cannot be shared between processes, so reindex from the bot (/reindex in Telegram), "
            "stop the bot first, or use a Chroma server (NEWSBOT_CHROMA_HOST)",
            owner,
        )
    return lock


def acquire_serve_lock(data_dir: Path, *, wait: float = 30.0, command: str = "newsbot serve") -> ProcessLock:
    """Take `<data_dir>/serve.lock` for the lifetime of `newsbot serve` (release it on shutdown).

    Call it before opening the store. Refuses with `LockBusy` if another bot already runs on this
    data dir, or if a `newsbot index` run is still going after `wait` seconds (the bot would
    otherwise start from a store another process is writing).
    """
    data_dir = writable_data_dir(data_dir)
    lock = ProcessLock(data_dir / SERVE_LOCK, command=command)
    try:
        lock.acquire(0.0)
    except LockBusy as exc:
        raise LockBusy(
            f"another bot already runs on {data_dir}: {_who(exc.holder)}",
            exc.holder,
        ) from None
    probe = ProcessLock(data_dir / INDEX_LOCK, command=command)
    try:
        probe.acquire(wait)
    except LockBusy as exc:
        lock.release()
        raise LockBusy(
            f"a reindex is still running on {data_dir} after {wait:g} s: "
            f"{_who(exc.holder)}; start the bot when it is done",
            exc.holder,
        ) from None
    probe.release()
    return lock


def _who(holder: LockHolder | None) -> str:
    return holder.describe() if holder else "unknown holder"


def _command_line() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    args = " ".join(sys.argv[1:3])
    return f"{name} {args}".strip()
