"""The default answerer (no LLM): picks the retrieved sentences that answer the question, verbatim.

How an answer is built:
1. Each retrieved passage is cut into paragraphs (blank lines; short unpunctuated heading lines)
   and then into sentences with blingfire (`index.text.sentence_spans`).
2. Every sentence is scored: the weighted share of the question's content terms it contains
   (names count double), plus a small prior from the passage's retrieval rank and fused score,
   plus bonuses for the kind of question ("What did X say…" prefers sentences where X speaks).
3. Sentences that cannot answer the kind of question asked (no number for "how many", no date
   for "when", …) are dropped; the best few are composed in score order, each followed by `[n]`.

It abstains rather than guessing: no passages, nothing relevant enough, the person asked about
is in no passage, or no sentence fits the question. The reason goes into `Answer.warnings`.

Tokens, lemmas, names, content terms and sentence spans come from `index.text`, the analysis the
retriever uses too, so both agree on what a question asks about.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field, replace

from bot.answer import ABSTAIN_TEXT, Answer, Answerer, Citation, Passage
from bot.llm_verify import strip_markers
from bot.reader import (
    NUMBER_LABELS,
    Entity,
    Features,
    Reader,
    answer_type,
    capital_aliases,
    country_name,
    name_key,
    resolve_role,
    weighted_score,
    wh_words,
    with_quoted_titles,
)
from bot.syntax import (
    Slot,
    count_spans,
    definite_mentions,
    filler_span,
    main_subject,
    question_noun,
    question_slot,
    slot_fillers,
    word_key,
)
from index.text import (
    ANAPHOR_START,
    NOT_PERSON_FIRST,
    SPEECH_QUESTION,
    SPEECH_VERBS,
    TITLES,
    TOKEN_RE,
    QueryTerms,
    analyse_query,
    content_terms,
    date_expressions,
    has_number,
    is_capitalised,
    lemma,
    person_names,
    place_terms,
    pronoun_speech,
    question_names,
    sentence_spans,
    speaks,
    strip_possessive,
    tokens,
)

# --- vocabulary -------------------------------------------------------------------------------

# --- question analysis ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QuestionAnalysis:
    """What the answerer needs to know about a question."""

    kind: str  # "number" | "date" | "who" | "where" | "speech" | "free"
    terms: dict[str, float]  # lemma -> weight
    names: tuple[str, ...]  # capitalised name groups
    speaker: str | None = None  # X of "What did X say about Y", as written
    speaker_keys: tuple[str, ...] = ()  # lemmas that identify X in a passage (the surname)
    topic_keys: frozenset[str] = frozenset()  # lemmas of Y in "What did X say about Y"
    person: str | None = None  # the person the question is about, checked against the passages
    query: QueryTerms = QueryTerms((), (), ())  # the words and names the retriever searched for
    text: str = ""  # the question as analysed (the standalone query)
    labels: tuple[str, ...] = ()  # entity labels of the short answer (empty: no span answer)
    primary_labels: int = 0  # the first this many of `labels` are the type asked for; the rest fallbacks
    role: str | None = None  # X of "What did X say" when X is a role ("the transport minister")
    person_keys: tuple[str, ...] = ()  # lemmas that stand for `person` (a capital for its government)
    topic: str = ""  # Y of "What did X say about Y", its content words as written
    asked_role: str | None = None  # R of "Who is the R?" when R is a role ("the foreign secretary")
    role_holder: str | None = None  # the surname the coverage gives `asked_role` (set while answering)


def analyse_question(text: str) -> QuestionAnalysis:
    """Kind, weighted content terms, names and the speaker of a question.

    Names and terms are the retriever's (`analyse_query`); speech verbs are not terms here, the
    speaker bonus handles them.
    """
    query = analyse_query(text)
    names = list(query.names)
    name_keys = {lemma(t) for n in names for t in tokens(n)}
    terms: dict[str, float] = {}
    for term in content_terms(text):
        key = lemma(term)
        terms[key] = 2.0 if key in name_keys else 1.0

    asked_text = _asked_sentence(text)
    kind = _question_kind(asked_text)
    speaker = None
    speaker_keys: tuple[str, ...] = ()
    topic_keys: frozenset[str] = frozenset()
    topic = ""
    person = None
    m = SPEECH_QUESTION.match(text)
    if m:
        x_names = question_names(m.group("x"), at_sentence_start=False)
        x_tokens = [t for n in x_names for t in tokens(n) if t.lower() not in TITLES]
        role = None
        if x_tokens:
            speaker = " ".join(x_names)
            surname = x_tokens[-1]
            speaker_keys = capital_aliases(lemma(surname))
            person = surname
        elif _is_role(m.group("x")):
            role = speaker = re.sub(r"^(?:the|a|an)\s+", "", m.group("x").strip(), flags=re.IGNORECASE)
        if x_tokens or role:
            topic_keys = frozenset(lemma(t) for t in content_terms(m.group("rest"))) - set(speaker_keys)
            topic = " ".join(t for t in content_terms(m.group("rest")) if lemma(t) in topic_keys)
            if kind == "free":
                kind = "speech"
    else:
        role = None
    if person is None and role is None:
        person = _person_in(names)
    labels, primary = answer_type(asked_text, kind)
    asked = _WHO_IS_ROLE.match(asked_text.strip())
    asked_role = asked.group("role") if asked and kind == "who" and _is_role(asked.group("role")) else None
    return QuestionAnalysis(
        kind=kind,
        terms=terms,
        names=tuple(names),
        speaker=speaker,
        speaker_keys=speaker_keys,
        topic_keys=topic_keys,
        person=person,
        query=query,
        text=text,
        labels=labels,
        primary_labels=primary,
        role=role,
        person_keys=speaker_keys or ((lemma(person),) if person else ()),
        topic=topic,
        asked_role=asked_role,
    )


_WHO_IS_ROLE = re.compile(r"^who\s+(?:is|was|are|were)\s+(?:the\s+|a\s+)?(?P<role>[^?]+?)\s*\??$", re.IGNORECASE)


def _is_role(phrase: str) -> bool:
    """True for a role or title without a name: "the transport minister", "the council's leader"."""
    words = [lemma(t) for t in tokens(phrase)]
    role_words = {lemma(t) for t in TITLES} | {"head", "boss", "leader", "chief", "spokesman", "official"}
    return bool(words) and words[0] not in ("he", "she", "they", "it", "you", "i", "we") and any(
        w in role_words for w in words
    )


def _question_kind(text: str) -> str:
    low = re.sub(r"^\W*(?:and|so|ok(?:ay)?|but)\b[\s,]*", "", text.strip().lower())
    if re.match(r"how\s+(?:many|much)\b", low) or re.search(r"\bhow\s+(?:many|much)\b", low[:60]):
        return "number"
    if re.match(r"(?:when|what\s+(?:year|date|day|month|time)|which\s+(?:year|month|day|date))\b", low):
        return "date"
    if re.match(r"(?:who|whom|whose)\b", low) or re.match(r"which\s+person\b", low):
        return "who"
    if re.match(r"where\b", low):
        return "where"
    return "free"


def _person_in(names: list[str]) -> str | None:
    """Surname of the first person-like name group: two or more words, or a title + name."""
    for name in names:
        parts = name.split()
        if len(parts) < 2:
            continue
        if parts[0].lower().rstrip(".") in TITLES and len(parts) >= 2:
            rest = [p for p in parts if p.lower() not in TITLES]
            if rest:
                return rest[-1]
            continue
        if parts[0].lower() in NOT_PERSON_FIRST or any(p.lower() in TITLES for p in parts):
            continue
        return parts[-1]
    return None


# --- sentences --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a retrieved passage: `passage.text[start:end] == text`."""

    passage_index: int
    position: int  # index of the sentence in its passage
    text: str
    start: int
    end: int
    tokens: tuple[str, ...] = field(default=())
    lemmas: frozenset[str] = field(default=frozenset())
    source: str | None = None  # the passage's outlet


