"""The one fake core for tests: a real `bot.core.Newsroom` subclass with canned behaviour.

Import it the way tests import their other helpers (`from conftest import FakeNewsroom`, or
`tests.conftest` when tests/ is imported as a package); a subprocess can import it with tests/ on
its path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.answer import ABSTAIN_TEXT, Answer, Citation, Passage
from bot.core import Filters, Newsroom, ProgressCallback, Turn
from index.models import IndexProgress, IndexReport, IndexStats


def make_passage(n: int, *, text: str | None = None, title: str | None = None, source: str = "Harbor Gazette",
                 url: str | None = "https://news.example/bridge") -> Passage:
    """A synthetic passage `c<n>` of article `a<n>`."""
    return Passage(
        chunk_id=f"c{n}",
        article_id=f"a{n}",
        text=text or f"Passage {n}: the council voted 7-2 to approve the harbour bridge.",
        start=0,
        end=60,
        title=title or f"Council story {n}",
        source=source,
        published_at=datetime(2024, 3, n),
        url=url,
        score=1.0 / n,
    )


@dataclass(frozen=True)
class Asked:
    """One recorded `FakeNewsroom.ask` call."""

    question: str
    history: list[Turn]
    filters: Filters | None
    k: int | None


class FakeNewsroom(Newsroom):
    """A real `Newsroom` subclass with canned answers, passages, stats and reindex progress.

    `ask` records every call in `calls`, then returns `answers[question]` when there is one, else
    `reply(question)`; the default reply abstains when the question holds "nothing" and otherwise
    answers "The council approved the bridge [1]. Work starts in autumn [2]." citing the first two
    passages. `reindex` reports each of `ticks` (calling `after_tick(i)` after tick i) and returns
    `report`.
    """

    def __init__(self, passages: Sequence[Passage] = (), *, answers: dict[str, Answer] | None = None,
                 reply: Callable[[str], Answer] | None = None, ticks: Sequence[IndexProgress] = (),
                 report: IndexReport | None = None,
                 after_tick: Callable[[int], None] | None = None) -> None:
        self.passages = {p.chunk_id: p for p in (passages or (make_passage(1), make_passage(2)))}
        self.answers: dict[str, Answer] = dict(answers or {})
        self.reply = reply or self.bridge_reply
        self.calls: list[Asked] = []
        self.ticks = list(ticks)
        self.report = report or IndexReport(
            added=2, updated=1, removed=0, unchanged=5, chunks=40, seconds=1.5
        )
        self.after_tick = after_tick
        self.reindex_calls = 0

    def bridge_reply(self, question: str) -> Answer:
        """The default reply (see the class docstring)."""
        if "nothing" in question.lower():
            return Answer(question=question, text=ABSTAIN_TEXT, abstained=True)
        cited = list(self.passages.values())[:2]
        return Answer(
            question=question,
            text="The council approved the bridge [1]. Work starts in autumn [2].",
            citations=[Citation(n=i + 1, passage=p) for i, p in enumerate(cited)],
            retrieved=cited,
        )

    def ask(self, question: str, *, history: Sequence[Turn] = (), filters: Filters | None = None,
            k: int | None = None) -> Answer:
        self.calls.append(Asked(question, list(history), filters, k))
        if question in self.answers:
            return self.answers[question]
        return self.reply(question)

    def reindex(self, corpus_dir: Path | None = None, *, rebuild: bool = False, force: bool = False,
                progress: ProgressCallback | None = None) -> IndexReport:
        self.reindex_calls += 1
        for i, tick in enumerate(self.ticks):
            if progress is not None:
                progress(tick)
            if self.after_tick is not None:
                self.after_tick(i)
        return self.report

    def stats(self) -> IndexStats:
        return IndexStats(
            articles=12, chunks=40, sources={"Harbor Gazette": 7, "Valley <Times> & Co": 5},
            earliest=datetime(2023, 1, 2), latest=datetime(2024, 3, 9),
            store="chroma (embedded)", model="all-MiniLM-L6-v2", chunker="sentences-v1",
        )

    def passage(self, chunk_id: str) -> Passage | None:
        return self.passages.get(chunk_id)
