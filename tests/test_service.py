"""The core `NewsroomService.ask` flow: validation, chit-chat, follow-ups, no repeated sentences."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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


def test_what_else_does_not_repeat_the_sentences_already_given(newsroom):
    first = newsroom.ask("What did Lammy say about passports?")
    assert first.citations[0].quote.startswith("Secretary Lammy stated that Russia is even using counterfeit passports")
    follow = newsroom.ask("What else did he say?", history=[Turn(first.question, first)])
    assert follow.standalone_query == "What else did Lammy say?"
    given = {c.quote for c in first.citations}
    assert follow.citations and not given & {c.quote for c in follow.citations}


def test_chitchat_and_invalid_input_are_not_searched(newsroom):
    hello = newsroom.ask("hi!")
    assert (hello.kind, hello.retrieved, hello.citations) == ("chitchat", [], [])
    empty = newsroom.ask("   ")
    assert empty.kind == "invalid" and empty.text.startswith("Please type a question")


def test_timings_cover_every_stage(newsroom):
    answer = newsroom.ask("What did Rutte say about North Korea?")
    assert {"resolve", "embed", "dense", "lexical", "fuse", "answer", "total"} <= set(answer.timings)
