"""What the bot keeps between updates: shared state in `bot_data`, per-chat memory in `chat_data`."""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict, deque
from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.answer import Answer
from bot.core import Newsroom, Turn
from bot.telegram.access import AccessPolicy, RateLimiter
from bot.telegram.feedback import CitedRef, FeedbackLog

STATE_KEY = "newsbot"
HISTORY_KEY = "history"
ANSWERS_KEY = "answers"


@dataclass(slots=True)
class BotState:
    """Everything the handlers share, stored once in `application.bot_data[STATE_KEY]`."""

    newsroom: Newsroom
    policy: AccessPolicy
    limiter: RateLimiter
    feedback: FeedbackLog
    progress_interval: float = 2.0  # seconds between reindex status edits, at most one edit per interval
    typing_interval: float = 4.5  # Telegram shows "typing…" for about 5 s per chat action
    history_turns: int = 4
    answers_kept: int = 50  # per chat, for the passage and feedback buttons
    refused_users: set[int] = field(default_factory=set)
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    user_locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def user_lock(self, user_id: int) -> asyncio.Lock:
        """One answer at a time per user, so a flood from one user can't occupy every worker."""
        lock = self.user_locks.get(user_id)
        if lock is None:
            lock = self.user_locks[user_id] = asyncio.Lock()
        return lock


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the buttons under one answer need: the cited chunk ids and the text for feedback."""

    question: str
    text: str
    cited: tuple[CitedRef, ...]
    abstained: bool
    answerer: str
    pages: tuple[str, ...] = ()  # a long timeline answer's pages (HTML), for its older/newer buttons
    newest_first: bool = False

    @classmethod
    def from_answer(cls, question: str, answer: Answer) -> AnswerRecord:
        """Keep only the ids of what was cited, not the passages."""
        cited = tuple(
            CitedRef(n=c.n, article_id=c.passage.article_id, chunk_id=c.passage.chunk_id)
            for c in sorted(answer.citations, key=lambda c: c.n)
        )
        return cls(question, answer.text, cited, answer.abstained, answer.answerer)

    def with_pages(self, pages: list[str], *, newest_first: bool) -> AnswerRecord:
        """This record with a timeline's pages kept for paging."""
        return replace(self, pages=tuple(pages), newest_first=newest_first)

    def chunk_id(self, n: int) -> str | None:
        """The chunk behind marker `[n]`, if it was cited."""
        return next((c.chunk_id for c in self.cited if c.n == n), None)


def history(chat_data: MutableMapping[Any, Any], turns: int) -> deque[Turn]:
    """This chat's last few turns, oldest first (created on first use)."""
    found = chat_data.get(HISTORY_KEY)
    if not isinstance(found, deque) or found.maxlen != turns:
        found = deque(found or (), maxlen=turns)
        chat_data[HISTORY_KEY] = found
    return found


def remember_answer(chat_data: MutableMapping[Any, Any], record: AnswerRecord, keep: int) -> str:
    """Store an answer under a new short key (for callback data) and return the key."""
    answers = chat_data.setdefault(ANSWERS_KEY, OrderedDict())
    key = secrets.token_urlsafe(6)
    while key in answers:
        key = secrets.token_urlsafe(6)
    answers[key] = record
    while len(answers) > keep:
        answers.popitem(last=False)
    return key


def recall_answer(chat_data: MutableMapping[Any, Any], key: str) -> AnswerRecord | None:
    """The answer stored under `key` in this chat, or None if it is unknown or too old."""
    answers = chat_data.get(ANSWERS_KEY)
    return answers.get(key) if answers else None
