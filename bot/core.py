"""The one core API that the Telegram bot, the CLI and the REPL call.

Interfaces parse input, call a `Newsroom` method and format the result; they never reach
into the store, the retriever or the answerers themselves. The error types an interface maps to
a message (and the CLI to an exit code) are exported here: `BackendUnavailable` (store, embedding
model or data folder unusable), `ReindexBusy`/`Busy`, `IndexRefused`, `ConfigError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.answer import Answer, Passage
from index.errors import BackendUnavailable
from index.indexer import IndexRefused
from index.models import IndexProgress, IndexReport, IndexStats

__all__ = [
    "BackendUnavailable",
    "Busy",
    "ConfigError",
    "Filters",
    "IndexRefused",
    "Newsroom",
    "ProgressCallback",
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

    def is_empty(self) -> bool:
        """True when nothing has been indexed yet (first use builds the index before answering)."""
        return self.stats().articles == 0

    def warm_up(self) -> None:
        """Load the model and the lexical index now, so the first question is fast (servers call this)."""
