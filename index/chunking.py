"""Articles → passages a reader can be shown as a citation.

Chunks are sentence-aligned (a chunk never starts or ends mid-sentence, except that a "sentence"
longer than `max_chars` — text without sentence ends: unpunctuated words, URL lists — is cut into
pieces at word boundaries, or at character boundaries when it has no spaces), paragraph-aware (they
prefer to end at a paragraph end), sized for MiniLM's 256-token window together with the title
that is prepended for embedding, and overlap by one sentence. Each chunk records its character
offsets into the article body, so `article.body[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from index.models import Article, Chunk
from index.text import sentence_spans


@dataclass(frozen=True, slots=True)
class ChunkerConfig:
    """Sizes in characters (~4.3 characters per MiniLM token in English news)."""

    target_chars: int = 700
    max_chars: int = 1000
    min_chars: int = 200
    overlap_sentences: int = 1
    title_in_embedding: bool = True

    @property
    def version(self) -> str:
        """Goes into the manifest: a different version re-embeds everything."""
        title = "t" if self.title_in_embedding else "n"
        return f"sent2-{self.target_chars}-{self.max_chars}-{self.min_chars}-o{self.overlap_sentences}-{title}"


DEFAULT_CONFIG = ChunkerConfig()


def chunk_article(article: Article, config: ChunkerConfig = DEFAULT_CONFIG) -> list[Chunk]:
    """Split an article body into overlapping, sentence-aligned chunks with exact offsets."""
    body = article.body
    sents = _split_long(body, sentence_spans(body), config)
    if not sents:
        return []
    groups: list[tuple[int, int]] = []  # (first sentence index, last sentence index) inclusive
    i = 0
    n = len(sents)
    while i < n:
        j = i
        start = sents[i][0]
        while j + 1 < n:
            nxt_start, nxt_end, nxt_para = sents[j + 1]
            length_with_next = nxt_end - start
            current = sents[j][1] - start
            if length_with_next > config.max_chars:
                break
            if current >= config.target_chars:
                break
            # At a paragraph boundary, stop if the chunk is already a fair size and the next
            # paragraph would push it past the target.
            if nxt_para and current >= config.min_chars and length_with_next > config.target_chars:
                break
            j += 1
        groups.append((i, j))
        if j + 1 >= n:
            break
        step_back = min(config.overlap_sentences, j - i)
        # Overlap only with sentences short enough not to dominate the next chunk.
        while step_back > 0 and sents[j][1] - sents[j - step_back + 1][0] > config.target_chars // 3:
            step_back -= 1
        i = j + 1 - step_back

    # A tiny trailing chunk (e.g. a one-line sign-off) joins its predecessor when it fits.
    if len(groups) >= 2:
        a, b = groups[-1]
        pa, pb = groups[-2]
        if sents[b][1] - sents[a][0] < config.min_chars and sents[b][1] - sents[pa][0] <= config.max_chars:
            groups[-2:] = [(pa, b)]

    content_hash = article.content_hash()
    chunks = []
    for index, (a, b) in enumerate(groups):
        start, end = sents[a][0], sents[b][1]
        chunk_id = hashlib.sha1(
            f"{article.id}\0{content_hash}\0{config.version}\0{start}\0{end}".encode()
        ).hexdigest()[:24]
        chunks.append(
            Chunk(
                id=chunk_id,
                article_id=article.id,
                index=index,
                text=body[start:end],
                start=start,
                end=end,
                title=article.title,
                source=article.source,
                published_at=article.published_at,
                url=article.url,
                authors=article.authors,
            )
        )
    return chunks


def _split_long(
    body: str, sents: list[tuple[int, int, bool]], config: ChunkerConfig
) -> list[tuple[int, int, bool]]:
    """Cut every span longer than `max_chars` (text without sentence ends) into pieces.

    A piece ends at the last whitespace within `target_chars` (or, failing that, within
    `max_chars`); a run without whitespace is cut after `target_chars` characters.
    """
    out: list[tuple[int, int, bool]] = []
    target = min(config.target_chars, config.max_chars)
    shortest = min(config.min_chars, target // 2)
    for start, end, para in sents:
        first = para
        while end - start > config.max_chars:
            cut = _last_space(body, start + shortest, start + target)
            if cut == -1:
                cut = _last_space(body, start + 1, start + config.max_chars)
            if cut == -1:
                cut = start + target
            piece_end = cut
            while piece_end > start and body[piece_end - 1].isspace():
                piece_end -= 1
            out.append((start, piece_end, first))
            first = False
            start = cut
            while start < end and body[start].isspace():
                start += 1
        if end > start:
            out.append((start, end, first))
    return out


def _last_space(text: str, lo: int, hi: int) -> int:
    """Index of the last whitespace character in text[lo:hi+1], or -1."""
    for i in range(hi, lo - 1, -1):
        if text[i].isspace():
            return i
    return -1


def embedding_text(chunk: Chunk, config: ChunkerConfig = DEFAULT_CONFIG) -> str:
    """The text the model sees for a chunk: the title gives the passage its context."""
    if config.title_in_embedding and chunk.title:
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text
