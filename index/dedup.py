"""Near-duplicate articles (the same wire story run by several outlets), found at index time.

Each article body gets a MinHash signature (datasketch, 128 permutations) of its word 4-grams;
MinHash LSH proposes candidate pairs, and a pair is a copy when the estimated Jaccard similarity
of the two shingle sets is at least `JACCARD_MIN` **and** they were published within
`MAX_DAYS_APART` days of each other (or one is undated): updated versions of a live story weeks
apart, or recurring columns that share boilerplate, are not copies. Copies are grouped (union
find) into clusters; the canonical of a cluster is its earliest article (undated last), then the
longest body, then the smallest id — deterministic, so a rebuild finds the same clusters.
docs/duplicates.md has the measurements behind the numbers.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

NUM_PERM = 128
SHINGLE_WORDS = 4
MIN_SHINGLES = 40  # shorter bodies are never merged (short texts collide by chance)
JACCARD_MIN = 0.7
LSH_THRESHOLD = 0.6  # candidate search is looser than the check, so few true pairs are missed
MAX_DAYS_APART = 2.0
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class DedupItem:
    """What clustering needs of one article."""

    article_id: str
    signature: np.ndarray | None  # None: too short to compare
    published_at: datetime | None
    length: int


def signature(body: str) -> np.ndarray | None:
    """The MinHash signature of `body`'s word 4-grams (lower-cased), or None for a short body."""
    words = _WORD.findall(body.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8")
                for i in range(len(words) - SHINGLE_WORDS + 1)}
    if len(shingles) < MIN_SHINGLES:
        return None
    from datasketch import MinHash  # lazy: it costs ~0.5 s (scipy), and a short body needs none

    minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype(np.uint32)


def certainly_short(body: str) -> bool:
    """True when `body` has too few words for any signature (`signature` returns None for it).

    Cheap (stops counting once there are enough words): a parsed article that is unchanged keeps
    this instead of its text (`index.models.ArticleStub`), so a missing signature in its manifest
    record is known to mean "too short" rather than "recorded before signatures".
    """
    needed = MIN_SHINGLES + SHINGLE_WORDS - 1
    for count, _ in enumerate(_WORD.finditer(body.lower()), 1):
        if count >= needed:
            return False
    return True


def encode(sig: np.ndarray | None) -> str | None:
    """A signature as a compact string (stored in the article's manifest record)."""
    return None if sig is None else base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def decode(text: object) -> np.ndarray | None:
    """The signature `encode` stored, or None when absent or malformed."""
    if not isinstance(text, str) or not text:
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:
        return None
    if len(raw) != NUM_PERM * 4:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def clusters(items: Iterable[DedupItem]) -> dict[str, str]:
    """Copy → canonical article id, for every article that is a copy of another (canonicals absent)."""
    from datasketch import MinHash, MinHashLSH

    usable = {item.article_id: item for item in items if item.signature is not None}
    if len(usable) < 2:
        return {}
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    permutations = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations  # computed once
    hashes: dict[str, MinHash] = {}
    for aid in sorted(usable):
        minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32", permutations=permutations,
                          hashvalues=usable[aid].signature.astype(np.uint64))
        hashes[aid] = minhash
        lsh.insert(aid, minhash)
    parent = {aid: aid for aid in usable}

    def root(aid: str) -> str:
        while parent[aid] != aid:
            parent[aid] = parent[parent[aid]]
            aid = parent[aid]
        return aid

    for aid in sorted(usable):
        item = usable[aid]
        for other in lsh.query(hashes[aid]):
            if other <= aid:
                continue
            peer = usable[other]
            if similarity(item.signature, peer.signature) < JACCARD_MIN:  # type: ignore[arg-type]
                continue
            if not _close_in_time(item.published_at, peer.published_at):
                continue
            parent[root(other)] = root(aid)
    groups: dict[str, list[DedupItem]] = {}
    for aid, item in usable.items():
        groups.setdefault(root(aid), []).append(item)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        canonical = min(members, key=_canonical_order).article_id
        out.update({m.article_id: canonical for m in members if m.article_id != canonical})
    return out


def _canonical_order(item: DedupItem) -> tuple[int, float, int, str]:
    when = item.published_at
    stamp = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() if when else 0.0
    return (0 if when else 1, stamp, -item.length, item.article_id)


def _close_in_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return True
    a = a if a.tzinfo else a.replace(tzinfo=UTC)
    b = b if b.tzinfo else b.replace(tzinfo=UTC)
    return abs((a - b).total_seconds()) <= MAX_DAYS_APART * 86400