def _sentences(passages: list[Passage]) -> list[Sentence]:
    out: list[Sentence] = []
    for pi, p in enumerate(passages):
        for position, (s, e, _) in enumerate(sentence_spans(p.text, headings=True)):
            toks = tuple(tokens(p.text[s:e]))
            out.append(
                Sentence(pi, position, p.text[s:e], s, e, toks, frozenset(lemma(t) for t in toks), p.source)
            )
    return out


# --- sentence features ------------------------------------------------------------------------


def speaker_in(sentence: Sentence, keys: tuple[str, ...]) -> bool:
    """True if a name with one of the lemmas `keys` is the speaker of the sentence:
    the name shortly before a speech verb ("Lammy stated", "Lammy, the secretary, said"),
    "said Lammy", or "according to Lammy" (the rules of `index.text.speaks`)."""
    return speaks(sentence.tokens, keys)


def _anaphoric_speaker(sentence: Sentence, previous: Sentence | None, keys: tuple[str, ...]) -> bool:
    """"He said …" / "The minister added …" right after a sentence that mentions X."""
    if previous is None or not ANAPHOR_START.match(sentence.text):
        return False
    if not any(k in previous.lemmas for k in keys):
        return False
    toks = [t.lower() for t in sentence.tokens[:6]]
    return any(t in SPEECH_VERBS for t in toks)


# --- the answerer -----------------------------------------------------------------------------

_KIND_FAILURE = {
    "number": "no sentence gives a number (how many/how much)",
    "date": "no sentence gives a date or time (when)",
    "who": "no sentence names a person (who)",
    "where": "no sentence names a place (where)",
}


@dataclass(slots=True)
class _Scored:
    sentence: Sentence
    score: float
    coverage: float
    speaks: bool = False
    features: Features | None = None
    on_topic: bool = False


@dataclass(frozen=True, slots=True)
class _Resolved:
    """What `_choose` found: the sentences, the abstention reason, the reader's scored candidates."""

    chosen: list[Sentence]
    reason: str | None
    scored: list[_Scored] = field(default_factory=list)
    question: QuestionAnalysis | None = None


