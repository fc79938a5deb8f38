"""The one core API that the Telegram bot, the CLI and the REPL call.

Interfaces parse input, call a `Newsroom` method and format the result; they never reach
into the store, the retriever or the answerers themselves. The error types an interface maps to
a message (and the CLI to an exit code) are exported here: `BackendUnavailable` (store, embedding
model or data folder unusable), `ReindexBusy`/`Busy`, `IndexRefused`, `ConfigError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answer import Answer, Passage
from index.errors import BackendUnavailable
from index.fetch.errors import FeedsFileError
from index.indexer import IndexRefused
from index.models import IndexProgress, IndexReport, IndexStats

if TYPE_CHECKING:
    from index.fetch.fetcher import FeedStatus, FetchReport
    from index.statements import StoredStatement

__all__ = [
    "BackendUnavailable",
    "Busy",
    "ConfigError",
    "FeedsFileError",
    "FetchResult",
    "Filters",
    "IndexRefused",
    "Newsroom",
    "ProgressCallback",
    "Quotes",
    "ReindexBusy",
    "Turn",
]


class ConfigError(ValueError):
    """A setting has a bad value; the message is one line naming the setting.

    `label`, when set, prefixes the message where it is shown ("bad setting: NEWSBOT_X: …").
    """

    label = ""


class Busy(RuntimeError):
    """Another process holds what this one needs (the index lock, or a bot owns the embedded store).

    `holder` describes that process when it is known (`index.locking.LockHolder`).
    """

    def __init__(self, message: str, holder: object | None = None):
        super().__init__(message)
        self.holder = holder


class ReindexBusy(Busy):
    """A reindex is already running (in this process, or another holds the store's index lock)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Metadata filters and the optional as-of date (recency favours coverage from around then)."""

    source: str | None = None
    since: date | None = None
    until: date | None = None
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a conversation, oldest first in a history."""

    question: str
    answer: Answer | None = None


ProgressCallback = Callable[[IndexProgress], None]


@dataclass(slots=True)
class FetchResult:
    """What `Newsroom.fetch`/`add` did: the fetch report, then the index run (None when nothing was written).

    `index_error` says why the index did not run although files were written (another reindex
    held the lock); the files are then indexed by the next reindex. `passages` maps each stored
    article's id to its passages in the index.
    """

    report: FetchReport
    index: IndexReport | None = None
    index_error: str | None = None
    passages: dict[str, int] = field(default_factory=dict)

    def to_dict(self, new_key: str = "fetched") -> dict[str, object]:
        out = self.report.to_dict(new_key)
        out["index"] = self.index.to_dict() if self.index else None
        if self.index_error:
            out["index_error"] = self.index_error
        return out


@dataclass(slots=True)
class Quotes:
    """What `Newsroom.quotes` found: the speaker as the coverage names them (None: nobody of that
    name speaks in it) and their statements, oldest first."""

    asked: str
    speaker: str | None
    statements: list[StoredStatement] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """`{"speaker", "statements": [{speaker, published_at, source, title, article_id, text, start, end}]}`."""
        return {"speaker": self.speaker or self.asked, "statements": [s.to_dict() for s in self.statements]}


class Newsroom(ABC):
    """The service core: answering, reindexing and stats over one index.

    Built by `bot.wiring.build_newsroom(settings)`; tests build it from fakes.
    """

    @abstractmethod
    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Answer:
        """Answer one question from the coverage, with citations, or abstain."""

    @abstractmethod
    def reindex(
        self,
        corpus_dir: Path | None = None,
        *,
        rebuild: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
        wait: float = 0.0,
    ) -> IndexReport:
        """Bring the index in step with the corpus folder (incremental unless `rebuild`).

        Raises `ReindexBusy` if another reindex still runs after `wait` seconds, `IndexRefused`
        when the run would remove most of the index without `force`, `FileNotFoundError` when the
        corpus folder is missing, `BackendUnavailable` when the store or model fails.
        """

    @abstractmethod
    def stats(self) -> IndexStats:
        """Counts, sources and date range of what is indexed."""

    @abstractmethod
    def passage(self, chunk_id: str) -> Passage | None:
        """One stored passage by chunk id (for "show passage" buttons), or None if gone."""

    def fetch(self, *, always_reindex: bool = False) -> FetchResult:
        """Poll the configured feeds, store new and changed articles in the corpus, then reindex.

        The reindex runs when a file was written, or always with `always_reindex` (the bot's poll:
        files another process fetched but could not index are picked up then).

        Raises `FeedsFileError` for a missing or malformed feeds file, `Busy` when another fetch
        runs, `FileNotFoundError` when the corpus folder is missing. Feeds and pages that fail are
        listed in the report, never raised.
        """
        raise NotImplementedError("this newsroom does not fetch")

    def add(self, urls: Sequence[str], *, public_only: bool = False) -> FetchResult:
        """Fetch and store one article per link, then reindex; `public_only` for untrusted senders.

        Raises as `fetch` does (but needs no feeds file).
        """
        raise NotImplementedError("this newsroom does not fetch")

    def feed_status(self) -> list[FeedStatus]:
        """Each configured feed's last success, last error and article count."""
        raise NotImplementedError("this newsroom does not fetch")

    def quotes(
        self,
        speaker: str,
        *,
        about: str | None = None,
        since: date | None = None,
        until: date | None = None,
        source: str | None = None,
    ) -> Quotes:
        """A speaker's statements from the statement index, oldest first (a name, a surname or a
        role such as "the foreign secretary"); `about` keeps those whose passage is on that topic."""
        raise NotImplementedError("this newsroom has no statement index")

    def is_empty(self) -> bool:
        """True when nothing has been indexed yet (first use builds the index before answering)."""
        return self.stats().articles == 0

    def warm_up(self) -> None:
        """Load the model and the lexical index now, so the first question is fast (servers call this)."""
