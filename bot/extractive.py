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

import re
import time
from dataclasses import dataclass, field

from bot.answer import ABSTAIN_TEXT, Answer, Answerer, Citation, Passage
from index.text import (
    SPEECH_QUESTION,
    TOKEN_RE,
    SPEECH_VERBS,
    TITLES,
    QueryTerms,
    analyse_query,
    content_terms,
    is_capitalised,
    lemma,
    question_names,
    sentence_spans,
    strip_possessive,
    tokens,
)
from bot.llm_verify import strip_markers

# --- vocabulary -------------------------------------------------------------------------------

# A speech verb *before* the name makes the name the speaker only for these ("said Lammy"),
# not for "told Lammy" / "urged Lammy", where the name is the addressee.
_SPEAKER_AFTER_VERB = frozenset(
    "said says added wrote noted stated argued warned explained claimed insisted tweeted".split()
)

# First words of capitalised pairs that are places or institutions, not people.
_NOT_PERSON_FIRST = frozenset(
    """
    north south east west new united los las san santa hong sri saudi middle great white supreme
    european african asian american british national international federal state city university
    the royal republic democratic republican st st. fort lake mount us uk eu un
    """.split()
)

NUMBER_WORDS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds
    thousand thousands million millions billion billions trillion trillions dozen dozens half
    """.split()
)

_DIGIT = re.compile(r"\d")
_DATE = re.compile(
    r"""\b(?:
        (?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.
      | january|february|march|april|may|june|july|august|september|october|november|december
      | monday|tuesday|wednesday|thursday|friday|saturday|sunday
      | (?:19|20)\d{2}s?
      | \d{4}-\d{2}-\d{2}
      | \d{1,2}/\d{1,2}(?:/\d{2,4})?
      | yesterday|today|tonight|tomorrow
      | (?:last|this|next|earlier\ this|later\ this|early\ this|late\ last)
        \ (?:week|weekend|month|year|spring|summer|fall|autumn|winter|morning|afternoon|evening|night)
      | (?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few)
        \ (?:days?|weeks?|months?|years?|decades?)\ ago
      | \d{1,2}(?::\d{2})?\ ?(?:a\.m\.|p\.m\.|am\b|pm\b)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_PLACE_PREPOSITIONS = frozenset(
    "in at from to near into across outside inside toward towards throughout within around".split()
)

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

    kind = _question_kind(text)
    speaker = None
    speaker_keys: tuple[str, ...] = ()
    topic_keys: frozenset[str] = frozenset()
    person = None
    m = SPEECH_QUESTION.match(text)
    if m:
        x_names = question_names(m.group("x"), at_sentence_start=False)
        x_tokens = [t for n in x_names for t in tokens(n) if t.lower() not in TITLES]
        if x_tokens:
            speaker = " ".join(x_names)
            surname = x_tokens[-1]
            speaker_keys = (lemma(surname),)
            person = surname
            topic_keys = frozenset(lemma(t) for t in content_terms(m.group("rest"))) - set(speaker_keys)
            if kind == "free":
                kind = "speech"
    if person is None:
        person = _person_in(names)
    return QuestionAnalysis(
        kind=kind,
        terms=terms,
        names=tuple(names),
        speaker=speaker,
        speaker_keys=speaker_keys,
        topic_keys=topic_keys,
        person=person,
        query=query,
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
        if parts[0].lower() in _NOT_PERSON_FIRST or any(p.lower() in TITLES for p in parts):
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


def _sentences(passages: list[Passage]) -> list[Sentence]:
    out: list[Sentence] = []
    for pi, p in enumerate(passages):
        for position, (s, e, _) in enumerate(sentence_spans(p.text, headings=True)):
            toks = tuple(tokens(p.text[s:e]))
            out.append(
                Sentence(pi, position, p.text[s:e], s, e, toks, frozenset(lemma(t) for t in toks))
            )
    return out


# --- sentence features ------------------------------------------------------------------------


def has_number(sentence_tokens: tuple[str, ...], exclude: frozenset[str] = frozenset()) -> bool:
    """True if the sentence holds a number (digits or a number word) that is not in `exclude`."""
    for t in sentence_tokens:
        low = t.lower()
        if low in exclude:
            continue
        if _DIGIT.search(t) or low in NUMBER_WORDS:
            return True
    return False


def date_expressions(text: str) -> list[str]:
    """Date/time expressions in a text, lowercased (months, weekdays, years, "last week", ISO dates…)."""
    out = []
    for m in _DATE.finditer(text):
        expr = m.group(0).lower()
        if expr == "may" and not re.search(r"\bmay\s+\d", text[m.start() : m.end() + 4], re.IGNORECASE):
            continue  # the modal verb
        if expr == "march" and not text[m.start()].isupper():
            continue
        out.append(expr)
    return out


def person_names(sentence_tokens: tuple[str, ...]) -> list[str]:
    """Person-like names: two capitalised words in a row, or a title followed by a capitalised word."""
    out = []
    toks = list(sentence_tokens)
    for i in range(len(toks) - 1):
        a, b = toks[i], toks[i + 1]
        a_title = a.lower().rstrip(".") in TITLES or a.lower() in TITLES
        if a_title and a[:1].isupper() and is_capitalised(b) and b.lower() not in TITLES:
            out.append(f"{a} {b}")
        elif (
            is_capitalised(a)
            and is_capitalised(b)
            and a.lower() not in _NOT_PERSON_FIRST
            and a.lower() not in TITLES
            and b.lower() not in TITLES
            and not a.isupper()
        ):
            out.append(f"{a} {strip_possessive(b)}")
    return out


def place_terms(sentence_tokens: tuple[str, ...]) -> list[str]:
    """Place-like terms: a capitalised word after a place preposition ("in Seoul", "to the Kremlin")."""
    out = []
    toks = list(sentence_tokens)
    for i, tok in enumerate(toks[:-1]):
        if tok.lower() not in _PLACE_PREPOSITIONS:
            continue
        j = i + 1
        if toks[j].lower() == "the" and j + 1 < len(toks):
            j += 1
        cand = toks[j]
        if is_capitalised(cand) and cand.lower().rstrip(".") not in TITLES:
            out.append(strip_possessive(cand))
    return out


def speaker_in(sentence: Sentence, keys: tuple[str, ...], window: int = 6) -> bool:
    """True if a name with one of the lemmas `keys` is the speaker of the sentence:
    the name shortly before a speech verb ("Lammy stated", "Lammy, the secretary, said"),
    "said Lammy", or "according to Lammy"."""
    toks = [t.lower() for t in sentence.tokens]
    positions = [i for i, t in enumerate(sentence.tokens) if t[:1].isupper() and lemma(t) in keys]
    for i in positions:
        if any(t in SPEECH_VERBS for t in toks[i + 1 : i + 1 + window]):
            return True
        if any(t in _SPEAKER_AFTER_VERB for t in toks[max(0, i - 3) : i]):
            return True
        if i >= 2 and toks[i - 2 : i] == ["according", "to"]:
            return True
        if i >= 3 and toks[i - 3 : i - 1] == ["according", "to"]:
            return True  # "according to Secretary Lammy"
    return False


_ANAPHOR_START = re.compile(
    r"^\W*(?:he|she|they|the\s+(?:\w+\s+)?(?:" + "|".join(sorted(t for t in TITLES if t.isalpha())) + r"))\b",
    re.IGNORECASE,
)


def _anaphoric_speaker(sentence: Sentence, previous: Sentence | None, keys: tuple[str, ...]) -> bool:
    """"He said …" / "The minister added …" right after a sentence that mentions X."""
    if previous is None or not _ANAPHOR_START.match(sentence.text):
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


class ExtractiveAnswerer(Answerer):
    """Answers with the best few retrieved sentences, verbatim, each cited; abstains when unsure.

    `min_dense` and `min_overlap` decide "nothing relevant enough": the answerer abstains when the
    best dense similarity among the passages is below `min_dense` AND the best passage covers less
    than `min_overlap` of the question's weighted content terms. The defaults (0.55, 0.8) are the
    best balanced accuracy of `benchmarks/calibrate_abstention.py` on the RealTimeQA dev questions
    (gold articles + 100 others; all-MiniLM-L6-v2 chunk embeddings): answers 91% of questions whose
    gold article was retrieved, abstains on 87% of those whose gold articles were withheld.
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
    ):
        self.max_sentences = max_sentences
        self.min_dense = min_dense
        self.min_overlap = min_overlap
        self.min_sentence_coverage = min_sentence_coverage
        self.secondary_ratio = secondary_ratio
        self.speaker_bonus = speaker_bonus
        self.rank_prior = rank_prior

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
        chosen, reason = self._choose(analysis, passages, avoid)
        if reason is not None:
            answer = Answer(
                question=question,
                text=ABSTAIN_TEXT,
                retrieved=passages,
                abstained=True,
                standalone_query=query,
                answerer=self.name,
                warnings=[f"abstained: {reason}"],
            )
        else:
            answer = _compose(question, chosen, passages, query, analysis)
        answer.timings = {"answer": (time.perf_counter() - started) * 1000}
        return answer

    # The steps, each returning the abstention reason when it fails.

    def _choose(
        self, q: QuestionAnalysis, passages: list[Passage], avoid: frozenset[str] = frozenset()
    ) -> tuple[list[Sentence], str | None]:
        if not passages:
            return [], "no passages retrieved"
        if not q.terms:
            return [], "the question has no content words to look for"
        overlap = max(_coverage(q.terms, _lemma_set(p.title + "\n" + p.text)) for p in passages)
        dense_scores = [p.dense_score for p in passages if p.dense_score is not None]
        top_dense = max(dense_scores) if dense_scores else None
        if (top_dense is None or top_dense < self.min_dense) and overlap < self.min_overlap:
            shown = "n/a" if top_dense is None else f"{top_dense:.2f}"
            return [], (
                f"nothing relevant enough (top dense similarity {shown} < {self.min_dense:.2f}, "
                f"term overlap {overlap:.2f} < {self.min_overlap:.2f})"
            )
        if q.person and not any(_mentions(p, q.person) for p in passages):
            return [], f"person '{q.person}' not in any retrieved passage"

        # A question in the coverage (quiz pages, "What happens next?") is never the answer to one.
        # Filtered sentences still count as the sentence before another ("He said…" after it).
        every = _sentences(passages)
        sentences = [s for s in every if s.text not in avoid and not s.text.rstrip(" \"'”’)").endswith("?")]
        scored = self._score(q, sentences, passages, every)
        if not scored:
            if q.kind in _KIND_FAILURE:
                return [], _KIND_FAILURE[q.kind]
            return [], "no sentence matches the question's terms"
        return self._select(scored), None

    def _score(
        self, q: QuestionAnalysis, sentences: list[Sentence], passages: list[Passage], every: list[Sentence]
    ) -> list[_Scored]:
        """Score the candidate `sentences`; `every` holds all sentences of the passages (by position)."""
        question_lower = frozenset(t.lower() for t in q.terms) | frozenset(
            t.lower() for n in q.names for t in n.split()
        )
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


def _fits_kind(q: QuestionAnalysis, s: Sentence, question_lower: frozenset[str]) -> bool:
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
        return any(place.lower() not in question_lower for place in place_terms(s.tokens))
    return True  # "speech" and "free": any sentence; speech prefers X speaking (a score bonus)


def _coverage(terms: dict[str, float], lemmas: frozenset[str] | set[str]) -> float:
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in terms.items() if t in lemmas) / total


def _lemma_set(text: str) -> frozenset[str]:
    return frozenset(lemma(t) for t in tokens(text))


def _mentions(passage: Passage, name: str) -> bool:
    """The name appears, capitalised, in the passage text or its article title."""
    key = lemma(name)
    for text in (passage.title, passage.text):
        if any(t[:1].isupper() and lemma(t) == key for t in tokens(text)):
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
    question: str, chosen: list[Sentence], passages: list[Passage], query: str | None, q: QuestionAnalysis
) -> Answer:
    """One citation per sentence, so that each citation's quote is exactly the sentence it backs.

    The answer text shows each sentence without the article's own bracketed numbers (footnotes
    like `[3]` would pass for citation markers) and at most `MAX_QUOTED_CHARS` long; the citation's
    quote stays the exact passage sentence."""
    keys = set(q.terms) | set(q.speaker_keys)
    parts = []
    citations = []
    for n, s in enumerate(chosen, start=1):
        parts.append(f"{_excerpt(strip_markers(s.text), keys)} [{n}]")
        citations.append(Citation(n=n, passage=passages[s.passage_index], quote=s.text))
    return Answer(
        question=question,
        text=" ".join(parts),
        citations=citations,
        retrieved=passages,
        abstained=False,
        standalone_query=query,
        answerer="extractive",
    )


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