class ExtractiveAnswerer(Answerer):
    """Answers with the best few retrieved sentences, verbatim, each cited; abstains when unsure.

    `min_dense` and `min_overlap` decide "nothing relevant enough": the answerer abstains when the
    best dense similarity among the passages is below `min_dense` AND the best passage covers less
    than `min_overlap` of the question's weighted content terms. The defaults (0.55, 0.8) are the
    best balanced accuracy of `benchmarks/calibrate_abstention.py` on the RealTimeQA dev questions
    (gold articles + 100 others; all-MiniLM-L6-v2 chunk embeddings): answers 91% of questions whose
    gold article was retrieved, abstains on 87% of those whose gold articles were withheld.

    With a `reader` (`bot.reader.Reader`, wired in `bot.wiring`), sentences are scored by the
    reader's measured features and the answer leads with a short answer span; without one, by
    today's rules (term coverage, rank prior, speaker bonus).
    """

    name = "extractive"

    def __init__(
        self,
        *,
        max_sentences: int = 3,
        min_dense: float = 0.55,
        min_overlap: float = 0.8,
        min_sentence_coverage: float = 0.2,
        secondary_ratio: float = 0.7,
        speaker_bonus: float = 0.6,
        rank_prior: float = 0.15,
        reader: Reader | None = None,
        min_semantic: float = 0.45,
        secondary_margin: float = 0.65,  # in score units of the fitted weights (benchmarks/reader_weights.py grid)
        min_sentence_similarity: float = 0.6,
        one_per_passage: bool = True,
        min_typed_similarity: float = 0.5,
        min_typed_lexical: float = 0.5,
    ):
        self.max_sentences = max_sentences
        self.min_dense = min_dense
        self.min_overlap = min_overlap
        self.min_sentence_coverage = min_sentence_coverage
        self.secondary_ratio = secondary_ratio
        self.speaker_bonus = speaker_bonus
        self.rank_prior = rank_prior
        self.reader = reader
        self.min_semantic = min_semantic
        self.secondary_margin = secondary_margin
        self.min_sentence_similarity = min_sentence_similarity
        self.one_per_passage = one_per_passage
        self.min_typed_similarity = min_typed_similarity
        self.min_typed_lexical = min_typed_lexical

    def warm_up(self) -> None:
        """Load the reader's entity tagger (spaCy) now rather than at the first question."""
        if self.reader is not None:
            self.reader.tagger.entities(["Warm up."])

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        query: str | None = None,
        avoid: frozenset[str] = frozenset(),
    ) -> Answer:
        """Compose the answer from `passages` (ranked best first) or abstain, with the reason.

        Sentences in `avoid` (already given earlier in the conversation) are not chosen again.
        """
        started = time.perf_counter()
        passages = list(passages)
        analysis = analyse_question(query or question)
        resolved = self._choose(analysis, passages, avoid)
        q = resolved.question or analysis
        if resolved.reason is not None:
            answer = Answer(
                question=question,
                text=ABSTAIN_TEXT,
                retrieved=passages,
                abstained=True,
                standalone_query=query,
                answerer=self.name,
                warnings=[f"abstained: {resolved.reason}"],
            )
        else:
            answer = _compose(question, resolved.chosen, passages, query, q, resolved.scored, self.reader)
        rows = self.reader.rows if self.reader is not None else 0
        answer.reader = [
            _candidate_row(c, passages) for c in resolved.scored[:rows] if c.features is not None
        ]
        answer.timings = {"answer": (time.perf_counter() - started) * 1000}
        return answer

    # The steps, each returning the abstention reason when it fails.

    def _choose(
        self, q: QuestionAnalysis, passages: list[Passage], avoid: frozenset[str] = frozenset()
    ) -> _Resolved:
        if not passages:
            return _Resolved([], "no passages retrieved")
        if not q.terms:
            return _Resolved([], "the question has no content words to look for")
        overlap = max(_coverage(q.terms, _lemma_set(p.title + "\n" + p.text)) for p in passages)
        dense_scores = [p.dense_score for p in passages if p.dense_score is not None]
        top_dense = max(dense_scores) if dense_scores else None
        irrelevant = None
        if (top_dense is None or top_dense < self.min_dense) and overlap < self.min_overlap:
            shown = "n/a" if top_dense is None else f"{top_dense:.2f}"
            irrelevant = (
                f"nothing relevant enough (top dense similarity {shown} < {self.min_dense:.2f}, "
                f"term overlap {overlap:.2f} < {self.min_overlap:.2f}"
            )
            if self.reader is None or self.reader.vectors is None:
                return _Resolved([], irrelevant + ")")
        if q.role:
            # "What did the transport minister say…": the role names a person of the coverage.
            surname = resolve_role(q.role, [p.text for p in passages] + [p.title for p in passages])
            if surname is None:
                return _Resolved([], f"person '{q.role}' not in any retrieved passage")
            keys = capital_aliases(lemma(surname))
            q = replace(q, person=surname, speaker_keys=keys, person_keys=keys)
        if q.asked_role:
            q = replace(q, role_holder=resolve_role(q.asked_role, [p.text for p in passages]))
        if q.person and not any(_mentions(p, q.person_keys or (lemma(q.person),)) for p in passages):
            return _Resolved([], f"person '{q.person}' not in any retrieved passage", question=q)

        # A question in the coverage (quiz pages, "What happens next?") is never the answer to one.
        # Filtered sentences still count as the sentence before another ("He said…" after it).
        every = _sentences(passages)
        sentences = [s for s in every if s.text not in avoid and not s.text.rstrip(" \"'”’)").endswith("?")]
        if self.reader is not None:
            scored, reason = self._read(q, sentences, passages, every)
            if irrelevant is not None:
                # The passages look off-topic, unless one sentence is close to the question, or
                # fairly close, sharing half its terms and naming the type of answer it asks for.
                best = max((c.features.semantic for c in scored if c.features is not None), default=0.0)
                typed = any(
                    c.features.type >= 1.0 and c.features.lexical >= self.min_typed_lexical
                    and c.features.semantic >= self.min_typed_similarity
                    for c in scored if c.features is not None
                )
                if best < self.min_sentence_similarity and not typed:
                    return _Resolved([], (
                        f"{irrelevant}, sentence similarity {best:.2f} < {self.min_sentence_similarity:.2f})"
                    ), scored, q)
            if reason is not None:
                return _Resolved([], reason, scored, q)
        else:
            scored = self._score(q, sentences, passages, every)
        if not scored:
            if q.kind in _KIND_FAILURE:
                return _Resolved([], _KIND_FAILURE[q.kind], question=q)
            return _Resolved([], "no sentence matches the question's terms", question=q)
        chosen = self._select_read(scored) if self.reader is not None else self._select(scored)
        return _Resolved(chosen, None, scored, q)

    def _score(
        self, q: QuestionAnalysis, sentences: list[Sentence], passages: list[Passage], every: list[Sentence]
    ) -> list[_Scored]:
        """Score the candidate `sentences`; `every` holds all sentences of the passages (by position)."""
        question_lower = _question_lower(q)
        top_score = max((p.score for p in passages), default=0.0) or 1.0
        # The sentence before another is looked up by (passage, position) among all sentences:
        # candidates are a filtered subset, so their positions do not index the candidate list.
        by_position = {(s.passage_index, s.position): s for s in every}

        out: list[_Scored] = []
        for s in sentences:
            if len(s.tokens) < 4:
                continue
            lemmas = s.lemmas
            speaks = False
            if q.speaker_keys:
                previous = by_position.get((s.passage_index, s.position - 1))
                speaks = speaker_in(s, q.speaker_keys) or _anaphoric_speaker(s, previous, q.speaker_keys)
                if speaks:
                    lemmas = lemmas | frozenset(q.speaker_keys)
            coverage = _coverage(q.terms, lemmas)
            if coverage < self.min_sentence_coverage:
                continue
            if not _fits_kind(q, s, question_lower):
                continue
            p = passages[s.passage_index]
            prior = self.rank_prior * (0.5 * max(p.score, 0.0) / top_score + 0.5 / (1 + s.passage_index))
            score = coverage + prior
            if speaks:
                # Full preference only when X speaks about Y; X speaking about something else is
                # still better than X merely being mentioned.
                on_topic = not q.topic_keys or bool(q.topic_keys & lemmas)
                score += self.speaker_bonus if on_topic else self.speaker_bonus / 4
            out.append(_Scored(s, score, coverage, speaks))
        out.sort(key=lambda x: (-x.score, x.sentence.passage_index, x.sentence.position))
        return out

    def _read(
        self, q: QuestionAnalysis, sentences: list[Sentence], passages: list[Passage], every: list[Sentence]
    ) -> tuple[list[_Scored], str | None]:
        """Score the candidates with the reader's features (see `bot.reader`); returns the scored
        candidates, best first, and an abstention reason when no sentence fits."""
        reader = self.reader
        assert reader is not None
        w = reader.weights
        question_lower = _question_lower(q)
        top_score = max((p.score for p in passages), default=0.0) or 1.0
        by_position = {(s.passage_index, s.position): s for s in every}
        article_rank: dict[str, int] = {}
        for p in passages:
            article_rank.setdefault(p.article_id, len(article_rank))
        syn = reader.synonyms
        q_lemma_seq = [lemma(t) for t in tokens(q.text)]
        alternatives = _term_alternatives(q.terms, q_lemma_seq, syn)
        topic_alts = {alternatives[t] for t in q.topic_keys if t in alternatives}

        cands: list[_Scored] = []
        any_speaks = False
        for s in sentences:
            if len(s.tokens) < 4 or not _fits_kind(q, s, question_lower, tagged=True):
                continue
            lemmas = s.lemmas
            s_keys = syn.keys([lemma(t) for t in s.tokens]) if alternatives else set()
            speaks = on_topic = False
            if q.speaker_keys:
                speaks = speaker_in(s, q.speaker_keys) or _pronoun_speaker(s, by_position, q.speaker_keys)
                if speaks:
                    any_speaks = True
                    lemmas = lemmas | frozenset(q.speaker_keys)
                    on_topic = not q.topic_keys or bool(q.topic_keys & lemmas) or bool(topic_alts & s_keys)
            p = passages[s.passage_index]
            f = Features(
                lexical=_coverage_with(q.terms, lemmas, alternatives, s_keys),
                speaker=(1.0 if on_topic else 0.25) if speaks else 0.0,
                passage=max(p.score, 0.0) / top_score,
                rank=1.0 / (1 + article_rank[p.article_id]),
            )
            cands.append(_Scored(s, 0.0, f.lexical, speaks, f, on_topic))
        if q.speaker_keys and not any_speaks:
            return [], f"no sentence has {q.speaker} speaking"
        if q.speaker_keys and q.topic_keys and not any(c.on_topic for c in cands):
            return [], f"no sentence has {q.speaker} speaking about {q.topic}"

        def partial(c: _Scored) -> float:
            return weighted_score(c.features, w) if c.features else 0.0

        cands.sort(key=lambda c: (-partial(c), c.sentence.passage_index, c.sentence.position))
        cands = cands[: reader.max_candidates]
        if reader.vectors is not None and cands:
            sims = reader.vectors.similarities(q.text, [c.sentence.text for c in cands])
            for c, sim in zip(cands, sims, strict=True):
                c.features.semantic = sim
        cands = [
            c for c in cands
            if c.coverage >= self.min_sentence_coverage
            or c.features.semantic >= self.min_semantic
            or c.speaks
        ]
        if q.labels and cands:
            cands.sort(key=lambda c: -partial(c))
            tagged = cands[: reader.max_tagged]
            found = [
                with_quoted_titles(c.sentence.text, ents)
                for c, ents in zip(tagged, reader.tagger.entities([c.sentence.text for c in tagged]), strict=True)
            ]
            for c, ents in zip(tagged, found, strict=True):
                c.features.entities = ents
                c.features.type = _type_fit(_typed_entities(ents, q, question_lower, c.sentence.text), q)
            if q.kind == "number" and not any(c.features.type for c in tagged):
                return [], _KIND_FAILURE["number"]
        for c in cands:
            c.score = c.features.score = weighted_score(c.features, w)
        cands.sort(key=lambda c: (-c.score, c.sentence.passage_index, c.sentence.position))
        return cands, None

    def _select(self, scored: list[_Scored]) -> list[Sentence]:
        best = scored[0]
        chosen = [best.sentence]
        for cand in scored[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if cand.score < self.secondary_ratio * best.score:
                break
            if best.speaks and not cand.speaks:
                continue  # once X is quoted, other people's sentences do not answer "what did X say"
            if any(_near_duplicate(cand.sentence, c) for c in chosen):
                continue
            chosen.append(cand.sentence)
        return chosen

    def _select_read(self, scored: list[_Scored]) -> list[Sentence]:
        """The best sentence, then up to `max_sentences - 1` within `secondary_margin` of its score."""
        best = scored[0]
        chosen = [best.sentence]
        for cand in scored[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if cand.score < best.score - self.secondary_margin:
                break
            if best.speaks and not cand.speaks:
                continue
            if any(_near_duplicate(cand.sentence, c) for c in chosen):
                continue
            if self.one_per_passage and not best.speaks and any(
                c.passage_index == cand.sentence.passage_index for c in chosen
            ):
                continue
            chosen.append(cand.sentence)
        return chosen


def _question_lower(q: QuestionAnalysis) -> frozenset[str]:
    return frozenset(t.lower() for t in q.terms) | frozenset(t.lower() for n in q.names for t in n.split())


def _term_alternatives(terms: dict[str, float], lemma_seq: list[str], syn) -> dict[str, str]:
    """Question term → its synonym group key (single words, and the words of a phrase like "step down")."""
    out = {t: syn.single[t] for t in terms if t in syn.single}
    for words, key in syn.multi:
        n = len(words)
        if any(tuple(lemma_seq[i : i + n]) == words for i in range(len(lemma_seq) - n + 1)):
            for word in words:
                if word in terms:
                    out[word] = key
    return out


def _coverage_with(terms: dict[str, float], lemmas, alternatives: dict[str, str], keys: set[str]) -> float:
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    got = sum(w for t, w in terms.items() if t in lemmas or (t in alternatives and alternatives[t] in keys))
    return got / total


_NAME_TAIL = re.compile(r"(?:-[a-z]\w*)+")


def _typed_entities(
    ents: tuple[Entity, ...], q: QuestionAnalysis, question_lower: frozenset[str], text: str
) -> list[Entity]:
    """The entities of a sentence that answer the question: a wanted label, not already in the
    question. Adjacent wanted entities ("Denver" GPE + "Broncos" PRODUCT) are merged into one."""
    wanted = [e for e in ents if e.label in q.labels]
    merged: list[Entity] = []
    for e in wanted:
        if merged and text[merged[-1].end : e.start] in ("", " "):
            last = merged[-1]
            better = last.label if q.labels.index(last.label) <= q.labels.index(e.label) else e.label
            merged[-1] = Entity(text[last.start : e.end], better, last.start, e.end)
        else:
            merged.append(e)
    q_keys = {lemma(t) for t in question_lower} | {lemma(t) for t in tokens(q.text)}
    name_keys = {lemma(t) for name in q.names for t in tokens(name)}
    asked_countries = _countries_in(q)
    out = []
    for e in merged:
        if e.text.endswith(("'s", "’s")) and len(e.text) > 2:  # "Pfizer's" tagged whole: the name is "Pfizer"
            e = Entity(e.text[:-2], e.label, e.start, e.end - 2)
        tail = _NAME_TAIL.match(text, e.end)
        if tail and e.label == "PERSON":  # "Yoon Suk" of "Yoon Suk-yeol": the whole name
            e = Entity(text[e.start : tail.end()], e.label, e.start, tail.end())
        if e.label == "MONEY" and e.start > 0 and text[e.start - 1] in "$€£" and text[e.start - 1] not in e.text:
            e = Entity(text[e.start - 1 : e.end], e.label, e.start - 1, e.end)  # "$5", not "5"
        words = [lemma(t) for t in tokens(e.text)]
        if words and all(wd in q_keys for wd in words):
            continue
        if asked_countries and country_name(name_key(e.text)) in asked_countries:
            continue  # "the United States" when the question says "in the US"
        if e.label == "PERSON" and name_keys.intersection(words):
            continue  # the person the question names ("Who did President Yoon call?") is not the answer
        if e.label != "PERSON" and "PERSON" in q.labels[: q.primary_labels] and _titles_a_person(e, merged, text):
            continue  # "NATO" of "NATO Secretary General Mark Rutte" is the person's title, not an answer
        out.append(e)
    return out


_HOW_OLD = re.compile(r"\bhow\s+old\b", re.IGNORECASE)
_AGE = re.compile(r"^\d{1,3}(?:[- ]years?[- ]old)?$|^aged?\s+\d{1,3}$", re.IGNORECASE)


def _is_age(e: Entity, text: str) -> bool:
    """An age: "17-year-old", "aged 17", or a bare number set off by commas ("Mack Rutherford, 17,")."""
    if not _AGE.match(e.text):
        return False
    if not e.text.isdigit():
        return True
    return text[max(0, e.start - 2) : e.start] == ", " and text[e.end : e.end + 1] in (",", ".")


_CAPITALISED_RUN = re.compile(r"(?:(?:The|the)\s+)?[A-Z][\w’'&.-]*(?:\s+(?:of\s+|&\s+)?[A-Z][\w’'&.-]*)*")


def _names_with_type_word(
    text: str, found: list[Entity], ents: tuple[Entity, ...], type_words: set[str], q: QuestionAnalysis
) -> list[Entity]:
    """`found` plus the capitalised names that end in a word of the question's wh-phrase ("The
    Tony Awards" for "which awards show", "Lakeside University" for "which university") when the
    tagger missed them or tagged only part of them."""
    out = list(found)
    for m in _CAPITALISED_RUN.finditer(text):
        a, b = m.start(), m.end()
        owner = max(text.rfind("'s ", a, b), text.rfind("’s ", a, b))
        if owner >= 0:
            a = owner + 3  # "California's Yosemite National Park": the park
        words = tokens(text[a:b])
        if len(words) < 2 or lemma(words[-1]) not in type_words:
            continue
        if any(e.start <= a and b <= e.end for e in out):
            continue  # already an answer, whole
        if any(a <= e.start and e.end <= b and lemma(tokens(e.text)[-1]) in type_words for e in out if tokens(e.text)):
            continue  # the tagger has the name with its type word already
        if any(e.start < b and a < e.end and not (a <= e.start and e.end <= b) for e in ents):
            continue  # straddles another entity
        if any(a <= e.start and e.end <= b and e.label not in q.labels for e in ents if e.label != "PERSON"):
            continue
        out = [e for e in out if not (a <= e.start and e.end <= b)]
        out.append(Entity(text[a:b], q.labels[0], a, b))
    return sorted(out, key=lambda e: e.start)


_CURRENCY = re.compile(r"[$€£¥]|\b(?:dollars?|euros?|pounds?|yen|yuan|rupees?|francs?|pesos?|won)\b", re.IGNORECASE)


def _doubtful_money(e: Entity) -> bool:
    """A MONEY entity without a currency ("tens of millions" of borrowers) counts as a fallback."""
    return e.label == "MONEY" and not _CURRENCY.search(e.text)


def _countries_in(q: QuestionAnalysis) -> frozenset[str]:
    """The full names of the countries a question names ("US" → "the United States")."""
    found = {country_name(name_key(n)) for n in q.names}
    found.update(country_name(name_key(t)) for t in tokens(q.text))
    return frozenset(c for c in found if c is not None)


def _titles_a_person(e: Entity, ents: list[Entity], text: str) -> bool:
    """True when only title words ("Secretary General", "CEO") stand between `e` and a PERSON."""
    person = next((p for p in ents if p.label == "PERSON" and p.start >= e.end), None)
    if person is None:
        return False
    between = tokens(text[e.end : person.start])
    return bool(between) and all(t.lower() in TITLES for t in between) and len(between) <= 4


def _type_fit(found: list[Entity], q: QuestionAnalysis) -> float:
    """1 when the sentence has an entity of the type asked for, 0.5 for a fallback label only, else 0."""
    if not found:
        return 0.0
    return 1.0 if any(q.labels.index(e.label) < q.primary_labels for e in found) else 0.5


def _pronoun_speaker(
    s: Sentence, by_position: dict[tuple[int, int], Sentence], keys: tuple[str, ...]
) -> bool:
    """"He added …" / "The minister said …": the last named speaker before it, in its passage, is X.

    Walks back up to five sentences to the last one where somebody speaks: X speaking attributes
    the pronoun to X, another person speaking does not. Sentences that merely mention people are
    passed over; with no speaker found, the sentence right before naming X counts (today's rule).
    """
    if not pronoun_speech(s.text, s.tokens):
        return False
    people = _people_in_passage(s.passage_index, by_position) - set(keys)
    for back in range(1, 6):
        prev = by_position.get((s.passage_index, s.position - back))
        if prev is None:
            break
        if speaker_in(prev, keys):
            return True
        if people and speaker_in(prev, tuple(sorted(people))):
            return False
    previous = by_position.get((s.passage_index, s.position - 1))
    return previous is not None and any(k in previous.lemmas for k in keys)


def _people_in_passage(passage_index: int, by_position: dict[tuple[int, int], Sentence]) -> set[str]:
    """Surname lemmas of the person-like names of one passage."""
    out = set()
    for (pi, _), sentence in by_position.items():
        if pi == passage_index:
            out.update(lemma(name.split()[-1]) for name in person_names(sentence.tokens))
    return out


def _candidate_row(c: _Scored, passages: list[Passage]) -> dict:
    p = passages[c.sentence.passage_index]
    row = {"retrieved": c.sentence.passage_index + 1, "chunk_id": p.chunk_id, "sentence": c.sentence.text}
    row.update(c.features.to_dict() if c.features else {"score": round(c.score, 4)})
    return row


def _fits_kind(q: QuestionAnalysis, s: Sentence, question_lower: frozenset[str], *, tagged: bool = False) -> bool:
    """Whether `s` can hold the kind of answer asked for. `tagged`: the reader scores answer types
    from entities afterwards, so a "where" question keeps any sentence naming something capitalised
    (past its first word) the question does not name: a place is not always after "in"/"to"
    ("Brindle Island's history", "the Florida coast")."""
    if q.kind == "number":
        return has_number(s.tokens, exclude=question_lower)
    if q.kind == "date":
        return any(expr not in question_lower for expr in date_expressions(s.text))
    if q.kind == "who":
        return any(
            any(part.lower() not in question_lower for part in name.split())
            for name in person_names(s.tokens)
        )
    if q.kind == "where":
        if any(place.lower() not in question_lower for place in place_terms(s.tokens)):
            return True
        return tagged and any(
            is_capitalised(t) and strip_possessive(t).lower() not in question_lower for t in s.tokens[1:]
        )
    return True  # "speech" and "free": any sentence; speech prefers X speaking (a score bonus)


def _coverage(terms: dict[str, float], lemmas: frozenset[str] | set[str]) -> float:
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in terms.items() if t in lemmas) / total


def _lemma_set(text: str) -> frozenset[str]:
    return frozenset(lemma(t) for t in tokens(text))


def _mentions(passage: Passage, keys: tuple[str, ...]) -> bool:
    """A name with one of the lemmas `keys` appears, capitalised, in the passage text or its title."""
    for text in (passage.title, passage.text):
        if any(t[:1].isupper() and lemma(t) in keys for t in tokens(text)):
            return True
    return False


def _near_duplicate(a: Sentence, b: Sentence, threshold: float = 0.8) -> bool:
    if not a.lemmas or not b.lemmas:
        return False
    return len(a.lemmas & b.lemmas) / len(a.lemmas | b.lemmas) >= threshold


# A quoted sentence longer than this (a chunk without sentence ends, a run-on transcript line) is
# cut to whole words around the question's first term, with "…" where it was cut.
MAX_QUOTED_CHARS = 400


def _compose(
    question: str,
    chosen: list[Sentence],
    passages: list[Passage],
    query: str | None,
    q: QuestionAnalysis,
    scored: list[_Scored] | None = None,
    reader: Reader | None = None,
) -> Answer:
    """One citation per sentence, so that each citation's quote is exactly the sentence it backs.

    The answer text shows each sentence without the article's own bracketed numbers (footnotes
    like `[3]` would pass for citation markers) and at most `MAX_QUOTED_CHARS` long; the citation's
    quote stays the exact passage sentence. With a reader and a question with a span answer (who,
    which company, where, when, how many…), the text starts with the short answer on its own line."""
    short = None
    if reader is not None and q.labels:
        pool = list(chosen)
        if reader.short_from_candidates:
            pool += [c.sentence for c in scored or [] if c.features is not None and c.features.entities
                     and c.sentence not in chosen]
        short, pool = _short_answer(pool, q, scored or [], reader, passages)
        if short is not None and short["n"] > len(chosen):
            # The best-supported answer is in a candidate that was not cited: cite it instead of
            # the last supporting sentence.
            extra = pool[short["n"] - 1]
            chosen = [*chosen[:-1], extra] if len(chosen) >= 3 else [*chosen, extra]
            short = {**short, "n": chosen.index(extra) + 1}
    figures = None
    if short is not None and reader is not None and q.labels and q.labels[0] in NUMBER_LABELS:
        best = chosen[short["n"] - 1]
        own = Entity(short["text"], q.labels[0], short["start"] - best.start, short["end"] - best.start)
        figures = _conflicting_figures((best, own), q, scored or [], passages, reader)
        if figures is not None:
            # The reader's figure stays the short answer, now cited where its sentence is listed.
            chosen = [s for s, _ in figures]
            short = {**short, "n": next(i for i, (s, _) in enumerate(figures, start=1) if s is best)}
    keys = set(q.terms) | set(q.speaker_keys)
    parts = []
    citations = []
    for n, s in enumerate(chosen, start=1):
        parts.append(f"{_excerpt(strip_markers(s.text), keys)} [{n}]")
        citations.append(Citation(n=n, passage=passages[s.passage_index], quote=s.text))
    text = " ".join(parts)
    if figures is not None:
        lead = " · ".join(
            f"{_outlet_day(passages[s.passage_index])}: {e.text} [{n}]" for n, (s, e) in enumerate(figures, start=1)
        )
        text = f"Reports differ: {lead}\n{text}"
    elif short is not None:
        lead = short["text"] if short["text"][-1:] in ".!?" else short["text"] + "."
        text = f"{lead}\n{text}"
    return Answer(
        question=question,
        text=text,
        citations=citations,
        retrieved=passages,
        abstained=False,
        standalone_query=query,
        answerer="extractive",
        short_answer=short,
    )


def _short_answer(
    chosen: list[Sentence],
    q: QuestionAnalysis,
    scored: list[_Scored],
    reader: Reader,
    passages: list[Passage] | None = None,
) -> tuple[dict | None, list[Sentence]]:
    """The span answering the question, from one of the chosen (cited) sentences, and the
    sentences it numbers from (`chosen`, plus the sentence an answer was resolved into, if any).

    Each entity of a wanted label, not made of the question's own words, is scored by
    `reader.entity_weights`: `tier` (1 for the primary type asked for, 0.5 for a fallback label),
    `near` (1 / (1 + words between it and the nearest question word in its sentence)), `votes`
    (the share of the tagged candidate sentences, weighted by their reader score, that hold the
    same entity), `first` (1 when it comes from the best sentence) and `slot` (1 when it fills the
    slot the question asks about: the subject of "Which company will seek approval?", see
    `bot.syntax`). A slot filled by a definite description of what is asked for ("the singer
    announced …" for "Which singer will …?") is resolved to the subject of the sentence before it
    in the passage ("Adele is returning to Las Vegas."), which is then cited. The outlet's own name
    ("(CNN) …") is never the answer. Offsets are in the cited passage."""
    entities = {id(c.sentence): c.features.entities for c in scored if c.features is not None}
    tagged = [c for c in scored if c.features is not None and c.features.entities]
    question_lower = _question_lower(q)
    keys = set(q.terms)
    asked = _asked_sentence(q.text)
    asked_parse = reader.tagger.parses([asked])[0]
    slot = question_slot(asked, asked_parse)
    noun = question_noun(asked, asked_parse) if passages is not None else None
    context = [c.sentence.text for c in scored[:20]]
    pool = list(chosen)
    resolved: dict[tuple[int, int], Entity] = {}  # (passage, position) → the antecedent named there

    how_old = bool(_HOW_OLD.search(asked))
    type_words = {lemma(w) for w in wh_words(asked)} - {"which", "what"}

    def answers_in(s: Sentence, ents: tuple[Entity, ...]) -> tuple[list[Entity], set[tuple[int, int]]]:
        outlet = name_key(s.source) if s.source else None
        found = [e for e in _typed_entities(ents, q, question_lower, s.text) if name_key(e.text) != outlet]
        if how_old:
            found = [e for e in found if _is_age(e, s.text)]
        if type_words:
            found = _names_with_type_word(s.text, found, ents, type_words, q)
        in_slot: set[tuple[int, int]] = set()
        if slot is not None:
            parse = reader.tagger.parses([s.text])[0]
            found, in_slot = _slot_entities(s.text, parse, slot, ents, found, q, question_lower, reader, context)
        extra = resolved.get((s.passage_index, s.position))
        if extra is not None:
            found = [e for e in found if (e.start, e.end) != (extra.start, extra.end)] + [extra]
            in_slot = in_slot | {(extra.start, extra.end)}
        return found, in_slot

    def resolve(s: Sentence) -> Entity | None:
        """The antecedent of a definite description of `noun` in `s` that fills the slot, as named
        in the sentence before; the sentence joins the pool."""
        if noun is None or passages is None:
            return None
        parse = reader.tagger.parses([s.text])[0]
        mentions = definite_mentions(s.text, parse, noun)
        if not mentions:
            return None
        # The description must fill the question's slot, or be what the sentence is about (its
        # subject: "… the singer announced Monday"), not a predicate ("Walmart is the largest retailer").
        fillers = slot_fillers(s.text, parse, slot, _same_word(slot.anchor, reader)) if slot is not None else []
        allowed = {*fillers, main_subject(parse)}
        if slot is None or not any(word_key(s.text[t.start : t.end]) == slot.anchor for t in parse):
            # Without the slot's own word, any subject: "… claims that the company has cut …"
            allowed |= {i for i in mentions if parse[i].dep in ("nsubj", "nsubjpass")}
        if not set(mentions) & allowed:
            return None
        found = _antecedent(s, passages, q, question_lower, reader)
        if found is None:
            return None
        before, e = found
        key = (before.passage_index, before.position)
        resolved[key] = e
        if all((x.passage_index, x.position) != key for x in pool):
            pool.append(before)
        return e

    top = max((c.score for c in tagged), default=0.0)
    weight_of = {id(c.sentence): math.exp(c.score - top) for c in tagged}
    total = sum(weight_of.values()) or 1.0
    votes: dict[str, float] = {}
    for c in tagged:
        seen = {_vote_key(e) for e in answers_in(c.sentence, c.features.entities)[0]}
        antecedent = resolve(c.sentence)
        if antecedent is not None:
            seen.add(_vote_key(antecedent))
        for key in seen:
            votes[key] = votes.get(key, 0.0) + weight_of[id(c.sentence)] / total
    for s in chosen:
        if id(s) not in weight_of:
            resolve(s)
    w = reader.entity_weights
    best: tuple[float, int, Sentence, Entity, bool] | None = None
    for n, s in enumerate(pool, start=1):
        ents = entities.get(id(s))
        if ents is None:
            ents = with_quoted_titles(s.text, reader.tagger.entities([s.text])[0])
        found, in_slot = answers_in(s, ents)
        if not found:
            continue
        words = list(TOKEN_RE.finditer(s.text))
        hits = [i for i, m in enumerate(words) if lemma(m.group(0)) in keys]
        for e in found:
            span = [i for i, m in enumerate(words) if m.start() < e.end and m.end() > e.start]
            gap = min((max(0, min(abs(h - i) for i in span) - 1) for h in hits), default=10) if span else 10
            holds_role = q.role_holder is not None and lemma(q.role_holder) in {lemma(t) for t in tokens(e.text)}
            rank = q.labels.index(e.label)
            tier = (1.0 - 0.1 * (rank > 0)) if rank < q.primary_labels and not _doubtful_money(e) else 0.5
            key = name_key(e.text)
            full_country = country_name(key) is not None and name_key(country_name(key) or "") == key
            value = (
                100.0 * holds_role  # "Who is the foreign secretary?": the person the coverage gives that title
                + w["tier"] * tier
                + w["near"] / (1 + gap)
                + w["votes"] * votes.get(_vote_key(e), 0.0)
                + w["first"] * (n == 1)
                + w.get("slot", 0.0) * tier * ((e.start, e.end) in in_slot)
                + 0.01 * full_country  # "the United Kingdom" rather than "UK" when both are there
                + 0.001 / (1 + gap)  # otherwise level: the one nearest the question's words
            )
            if best is None or value > best[0]:
                best = (value, n, s, e, (e.start, e.end) in in_slot)
    if best is None:
        return None, pool
    _, n, s, e, fills_slot = best
    if q.labels.index(e.label) >= q.primary_labels and votes.get(_vote_key(e), 0.0) < 0.5 and not fills_slot:
        # Only a fallback type ("NATO" for a who-question) that most of the best sentences do not
        # name and that is not what the question's slot holds: a bold wrong answer misleads more
        # than none, and the quoted sentences still follow (measured: 2 more right choices of the
        # 98 dev questions).
        return None, pool
    return {"text": e.text, "n": n, "start": s.start + e.start, "end": s.start + e.end}, pool


_SEVERAL = re.compile(r"\b(?:which|what)\s+(?:two|three|four|both)\b", re.IGNORECASE)
_CONJUNCTION = re.compile(r"\s*(?:,\s*(?:and\s+)?|and\s+|&\s+)")


def _asked_sentence(question: str) -> str:
    """The sentence of a question that asks it: "… set a record. Who holds it?" → "Who holds it?"."""
    parts = [question[s:e].strip() for s, e, _ in sentence_spans(question)]
    asking = [p for p in parts if p.endswith("?")]
    return asking[-1] if len(parts) > 1 and asking else question


def _slot_entities(
    text: str,
    parse,  # noqa: ANN001 - a bot.syntax.Parse
    slot: Slot,
    ents: tuple[Entity, ...],
    found: list[Entity],
    q: QuestionAnalysis,
    question_lower: frozenset[str],
    reader: Reader,
    context: list[str],
) -> tuple[list[Entity], set[tuple[int, int]]]:
    """`found` (the typed entities of a sentence) with the ones that fill the question's slot
    marked, plus capitalised slot fillers the tagger missed ("Brindle Chemicals" untagged), as the
    primary type asked for; conjoined fillers become one answer for "Which two companies …"."""
    filler_ids = slot_fillers(text, parse, slot, _same_word(slot.anchor, reader))
    fillers = [filler_span(text, parse, i) for i in filler_ids]
    if not fillers:
        return found, set()
    # "How many Russians could be conscripted?": the number counting the filler fills the slot.
    counts = count_spans(parse, filler_ids) if q.labels and q.labels[0] in NUMBER_LABELS else []

    def overlaps(e: Entity, a: int, b: int) -> bool:
        return e.start < b and a < e.end

    q_keys = {lemma(t) for t in question_lower} | {lemma(t) for t in tokens(q.text)}
    out = list(found)
    for a, b in fillers:
        words = tokens(text[a:b])
        named = bool(words) and all(is_capitalised(wd) for wd in words)
        inside = [e for e in out if a <= e.start and e.end <= b and (e.start, e.end) != (a, b)]
        if named and inside and all(e.label != "PERSON" for e in inside) and not any(
            overlaps(e, a, b) for e in out if e not in inside
        ):
            # The tagger named part of the filler ("Denver" of "the Denver Broncos"): the whole filler
            label = min((e.label for e in inside), key=q.labels.index)
            out = [e for e in out if e not in inside] + [Entity(text[a:b], label, a, b)]
            continue
        if any(overlaps(e, a, b) for e in found):
            continue
        if not named or all(lemma(wd) in q_keys for wd in words):
            continue
        if any(overlaps(e, a, b) and e.label not in q.labels for e in ents):
            continue  # a date or a person where a company is asked for
        if a == 0 and len(words) == 1 and not _named_elsewhere(words[0], text, context):
            continue  # "Officials said …": a capital letter at a sentence start is no name
        out.append(Entity(text[a:b], q.labels[0], a, b))
    out.sort(key=lambda e: e.start)
    in_slot = [e for e in out if any(overlaps(e, a, b) for a, b in fillers + counts)]
    if _SEVERAL.search(q.text) and len(in_slot) >= 2:
        joined = [in_slot[0]]
        for e in in_slot[1:]:
            if _CONJUNCTION.fullmatch(text[joined[-1].end : e.start]):
                joined.append(e)
        if len(joined) >= 2:
            whole = Entity(text[joined[0].start : joined[-1].end], joined[0].label, joined[0].start, joined[-1].end)
            out = [e for e in out if e not in joined] + [whole]
            in_slot = [whole]
    return out, {(e.start, e.end) for e in in_slot}


def _same_word(anchor: str, reader: Reader):  # noqa: ANN202 - a predicate on words
    """Whether a word is `anchor` (a `word_key`) or a synonym of it ("purchase" for "buy")."""
    single = reader.synonyms.single
    group = single.get(anchor)
    # The verb of a phrasal synonym stands for it in the parse ("call" of "call up" for "conscript").
    verbs = {words[0] for words, key in reader.synonyms.multi if key == group} if group is not None else set()

    def same(word: str) -> bool:
        key = word_key(word)
        return key == anchor or (group is not None and (single.get(key) == group or key in verbs))

    return same


def _antecedent(
    s: Sentence, passages: list[Passage], q: QuestionAnalysis, question_lower: frozenset[str], reader: Reader
) -> tuple[Sentence, Entity] | None:
    """What "the singer" of `s` refers to: the subject of one of the two sentences before it in
    its passage, when that subject is a name of the type asked for (tagged, or capitalised)."""
    p = passages[s.passage_index]
    spans = sentence_spans(p.text, headings=True)
    for k in (s.position - 1, s.position - 2):
        if k < 0 or k >= len(spans):
            break
        a, b, _ = spans[k]
        text = p.text[a:b]
        parse = reader.tagger.parses([text])[0]
        subject = main_subject(parse)
        sa, sb = filler_span(text, parse, subject) if subject is not None else (0, 0)
        ents = with_quoted_titles(text, reader.tagger.entities([text])[0])
        typed = [e for e in _typed_entities(ents, q, question_lower, text) if q.labels.index(e.label) < q.primary_labels]
        hit = next((e for e in typed if e.start < sb and sa < e.end), None)
        words = tokens(text[sa:sb])
        q_keys = {lemma(t) for t in question_lower} | {lemma(t) for t in tokens(q.text)}
        if hit is None and words and all(is_capitalised(w) for w in words) and not any(
            e.start < sb and sa < e.end for e in ents
        ) and not all(lemma(w) in q_keys for w in words):
            hit = Entity(text[sa:sb], q.labels[0], sa, sb)
        if hit is None and len(typed) == 1:
            hit = typed[0]  # the only name of the type asked for: "HBO's "Succession" comes out on top."
        if hit is not None:
            toks = tuple(tokens(text))
            return Sentence(s.passage_index, k, text, a, b, toks, frozenset(lemma(t) for t in toks), p.source), hit
    return None


def _named_elsewhere(word: str, text: str, context: list[str]) -> bool:
    """True when `word` is written capitalised after the start of a sentence of `context`."""
    pattern = re.compile(r"\S\s+" + re.escape(word) + r"\b")
    return any(pattern.search(t) for t in context if t != text)


# Figures from other articles count as reports of the same thing when their sentence scores at
# least this share of the best sentence's weight (exp of the score difference), as the votes do.
CONFLICT_SHARE = 0.5
MAX_FIGURES = 4
FIGURE_RATIO = 10.0
FIGURE_DAYS = 7
_NUMBER_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def _conflicting_figures(
    answer: tuple[Sentence, Entity], q: QuestionAnalysis, scored: list[_Scored], passages: list[Passage], reader: Reader
) -> list[tuple[Sentence, Entity]] | None:
    """For a how-many/how-much question: when sentences of different articles that answer it about
    as well as the best give different figures, one (sentence, figure) per article, oldest first
    (at most `MAX_FIGURES`, the reader's `answer` (sentence, figure) always among them); else None.

    Another sentence's figure is its number of the type asked for nearest the question's words."""
    best = answer[0]
    question_lower = _question_lower(q)
    keys = set(q.terms)
    top = max((c.score for c in scored if c.features is not None), default=0.0)
    by_article: dict[str, tuple[Sentence, Entity]] = {passages[best.passage_index].article_id: answer}
    pool = [
        c.sentence for c in scored
        if c.features is not None and c.features.entities and c.sentence is not best
        and math.exp(c.score - top) >= CONFLICT_SHARE
    ]
    for s in pool:
        article = passages[s.passage_index].article_id
        if article in by_article:
            continue
        features = next((c.features for c in scored if c.sentence is s and c.features is not None), None)
        ents = features.entities if features is not None else reader.tagger.entities([s.text])[0]
        found = [e for e in _typed_entities(ents, q, question_lower, s.text) if e.label in NUMBER_LABELS]
        if not found:
            continue
        words = list(TOKEN_RE.finditer(s.text))
        hits = [i for i, m in enumerate(words) if lemma(m.group(0)) in keys]

        def gap(e: Entity) -> int:
            span = [i for i, m in enumerate(words) if m.start() < e.end and m.end() > e.start]
            return min((min(abs(h - i) for i in span) for h in hits), default=99) if span else 99

        figure = min(found, key=gap)
        if figure.label == answer[1].label and _comparable(answer[1].text, figure.text) and _near_in_time(
            passages[best.passage_index], passages[s.passage_index]
        ):
            by_article[article] = (s, figure)
    if len(by_article) < 2:
        return None
    values = {_figure_value(e.text) for _, e in by_article.values()}
    if len(values) < 2:
        return None
    rows = list(by_article.values())[:MAX_FIGURES]
    return sorted(rows, key=lambda r: (passages[r[0].passage_index].published_at is None,
                                       passages[r[0].passage_index].published_at or 0, r[0].passage_index))


def _comparable(a: str, b: str) -> bool:
    """True when two figures can be reports of one quantity: both numbers, within a factor of
    `FIGURE_RATIO` ("about 3,000" and "10,000"; not "2,900" and "two")."""
    x, y = _figure_value(a), _figure_value(b)
    if not isinstance(x, float) or not isinstance(y, float) or x <= 0 or y <= 0:
        return False
    return max(x, y) / min(x, y) <= FIGURE_RATIO


def _near_in_time(a: Passage, b: Passage) -> bool:
    """True when two articles are within `FIGURE_DAYS` of each other (undated: not comparable);
    figures further apart are a story's progress, not conflicting reports."""
    if a.published_at is None or b.published_at is None:
        return False
    return abs((a.published_at - b.published_at).total_seconds()) <= FIGURE_DAYS * 86400


def _figure_value(text: str) -> float | str:
    """A figure's value for comparison: "about 3,000" and "3000" are 3000.0, "2.5 million" is
    2500000.0; text with no number compares as itself."""
    low = text.lower().replace(",", "")
    m = re.search(r"\d+(?:\.\d+)?", low)
    if m is None:
        return name_key(text)
    value = float(m.group(0))
    for word, scale in _NUMBER_WORDS.items():
        if word in low[m.end():]:
            value *= scale
            break
    return value


def _outlet_day(p: Passage) -> str:
    """`KBS News, 21 Oct 2024` (the outlet or "unknown outlet", the article's day if known)."""
    outlet = p.source or "unknown outlet"
    if p.published_at is None:
        return outlet
    d = p.published_at
    return f"{outlet}, {d.day} {d.strftime('%b')} {d.year}"


def _vote_key(e: Entity) -> str:
    """What an entity votes for: a person by surname ("Rutte" and "Mark Rutte" are one person), a
    country by its full name ("UK" and "the United Kingdom" are one country)."""
    key = name_key(e.text)
    country = country_name(key)
    if country is not None:
        return name_key(country)
    return key.rsplit(" ", 1)[-1] if e.label == "PERSON" else key


def _excerpt(text: str, keys: set[str], limit: int = MAX_QUOTED_CHARS) -> str:
    """`text` on one line; over `limit` characters, whole words from shortly before the first word
    whose lemma is in `keys` (else from the start), with "…" on each side that was cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    hit = next((m.start() for m in TOKEN_RE.finditer(flat) if lemma(m.group(0)) in keys), 0)
    start = max(0, hit - limit // 4)
    if start > 0 and flat[start - 1] != " ":
        space = flat.find(" ", start, hit)
        start = hit if space == -1 else space + 1
    end = start + limit - 2  # room for the two ellipses
    if end < len(flat):
        space = flat.rfind(" ", start, end + 1)
        if space > start:
            end = space
    else:
        end = len(flat)
    piece = flat[start:end].strip()
    return ("…" if start > 0 else "") + piece + ("…" if end < len(flat) else "")
