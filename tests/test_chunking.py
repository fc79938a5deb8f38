"""Chunk boundaries fall on sentence ends, offsets map back to the body, ids are stable."""

from __future__ import annotations

from index.chunking import ChunkerConfig, chunk_article, embedding_text, sentence_spans
from index.models import Article

SENTENCES = [
    "The mayor opened the new bridge on Monday.",
    "Officials said it cost 12 million dollars.",
    "Critics called the project late and expensive.",
    "The U.S. Department of Transportation paid half.",
    "Traffic is expected to ease by 20 percent.",
    "Residents welcomed the shorter commute.",
]


def article(body: str, title: str = "Bridge opens") -> Article:
    return Article(id="bridge", title=title, body=body)


def test_sentence_spans_are_exact_and_flag_paragraph_starts():
    body = "First one. Second one.\n\nThird “quoted” one — with Ünïcode. Fourth."
    spans = sentence_spans(body)
    assert [body[s:e] for s, e, _ in spans] == [
        "First one.",
        "Second one.",
        "Third “quoted” one — with Ünïcode.",
        "Fourth.",
    ]
    assert [p for _, _, p in spans] == [True, False, True, False]


def test_chunks_end_on_sentence_ends_and_offsets_map_back():
    body = "\n\n".join(" ".join(SENTENCES[i:] + SENTENCES[:i]) for i in range(6))
    config = ChunkerConfig(target_chars=300, max_chars=450, min_chars=100)
    chunks = chunk_article(article(body), config)
    assert len(chunks) > 3
    ends = {e for _, e, _ in sentence_spans(body)}
    starts = {s for s, _, _ in sentence_spans(body)}
    for chunk in chunks:
        assert body[chunk.start : chunk.end] == chunk.text
        assert chunk.start in starts and chunk.end in ends
        assert len(chunk.text) <= 450
    # consecutive chunks overlap by exactly one sentence
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end
        assert body[b.start : a.end] in SENTENCES
    assert chunks[0].start == 0 and chunks[-1].end == len(body)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_overlong_sentence_is_cut_at_word_boundaries():
    long_sentence = "This sentence " + "goes on and on " * 100 + "until it ends."
    body = f"Short start. {long_sentence} Short end."
    config = ChunkerConfig(target_chars=300, max_chars=400, min_chars=100)
    chunks = chunk_article(article(body), config)
    assert [len(c.text) for c in chunks] == [311, 299, 299, 299, 340]
    for chunk in chunks:
        assert body[chunk.start : chunk.end] == chunk.text
        assert body[chunk.start - 1 : chunk.start].strip() == ""
        assert body[chunk.end : chunk.end + 1].strip() == ""
    assert chunks[0].text.startswith("Short start. This sentence goes on")
    assert chunks[-1].text.endswith("until it ends. Short end.")
    assert " ".join(c.text for c in chunks) == body


def test_text_without_spaces_is_cut_at_character_boundaries():
    body = "가" * 2500
    chunks = chunk_article(article(body), ChunkerConfig(target_chars=700, max_chars=1000, min_chars=200))
    assert [(c.start, c.end) for c in chunks] == [(0, 700), (700, 1400), (1400, 2100), (2100, 2500)]


def test_chunker_version_names_the_splitting_rules():
    assert ChunkerConfig().version == "sent2-700-1000-200-o1-t"


def test_tiny_trailing_chunk_joins_previous():
    body = " ".join(SENTENCES * 3) + "\n\nThat is all."
    chunks = chunk_article(article(body), ChunkerConfig(target_chars=300, max_chars=600, min_chars=100))
    assert chunks[-1].text.endswith("That is all.")
    assert chunks[-1].text != "That is all."


def test_ids_are_stable_and_change_with_content():
    body = " ".join(SENTENCES)
    a = [c.id for c in chunk_article(article(body))]
    assert a == [c.id for c in chunk_article(article(body))]
    assert a != [c.id for c in chunk_article(article(body + " One more."))]
    assert a != [c.id for c in chunk_article(article(body, title="Another title"))]


def test_embedding_text_carries_the_title():
    chunk = chunk_article(article(" ".join(SENTENCES)))[0]
    assert embedding_text(chunk) == "Bridge opens\n" + chunk.text
    assert embedding_text(chunk, ChunkerConfig(title_in_embedding=False)) == chunk.text


def test_empty_body_gives_no_chunks():
    assert chunk_article(article("   \n\n  ")) == []
