"""Article files in the corpus folder: one JSON file per article, named from its URL's hash, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

FETCHED_DIR = "fetched"  # under the corpus folder
_TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_VOLATILE = ("fetched_at",)  # fields that change on every fetch without changing the article


def normalise_url(url: str) -> str:
    """The URL an article is known by: no fragment, no tracking parameters, lower-case scheme and host."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def article_id(url: str) -> str:
    """The stable id of the article at (normalised) `url`: `web-` and 16 hex digits of its SHA-256."""
    return "web-" + hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()[:16]


def article_path(article_id_: str) -> str:
    """Where that article lives, relative to the corpus folder."""
    return f"{FETCHED_DIR}/{article_id_}.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as JSON to `path` via a hidden temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_article(corpus_dir: Path, record: dict[str, Any]) -> tuple[str, str]:
    """Write one article record; returns (relative path, "added" | "updated" | "unchanged").

    An existing file whose content differs only in `fetched_at` is left alone ("unchanged"), so
    the indexer sees no change and the file keeps its first fetch time.
    """
    rel = article_path(record["id"])
    path = corpus_dir / rel
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict):
        if _comparable(old) == _comparable(record):
            return rel, "unchanged"
        status = "updated"
    else:
        status = "added"
    write_json_atomic(path, record)
    return rel, status


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _VOLATILE}
