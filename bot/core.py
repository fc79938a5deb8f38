"""The one core API that the Telegram bot, the CLI and the REPL call.

Interfaces parse input, call a `Newsroom` method and format the result; they never reach
into the store, the retriever or the answerers themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.answer import Answer, Passage
from index.models import IndexProgress, IndexReport, IndexStats


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
    ) -> IndexReport:
        """Bring the index in step with the corpus folder (incremental unless `rebuild`)."""

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
