"""The core `NewsroomService.ask` flow: validation, chit-chat, follow-ups, no repeated sentences."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from bot.answer import ABSTAIN_TEXT
from bot.conversation import EXAMPLE_QUESTION
from bot.core import Turn
from bot.settings import Settings
from bot.wiring import build_newsroom
from index.embedder import HashingEmbedder

SEED = Path(__file__).resolve().parent.parent / "corpus" / "kbs-2024-10-21-yoon-nato-rutte.txt"


@pytest.fixture
def newsroom(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", embedding_cache=False, _env_file=None)
    room = build_newsroom(settings, embedder=HashingEmbedder())
    room.reindex()
    return room


LAMMY_PASSPORTS = (
    "Secretary Lammy stated that Russia is even using counterfeit passports to draw in North Korea's military "
    "deployment and expressed a commitment to actively cooperate against security threats to Europe and South Korea."
)
GREETING = (
    "Hi! I answer questions from the newsroom's articles and cite the passages I used (outlet, date, "
    f"title, link); when the coverage doesn't say, I tell you so. Try: “{EXAMPLE_QUESTION}”"
)


def test_what_else_does_not_repeat_the_sentences_already_given(newsroom):
    first = newsroom.ask("What did Lammy say about passports?")
    assert [c.quote for c in first.citations] == [LAMMY_PASSPORTS]
    follow = newsroom.ask("What else did he say?", history=[Turn(first.question, first)])
    assert follow.standalone_query == "What else did Lammy say?"
    # Lammy speaks once in the coverage: the sentence that merely mentions him ("a meeting with UK
    # Foreign Secretary David Lammy") is Yoon speaking, so the reader abstains rather than quote it.
    assert (follow.text, follow.citations, follow.warnings) == (
        ABSTAIN_TEXT, [], ["abstained: no sentence has Lammy speaking"]
    )


def test_chitchat_and_invalid_input_are_not_searched(newsroom):
    hello = newsroom.ask("hi!")
    assert (hello.kind, hello.text, hello.retrieved, hello.citations, hello.timings) == (
        "chitchat", GREETING, [], [], {}
    )
    empty = newsroom.ask("   ")
    assert (empty.kind, empty.text, empty.retrieved, empty.timings) == (
        "invalid", f"Please type a question, for example: {EXAMPLE_QUESTION}", [], {}
    )


def test_timings_cover_every_stage(newsroom):
    """Milliseconds per stage; the stages are disjoint parts of the ask, so they add up to at most `total`."""
    answer = newsroom.ask("What did Rutte say about North Korea?")
    stages = {"resolve", "embed", "dense", "lexical", "fuse", "fetch", "answer"}
    assert set(answer.timings) == stages | {"total"}  # no "sync": the reindex already brought FTS5 in step
    assert all(type(v) is float and v >= 0.0 for v in answer.timings.values()), answer.timings
    assert answer.timings["total"] >= sum(answer.timings[s] for s in stages), answer.timings


class _LoadRecordingEmbedder(HashingEmbedder):
    """A real embedder that records which thread embedded which query."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[tuple[str, str]] = []
        self.done = threading.Event()

    def embed_query(self, text: str):
        self.queries.append((text, threading.current_thread().name))
        self.done.set()
        return super().embed_query(text)


@pytest.mark.parametrize("early", [True, False])
def test_a_core_for_questions_loads_the_model_before_the_first_question(tmp_path, early):
    settings = Settings(corpus_dir=tmp_path, data_dir=tmp_path / "data", embedding_cache=False, _env_file=None)
    embedder = _LoadRecordingEmbedder()
    build_newsroom(settings, embedder=embedder, load_model_early=early)
    assert embedder.done.wait(5.0 if early else 0.2) is early
    assert embedder.queries == ([("warm up", "newsbot-model-load")] if early else [])
