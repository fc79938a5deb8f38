"""The concrete `Newsroom`: validation → chit-chat → follow-up resolution → retrieval → answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from bot import timeline as tl
from bot.answer import ABSTAIN_TEXT, ERROR_TEXT, Answer, Answerer, Passage
from bot.conversation import (
    asks_for_more,
    chitchat_reply,
    clean_question,
    is_chitchat,
    resolve_followup,
    validate_question,
)
from bot.core import Busy, FetchResult, Filters, Newsroom, ProgressCallback, Quotes, ReindexBusy, Turn
from bot.retrieval import Retrieval
from index.fetch.errors import FetchBusy
from index.fetch.fetcher import FeedStatus, Fetcher, FetchReport
from index.indexer import Indexer, collect_stats
from index.locking import LockBusy, acquire_index_lock
from index.models import IndexReport, IndexStats
from index.text import SPEECH_QUESTION, content_terms

Rewriter = Callable[[Sequence[Turn], str], str | None]
SPEAKER_PASSAGES = 3  # passages where the speaker asked about speaks, added when retrieval missed them

log = logging.getLogger(__name__)


class NewsroomService(Newsroom):
    """Answers from one index; reindexes it in-process so readers and the writer share one client."""

    def __init__(
        self,
        *,
        retriever: Retrieval,
        answerer: Answerer,
        indexer: Indexer,
        corpus_dir: Path,
        default_k: int = 8,
        rewriter: Rewriter | None = None,
        fetcher: Fetcher | None = None,
        index_wait: float = 60.0,
        statements: tl.StatementIndex | None = None,
    ):
        self.retriever = retriever
        self.answerer = answerer
        self.indexer = indexer
        self.corpus_dir = corpus_dir
        self.default_k = default_k
        self.rewriter = rewriter
        self.fetcher = fetcher
        self.index_wait = index_wait  # seconds a fetch waits for another reindex before leaving it to the next
        self._reindex_lock = threading.Lock()
        self.statements = statements  # the statement index (timelines, quotes, earlier statements)

    @property
    def store(self):
        return self.indexer.store

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Answer:
        """Answer one question from the coverage (see `Newsroom.ask`)."""
        started = time.perf_counter()
        problem = validate_question(question)
        if problem:
            return Answer(question=question, text=problem, kind="invalid")
        cleaned = clean_question(question)
        if is_chitchat(cleaned):
            return Answer(question=cleaned, text=chitchat_reply(cleaned), kind="chitchat")

        t = time.perf_counter()
        standalone = None
        if self.rewriter is not None and history:
            standalone = self.rewriter(history, cleaned)
        if not standalone:
            standalone = resolve_followup(cleaned, history)
        resolve_ms = (time.perf_counter() - t) * 1000

        if self.statements is not None:
            timeline = self._timeline_query(cleaned, standalone, history)
            if timeline is not None:
                answer = self._timeline_answer(cleaned, timeline, filters or Filters())
                answer.standalone_query = standalone
                answer.timings = {"resolve": resolve_ms, "total": (time.perf_counter() - started) * 1000}
                return answer

        result = self.retriever.retrieve(standalone, k=k or self.default_k, filters=filters)
        passages = list(result.passages)
        if self.statements is not None:
            passages = self._speaker_first(standalone, passages, filters or Filters())
        avoid: frozenset[str] = frozenset()
        if asks_for_more(cleaned, history):
            avoid = frozenset(c.quote for t in history if t.answer for c in t.answer.citations if c.quote)
        try:
            answer = self.answerer.answer(cleaned, passages, query=standalone, avoid=avoid)
        except Exception:  # noqa: BLE001 - a bug in answering one question must not end the process
            log.exception("answering failed (answerer %s) for question %r", self.answerer.name, cleaned)
            answer = Answer(question=cleaned, text=ERROR_TEXT, kind="error", answerer=self.answerer.name)
        answer.retrieved = passages
        answer.standalone_query = standalone
        if self.statements is not None and not answer.abstained and answer.kind == "answer":
            self._add_earlier_statements(answer, standalone, filters or Filters())
        answer.timings = {
            "resolve": resolve_ms,
            **result.timings,
            **answer.timings,
            "total": (time.perf_counter() - started) * 1000,
        }
        return answer

    # --- statements ----------------------------------------------------------------------------
    def _timeline_query(self, cleaned: str, standalone: str, history: Sequence[Turn]) -> tl.TimelineQuery | None:
        """The timeline the question asks for: a follow-up of a timeline answer, or a new one."""
        last = history[-1].answer if history else None
        if last is not None and last.timeline is not None:
            shown = [date.fromisoformat(d) for d in last.timeline.get("shown", [])]
            sources = self.statements.statement_sources() if self.statements is not None else []
            narrowed = tl.followup(cleaned, tl.TimelineQuery.from_dict(last.timeline), shown, sources)
            if narrowed is not None:
                return narrowed
        return tl.parse_timeline(standalone) or tl.parse_timeline(cleaned)

    def _timeline_answer(self, question: str, query: tl.TimelineQuery, filters: Filters) -> Answer:
        assert self.statements is not None
        self.retriever.refresh()
        speaker = tl.resolve_speaker(self.statements, query.speaker)
        if speaker is None:
            return Answer(
                question=question,
                text=ABSTAIN_TEXT,
                abstained=True,
                warnings=[f"abstained: no statement by {query.speaker} in the coverage"],
                timeline=query.to_dict(),
            )
        found = tl.find_statements(self.statements, speaker, topic=query.topic, source=query.source or filters.source)
        if query.date_words and found:
            days = [d for d in (tl.statement_date(s) for s in found) if d]
            since, until = tl.date_range(query.date_words, max(days) if days else date.today())
            query = replace(query, since=since, until=until, date_words="")
        since = query.since or filters.since
        until = query.until or filters.until
        if since or until:
            found = tl.find_statements(
                self.statements, speaker, topic=query.topic, source=query.source or filters.source,
                since=since, until=until,
            )
        return tl.compose(question, query, speaker, found, self.retriever.passage)

    def _speaker_first(self, standalone: str, passages: list[Passage], filters: Filters) -> list[Passage]:
        """"What did X say about Y?": retrieval filtered by speaker. The passages in which the
        statement index has X speaking on Y come first; up to `SPEAKER_PASSAGES` of them that
        retrieval missed (the newest first) are added, scored as the weakest one kept, and the list
        keeps its length. Other questions, and speakers the index does not know, are left as is."""
        m = SPEECH_QUESTION.match(standalone)
        if not m or not passages or self.statements is None:
            return passages
        speaker = tl.resolve_speaker(self.statements, m.group("x"))
        if speaker is None:
            return passages
        topic = " ".join(content_terms(m.group("rest")))
        found = tl.find_statements(
            self.statements, speaker, topic=topic, source=filters.source, since=filters.since, until=filters.until
        )
        chunks = list(dict.fromkeys(s.statement.chunk_id for s in reversed(found)))
        if not chunks:
            return passages
        speaking = set(chunks)
        front = [p for p in passages if p.chunk_id in speaking]
        rest = [p for p in passages if p.chunk_id not in speaking]
        have = {p.chunk_id for p in passages}
        floor = min(p.score for p in (front or passages))
        added = []
        for chunk_id in chunks:
            if len(added) >= SPEAKER_PASSAGES:
                break
            if chunk_id not in have and (p := self.retriever.passage(chunk_id)) is not None:
                added.append(replace(p, score=floor))
        return (front + added + rest)[: len(passages)]

    def _add_earlier_statements(self, answer: Answer, standalone: str, filters: Filters) -> None:
        """"What did X say about Y?": the best answer's article first, then X's other dated
        statements on Y ("Earlier statements", "Later statements"), each cited."""
        m = SPEECH_QUESTION.match(standalone)
        if not m or not answer.citations or answer.short_answer is not None or self.statements is None:
            return
        speaker = tl.resolve_speaker(self.statements, m.group("x"))
        if speaker is None:
            return
        topic = " ".join(content_terms(m.group("rest")))
        found = tl.find_statements(self.statements, speaker, topic=topic, source=filters.source)
        tl.add_other_statements(answer, found, self.retriever.passage)

    def quotes(
        self,
        speaker: str,
        *,
        about: str | None = None,
        since: date | None = None,
        until: date | None = None,
        source: str | None = None,
    ) -> Quotes:
        """A speaker's statements, oldest first (see `Newsroom.quotes`)."""
        if self.statements is None:
            raise NotImplementedError("this newsroom has no statement index")
        self.retriever.refresh()
        found = tl.resolve_speaker(self.statements, speaker)
        if found is None:
            return Quotes(asked=speaker, speaker=None)
        rows = tl.find_statements(self.statements, found, topic=about or "", source=source, since=since, until=until)
        return Quotes(asked=speaker, speaker=found.label, statements=rows)

    def reindex(
        self,
        corpus_dir: Path | None = None,
        *,
        rebuild: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
        wait: float = 0.0,
    ) -> IndexReport:
        """Run the incremental indexer; readers switch to the new index when it commits.

        Raises `ReindexBusy` when a reindex already runs in this process, or (embedded store)
        when another process still holds `<data_dir>/index.lock` after `wait` seconds.
        """
        if not self._reindex_lock.acquire(blocking=False):
            raise ReindexBusy("a reindex is already running")
        try:
            os_lock = None
            data_dir = getattr(self.store, "data_dir", None)
            if data_dir is not None:
                try:
                    os_lock = acquire_index_lock(data_dir, wait=wait, command="newsbot reindex")
                except LockBusy as exc:
                    raise ReindexBusy(str(exc), exc.holder) from None
            try:
                report = self.indexer.run(
                    corpus_dir or self.corpus_dir, rebuild=rebuild, force=force, progress=progress
                )
            finally:
                if os_lock is not None:
                    os_lock.release()
            # Still "reindexing" until this process's readers see the new index.
            self.retriever.refresh(force=True)
        finally:
            self._reindex_lock.release()
        return report

    @property
    def reindexing(self) -> bool:
        """True while a reindex runs in this process."""
        return self._reindex_lock.locked()

    def fetch(self, *, always_reindex: bool = False) -> FetchResult:
        """Poll the feeds into the corpus, then reindex (see `Newsroom.fetch`)."""
        fetcher = self._need_fetcher()
        try:
            report = fetcher.fetch_feeds()
        except FetchBusy as exc:
            raise Busy(str(exc)) from None
        return self._index_fetched(report, always=always_reindex)

    def add(self, urls: Sequence[str], *, public_only: bool = False) -> FetchResult:
        """Fetch links into the corpus, then reindex (see `Newsroom.add`)."""
        fetcher = self._need_fetcher()
        try:
            report = fetcher.add(urls, public_only=public_only)
        except FetchBusy as exc:
            raise Busy(str(exc)) from None
        return self._index_fetched(report)

    def feed_status(self) -> list[FeedStatus]:
        """Each configured feed's state (raises `FeedsFileError` without a usable feeds file)."""
        return self._need_fetcher().status()

    def _need_fetcher(self) -> Fetcher:
        if self.fetcher is None:
            raise NotImplementedError("this newsroom does not fetch")
        return self.fetcher

    def _index_fetched(self, report: FetchReport, *, always: bool = False) -> FetchResult:
        result = FetchResult(report)
        if report.wrote or always:
            try:
                result.index = self.reindex(wait=self.index_wait)
            except ReindexBusy as exc:
                result.index_error = f"{exc}; the new files are indexed by the next reindex"
        stored = [*report.new, *report.updated, *report.unchanged]
        if stored:
            manifest = self.store.manifest()
            result.passages = {
                item.article_id: len(manifest[item.article_id].chunk_ids)
                for item in stored if item.article_id in manifest
            }
        return result

    def stats(self) -> IndexStats:
        """Counts, sources and date range of the committed index."""
        return collect_stats(self.store)

    def passage(self, chunk_id: str) -> Passage | None:
        """A stored passage by id, or None when it is no longer in the index."""
        return self.retriever.passage(chunk_id)

    def warm_up(self) -> None:
        """Load the models (embedding, the reader's spaCy) and bring the lexical index in step
        before the first question."""
        self.retriever.refresh(force=True)
        self.retriever.retrieve("warm up", k=1)
        self.answerer.warm_up()

    def is_empty(self) -> bool:
        """True when nothing has been indexed yet (first use)."""
        return self.store.count_articles() == 0
