"""Who may use the bot (allowlists, admins) and how often (a per-user token bucket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may use the bot: a listed user, a member of a listed chat, or an admin.

    Fail closed: with every list empty nobody is allowed, unless `everyone` is set explicitly
    (`NEWSBOT_ALLOW_EVERYONE=true`). Admins alone are an allowlist of those admins. Admins are
    the only ones who may run /stats and /reindex.
    """

    allowed_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    admin_user_ids: frozenset[int] = frozenset()
    everyone: bool = False

    @classmethod
    def from_ids(
        cls,
        users: Iterable[int] = (),
        chats: Iterable[int] = (),
        admins: Iterable[int] = (),
        *,
        everyone: bool = False,
    ) -> AccessPolicy:
        """Build a policy from plain id lists (as found in `Settings`)."""
        return cls(frozenset(users), frozenset(chats), frozenset(admins), everyone)

    @property
    def is_open(self) -> bool:
        """True when anyone who finds the bot may use it (only ever by explicit choice)."""
        return self.everyone

    @property
    def has_allowlist(self) -> bool:
        """True when some user, chat or admin is listed."""
        return bool(self.allowed_user_ids or self.allowed_chat_ids or self.admin_user_ids)

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether this user in this chat may use the bot."""
        if self.everyone:
            return True
        if user_id is not None and (user_id in self.allowed_user_ids or user_id in self.admin_user_ids):
            return True
        return chat_id is not None and chat_id in self.allowed_chat_ids

    def is_admin(self, user_id: int | None) -> bool:
        """Whether this user may run the admin commands."""
        return user_id is not None and user_id in self.admin_user_ids


class RateDecision(Enum):
    """What to do with one request: serve it, say "slow down" once, or stay silent."""

    ALLOW = "allow"
    WARN = "warn"
    SILENT = "silent"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


@dataclass(slots=True)
class RateLimiter:
    """A token bucket per user: `per_minute` requests a minute, bursts up to `per_minute`.

    Each user has their own bucket, so a flood from one user never uses up anyone else's.
    A throttled user is told to slow down once per throttling episode, then ignored until a
    token is available again.
    """

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, user_id: int) -> RateDecision:
        """Take a token for this user if there is one."""
        now = self.clock()
        rate = self.per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(user_id)
            if bucket is None:
                bucket = self._buckets[user_id] = _Bucket(tokens=float(self.per_minute), updated=now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.warned = False
                return RateDecision.ALLOW
            if bucket.warned:
                return RateDecision.SILENT
            bucket.warned = True
            return RateDecision.WARN
