"""Fetch state in a hidden file of the corpus folder (never indexed): `.newsbot-fetch.json`.

Per feed: the validators of the last answer (ETag, Last-Modified), when it last succeeded and
failed and why, consecutive failures and the time before which it is not tried again, and the
entries seen (each entry's fingerprint, article id and path, or its failures). Per page: the
validators, so a re-fetch is a conditional request. A state file that cannot be read is set
aside as `.newsbot-fetch.json.bad` and fetching starts afresh (files already written stay).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.fetch.corpus import write_json_atomic

STATE_FILE = ".newsbot-fetch.json"
LOCK_FILE = ".newsbot-fetch.lock"
VERSION = 1

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FetchState:
    """The whole state; `feeds` and `pages` are plain JSON-ready dicts keyed by URL."""

    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, corpus_dir: Path) -> FetchState:
        """The saved state, or an empty one (a damaged file is set aside, not fatal)."""
        path = corpus_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("fetch state %s unreadable (%s); starting afresh", path, exc)
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict) \
                or not isinstance(data.get("pages"), dict):
            try:
                path.replace(path.with_name(STATE_FILE + ".bad"))
            except OSError:
                pass
            return cls()
        return cls(feeds=data["feeds"], pages=data["pages"])

    def save(self, corpus_dir: Path) -> None:
        """Write the state atomically."""
        write_json_atomic(corpus_dir / STATE_FILE, {"version": VERSION, "feeds": self.feeds, "pages": self.pages})

    def feed(self, url: str) -> dict[str, Any]:
        """The state of one feed (created empty on first use)."""
        entry = self.feeds.setdefault(url, {})
        entry.setdefault("entries", {})
        return entry
