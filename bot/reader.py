"""The reader: scores candidate sentences of the retrieved passages and finds the short answer.

The extractive answerer hands the reader its candidate sentences (`Candidate`); the reader
returns one `Features` per candidate and a score, a weighted sum of

- `semantic`: cosine similarity of the question and the sentence (the retrieval embedding model,
  sentence by sentence, batched, cached per sentence text);
- `lexical`: the weighted share of the question's terms in the sentence, lemmas plus a small
  synonym table ("stepped down" ~ "resigned", "purchase" ~ "buy");
- `type`: the sentence holds an answer of the type asked for (a named entity from spaCy: who →
  PERSON, which company → ORG, where → GPE/LOC, when → DATE, how many → CARDINAL…) that is not in
  the question;
- `speaker`: for "What did X say about Y", X (or a role, alias or capital standing for X) speaks
  in the sentence, about Y;
- `passage`: the passage's fused retrieval score relative to the best one;
- `rank`: 1 / (1 + the rank of the passage's article among the retrieved articles).

The weights are measured on the dev questions by `benchmarks/reader_weights.py` (a logistic
regression of "the sentence contains the gold answer" on the features), not guessed.

spaCy is optional: without it (`nlp=None`) answer types come from today's rules (numbers, date
expressions, capitalised names, places after a preposition).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from bot.syntax import Parse, parse_doc
from index.text import (
    date_spans,
    lemma,
    person_name_spans,
    place_spans,
    role_keys,
    roles_in,
    strip_possessive_name,  # noqa: F401 - re-exported; the role rules live in index.text
    tokens,
)

# --- answer types -----------------------------------------------------------------------------

NUMBER_LABELS = ("CARDINAL", "MONEY", "QUANTITY", "PERCENT")

# The head noun after "which"/"what" → (the entity labels that answer it, how many of them are the
# primary type). The others are fallbacks for the small NER model's confusions (a team tagged
# PERSON or PRODUCT, a show tagged ORG); a fallback label counts half in the `type` feature.
_TYPE_NOUNS: dict[str, tuple[tuple[str, ...], int]] = {}
for _labels, _nouns in (
    (("PERSON", "ORG", "NORP"), "person man woman actor actress singer rapper player athlete star politician "
     "senator governor official leader president minister ceo founder judge candidate comedian author writer "
     "artist director musician celebrity member lawmaker host coach quarterback pitcher golfer"),
    (("ORG", "PRODUCT", "GPE", "PERSON", "NORP", "FAC"), "company firm team club school university college "
     "organization organisation group brand retailer network airline bank agency party league automaker "
     "carmaker chain store business manufacturer startup union service platform outlet newspaper restaurant "
     "supermarket maker giant insurer studio broadcaster channel franchise"),
    (("GPE", "LOC", "NORP"), "country nation state city capital town province region county island"),
    (("GPE", "LOC", "FAC"), "continent place area territory"),
    (("LOC", "FAC", "GPE", "ORG", "PERSON"),
     "river mountain ocean sea lake park volcano attraction landmark airport"),
    (("WORK_OF_ART", "ORG", "PRODUCT", "EVENT", "FAC"), "show film movie book song album series novel "
     "play musical episode"),
    (("EVENT", "ORG", "WORK_OF_ART", "PRODUCT"),
     "event tournament championship festival holiday storm hurricane award awards ceremony gala pageant"),
    (("PRODUCT", "ORG", "WORK_OF_ART", "PERSON"), "product phone car vehicle vaccine drug app device model"),
    (("NORP",), "nationality religion"),
    (("DATE",), "year date day month"),
    (("MONEY",), "amount price cost"),
):
    _primary = {"PERSON": 1, "ORG": 1, "GPE": 1, "LOC": 3, "WORK_OF_ART": 1, "EVENT": 1, "PRODUCT": 1}.get(
        _labels[0], len(_labels)
    )
    if _labels[0] == "GPE" and "FAC" in _labels:
        _primary = 3
    for _noun in _nouns.split():
        _TYPE_NOUNS.setdefault(_noun, (_labels, _primary))

_AUXILIARIES = frozenset("did does do is was are were will would can could should has have had may might".split())
_WH_NOUN = re.compile(r"\b(?:which|what)\s+((?:[\w’'-]+\s+){0,4}[\w’'-]+)", re.IGNORECASE)


def answer_type(question: str, kind: str) -> tuple[tuple[str, ...], int]:
    """(entity labels that answer the question, in order of preference; how many of them are the
    primary type). No labels: no span answer (e.g. "What did X say…", "Why…")."""
    low = question.lower()
    if kind == "speech":
        return (), 0
    if kind == "number" or (kind == "free" and re.search(r"\bhow\s+(?:many|much)\b", low)):
        if re.search(r"\bhow\s+much\b", low):
            change = (r"\b(?:increase|rise|rose|risen|grow|grew|jump|climb|drop|fall|fell|decline|shrink"
                      r"|(?:go|goes|gone|went|going)\s+(?:up|down))")  # not "up to how much"
            if re.search(change, low):
                return ("PERCENT", "MONEY", "QUANTITY", "CARDINAL"), 1  # a change is usually a percentage
            return ("MONEY", "PERCENT", "QUANTITY", "CARDINAL"), 3  # a bare count is no amount
        if re.search(
            r"\bhow\s+many\s+(?:\w+\s+)?(?:people|persons|men|women|children|kids|residents|deaths|workers"
            r"|cases|migrants|troops|soldiers|students|voters|passengers)\b",
            low,
        ):
            return ("CARDINAL",), 1
        return NUMBER_LABELS, 4
    if kind == "date":
        return ("DATE", "TIME"), 2
    if kind == "who":
        return ("PERSON", "ORG", "NORP"), 1
    if kind == "where":
        return ("GPE", "LOC", "FAC"), 3
    if re.search(r"\bwhat\s+percent(?:age)?\b", low):
        return ("PERCENT",), 1
    if re.search(r"\bhow\s+old\b", low):
        return ("DATE", "CARDINAL"), 2
    for word in wh_words(question):
        found = _TYPE_NOUNS.get(word) or _TYPE_NOUNS.get(lemma(word))
        if found:
            return found
    return (), 0


def wh_words(question: str) -> list[str]:
    """The words after "which"/"what" up to the verb, lower case: "which prestigious awards show
    did …" → ["prestigious", "awards", "show"]."""
    out = []
    for m in _WH_NOUN.finditer(question):
        for word in m.group(1).lower().split():
            word = word.strip("’'")
            if word in _AUXILIARIES:
                break  # "Which measure did lawmakers leave out?": the noun asked for is before the verb
            out.append(word)
    return out


def answer_labels(question: str, kind: str) -> tuple[str, ...]:
    """The entity labels that answer the question, in order of preference (see `answer_type`)."""
    return answer_type(question, kind)[0]


# --- synonyms ---------------------------------------------------------------------------------

# Groups of phrases that mean the same for matching a question to a sentence; each phrase is
# written as words and matched as a run of lemmas ("stepped down" = step + down).
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("resign", "step down", "quit", "stand down"),
    ("buy", "purchase", "acquire", "acquisition", "takeover", "take over"),
    ("sell", "sale", "sold"),
    ("die", "death", "dead", "pass away", "killed"),
    ("fire", "dismiss", "sack", "oust"),
    ("ban", "prohibit", "outlaw", "bar"),
    ("approve", "authorise", "authorize", "greenlight", "green light", "green lit", "sign off"),
    ("start", "begin", "launch", "kick off"),
    ("end", "finish", "conclude"),
    ("win", "victory", "won", "triumph"),
    ("increase", "rise", "raise", "hike", "jump", "climb", "soar"),
    ("decrease", "fall", "drop", "cut", "decline", "plunge", "slash"),
    ("arrest", "detain", "custody"),
    ("conscript", "conscription", "draft", "call up", "mobilise", "mobilize", "mobilisation", "mobilization"),
    ("meet", "met", "talks", "summit"),
    ("elect", "election", "vote"),
    ("fine", "penalty", "penalise", "penalize"),
    ("recall", "withdraw"),
    ("merge", "merger", "combine"),
    ("leader", "head", "chief", "boss", "chair", "chairman", "chairwoman"),
    ("car", "vehicle", "automobile"),
    ("gasoline", "gas", "petrol"),
    ("say", "state", "tell", "announce"),
    ("country", "nation"),
    ("company", "firm", "business"),
    ("movie", "film"),
)


@dataclass(frozen=True, slots=True)
class Synonyms:
    """Maps phrase lemmas to a group key ("~resign"), so paraphrases match."""

    single: dict[str, str]
    multi: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def default(cls) -> Synonyms:
        single: dict[str, str] = {}
        multi: list[tuple[tuple[str, ...], str]] = []
        for group in SYNONYM_GROUPS:
            key = "~" + lemma(group[0])
            for phrase in group:
                words = tuple(lemma(w) for w in phrase.split())
                if len(words) == 1:
                    single.setdefault(words[0], key)
                else:
                    multi.append((words, key))
        return cls(single, tuple(multi))

    def keys(self, lemma_seq: Sequence[str]) -> set[str]:
        """The group keys of the phrases in a sequence of lemmas."""
        out = {self.single[w] for w in lemma_seq if w in self.single}
        for words, key in self.multi:
            n = len(words)
            for i in range(len(lemma_seq) - n + 1):
                if tuple(lemma_seq[i : i + n]) == words:
                    out.add(key)
                    break
        return out


# --- capitals and roles -----------------------------------------------------------------------

# A capital or seat of government stands for its government ("Moscow said" = "Russia said").
# Each line: the names (first word of the line is the capital) that may stand for one another.
CAPITALS: tuple[tuple[str, ...], ...] = tuple(
    tuple(line.split(","))
    for line in """
    moscow,kremlin,russia,russian
    washington,us,usa,america,american,pentagon
    beijing,china,chinese
    london,uk,britain,british,whitehall
    kyiv,kiev,ukraine,ukrainian
    seoul,yongsan
    pyongyang,dprk
    tokyo,japan,japanese
    paris,france,french,elysee
    berlin,germany,german
    tehran,iran,iranian
    ankara,turkey,turkish
    delhi,india,indian
    ottawa,canada,canadian
    canberra,australia,australian
    brussels,eu
    jerusalem,israel,israeli
    riyadh,saudi
    cairo,egypt,egyptian
    taipei,taiwan,taiwanese
    rome,italy,italian
    madrid,spain,spanish
    warsaw,poland,polish
    minsk,belarus,belarusian
    havana,cuba,cuban
    caracas,venezuela,venezuelan
    brasilia,brazil,brazilian
    damascus,syria,syrian
    kabul,afghanistan,afghan
    islamabad,pakistan,pakistani
    """.split()
)


def capital_aliases(key: str) -> tuple[str, ...]:
    """Lemmas that stand for the same government as `key` (itself first), e.g. moscow → kremlin, russia."""
    for group in CAPITALS:
        keys = tuple(lemma(w) for w in group)
        if key in keys:
            return (key, *[k for k in keys if k != key])
    return (key,)


# Short and long names of the same country, so that "UK" and "the United Kingdom" are one answer
# and the full name is the one shown. Each line: the full name, then its other names.
COUNTRIES: tuple[tuple[str, ...], ...] = tuple(
    tuple(name.strip() for name in line.split(","))
    for line in """
    the United States, US, U.S., USA, U.S.A., United States, America, United States of America
    the United Kingdom, UK, U.K., Britain, Great Britain, United Kingdom
    the United Arab Emirates, UAE, U.A.E., United Arab Emirates
    South Korea, Republic of Korea, ROK
    North Korea, DPRK
    the Netherlands, Netherlands, Holland
    the Czech Republic, Czech Republic, Czechia
    the Philippines, Philippines
    Russia, Russian Federation
    China, People's Republic of China, PRC, mainland China
    Taiwan, Republic of China
    """.strip().splitlines()
)


# Every sovereign country by its common English name (plus the table above): a name the tagger
# calls a person or an organisation ("Sri Lanka has plunged into chaos" → PERSON in en_core_web_sm)
# is a place when it is one of these (`place_label`).
COUNTRY_NAMES = """
Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|Armenia|Australia|Austria|
Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|
Bosnia and Herzegovina|Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|Canada|
Cape Verde|Central African Republic|Chile|Colombia|Comoros|Congo|Costa Rica|Croatia|Cuba|Cyprus|
Denmark|Djibouti|Dominica|Dominican Republic|East Timor|Ecuador|Egypt|El Salvador|Equatorial Guinea|
Eritrea|Estonia|Eswatini|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Germany|Ghana|Greece|Grenada|
Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|Honduras|Hungary|Iceland|India|Indonesia|Iran|Iraq|
Ireland|Italy|Ivory Coast|Jamaica|Japan|Kazakhstan|Kenya|Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|
Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|
Maldives|Mali|Malta|Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|Mongolia|
Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nauru|Nepal|New Zealand|Nicaragua|Niger|Nigeria|
North Macedonia|Norway|Oman|Pakistan|Palau|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Poland|
Portugal|Qatar|Romania|Rwanda|Saint Kitts and Nevis|Saint Lucia|Samoa|San Marino|Saudi Arabia|
Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|Solomon Islands|Somalia|
South Africa|South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Tajikistan|Tanzania|
Thailand|Togo|Tonga|Trinidad and Tobago|Tunisia|Turkey|Turkmenistan|Tuvalu|Uganda|Ukraine|Uruguay|
Uzbekistan|Vanuatu|Vatican City|Venezuela|Vietnam|Yemen|Zambia|Zimbabwe
"""
_GIVEN_NAME_COUNTRIES = frozenset({"chad", "georgia", "israel", "jordan"})


def name_key(text: str) -> str:
    """A name compared case-insensitively, without articles, dots and possessives ("the U.K.'s" → "uk")."""
    words = [lemma(t).replace(".", "") for t in tokens(re.sub(r"['’]s?$", "", text.strip()))]
    return " ".join(w for w in words if w and w not in ("the", "a", "an"))


_COUNTRY_BY_KEY = {name_key(name): line[0] for line in COUNTRIES for name in line}


_COUNTRY_KEYS = frozenset(
    {name_key(n) for n in COUNTRY_NAMES.replace("\n", "").split("|") if n.strip()} | set(_COUNTRY_BY_KEY)
)


def is_country(key: str) -> bool:
    """Whether `key` (a `name_key`) names a country ("sri lanka", "uk")."""
    return key in _COUNTRY_KEYS


def place_label(label: str, text: str) -> str:
    """The entity label to use: GPE for a country the tagger called a person or an organisation,
    except a country name that is also a given name ("Jordan" tagged PERSON)."""
    if label in ("PERSON", "ORG") and is_country(key := name_key(text)):
        return label if label == "PERSON" and key in _GIVEN_NAME_COUNTRIES else "GPE"
    return label


def country_name(key: str) -> str | None:
    """The full name of the country whose `name_key` is `key` ("uk" → "the United Kingdom"), or None."""
    return _COUNTRY_BY_KEY.get(key)


def resolve_role(role: str, texts: Sequence[str]) -> str | None:
    """The surname of the person the coverage names with `role` ("the transport minister"), or None.

    A role matches a title or appositive when all of the role's words are among its words (so
    "the minister" matches "Transport Minister Eirik Halvorsen"); the most frequent person wins.
    """
    wanted = role_keys(role)
    if not wanted:
        return None
    counts: dict[str, int] = {}
    for text in texts:
        for keys, surname in roles_in(text):
            if wanted <= keys:
                counts[surname] = counts.get(surname, 0) + 1
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]


# --- the NLP pipeline -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity of a sentence: `sentence[start:end] == text`."""

    text: str
    label: str
    start: int
    end: int


class EntityTagger(Protocol):
    """What the reader needs from an NLP pipeline: the named entities of some sentences, and
    their dependency parses (empty when the pipeline has no parser)."""

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]: ...

    def parses(self, texts: Sequence[str]) -> list[Parse]: ...


class SpacyTagger:
    """Named entities and, when the pipeline has a parser, dependency parses from a loaded spaCy
    pipeline, cached per sentence text (one pass of the pipeline gives both)."""

    def __init__(self, nlp: Any, *, cache_size: int = 20000):
        self._nlp = nlp
        self._parsed = "parser" in getattr(nlp, "pipe_names", ())
        self._cache: OrderedDict[str, tuple[tuple[Entity, ...], Parse]] = OrderedDict()
        self._cache_size = cache_size

    def _run(self, texts: Sequence[str]) -> list[tuple[tuple[Entity, ...], Parse]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, doc in zip(missing, self._nlp.pipe(missing, batch_size=32), strict=True):
                ents = tuple(Entity(e.text, place_label(e.label_, e.text), e.start_char, e.end_char) for e in doc.ents)
                self._cache[text] = (ents, parse_doc(doc) if self._parsed else ())
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        for t in texts:
            self._cache.move_to_end(t)
        return [self._cache[t] for t in texts]

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """The entities of each text, in order."""
        return [ents for ents, _ in self._run(texts)]

    def parses(self, texts: Sequence[str]) -> list[Parse]:
        """The dependency parse of each text, in order (empty without a parser)."""
        return [parse for _, parse in self._run(texts)]


class LazyTagger:
    """An entity tagger built at the first question that needs entities, so that processes that
    never answer (`newsbot index`, `fetch`) never load spaCy. `load` returns the tagger to use."""

    def __init__(self, load: Callable[[], EntityTagger]):
        self._load = load
        self._inner: EntityTagger | None = None
        self._lock = threading.Lock()

    @property
    def inner(self) -> EntityTagger:
        """The tagger itself, built on first use."""
        with self._lock:
            if self._inner is None:
                self._inner = self._load()
            return self._inner

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """The entities of each text, in order (see `SpacyTagger`, `RuleTagger`)."""
        return self.inner.entities(texts)

    def parses(self, texts: Sequence[str]) -> list[Parse]:
        """The parse of each text, in order (see `SpacyTagger`, `RuleTagger`)."""
        return self.inner.parses(texts)


# --- features and scoring ---------------------------------------------------------------------

FEATURES = ("semantic", "lexical", "type", "speaker", "passage", "rank")

# Measured by benchmarks/reader_weights.py on the RealTimeQA 2022 dev questions over the whole
# 3,698-article index (docs/benchmarks.md; 5-fold held-out containment equals the all-data fit).
# The fit gives `speaker` no weight (almost no dev question asks "What did X say"); it is set to
# the lexical weight so that X speaking counts as much as the question's words do, as the
# speaker questions of the tests need. `rank` comes out slightly negative (-0.256; the passage
# score already carries the article's rank); a weight that prefers lower-ranked articles would
# make no sense to a reader, so it is 0.
DEFAULT_WEIGHTS: dict[str, float] = {
    "semantic": 0.467,
    "lexical": 0.747,
    "type": 0.848,
    "speaker": 0.747,
    "passage": 0.722,
    "rank": 0.0,
}


# How the short answer is picked among the typed entities of the cited sentences (see
# `bot.extractive._short_answer`); measured on the dev questions by benchmarks/reader_weights.py.
# `slot`: the entity fills the slot the question asks about (bot.syntax): measured flat from 1 to 8
# (59 of 98 right choices), 0.5 worse.
DEFAULT_ENTITY_WEIGHTS: dict[str, float] = {"tier": 1.0, "near": 0.0, "votes": 2.0, "first": 0.0, "slot": 2.0}


@dataclass(slots=True)
class Features:
    """The reader's features of one candidate sentence and its score."""

    semantic: float = 0.0
    lexical: float = 0.0
    type: float = 0.0
    speaker: float = 0.0
    passage: float = 0.0
    rank: float = 0.0
    score: float = 0.0
    entities: tuple[Entity, ...] = field(default=())

    def to_dict(self) -> dict[str, float]:
        """The features and score, rounded (for `--passages` and `:json`)."""
        out = {name: round(getattr(self, name), 4) for name in FEATURES}
        out["score"] = round(self.score, 4)
        return out


class SentenceVectors:
    """Sentence embeddings through the retrieval model, batched, cached per sentence text."""

    def __init__(self, embedder: Any, *, cache_size: int = 20000, batch_size: int = 4, max_chars: int = 250):
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self.batch_size = batch_size
        self.max_chars = max_chars  # a sentence is embedded from its first this many characters

    def similarities(self, question: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity of `question` with each text (vectors are L2-normalised)."""
        if not texts:
            return []
        missing = list(dict.fromkeys(t for t in [question, *texts] if t not in self._cache))
        # Shortest first in small batches: a batch is padded to its longest text, and one run-on
        # "sentence" of scraped text would otherwise make every sentence cost 256 tokens.
        missing.sort(key=len)
        for i in range(0, len(missing), self.batch_size):
            part = missing[i : i + self.batch_size]
            vectors = self._embedder.embed_documents([t[: self.max_chars] for t in part])
            for text, vec in zip(part, vectors, strict=True):
                self._cache[text] = np.asarray(vec, dtype=np.float32)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        q = self._cache[question]
        return [float(np.dot(q, self._cache[t])) for t in texts]


def weighted_score(f: Features, weights: dict[str, float]) -> float:
    """The linear score of a candidate's features."""
    return sum(weights.get(name, 0.0) * getattr(f, name) for name in FEATURES)



# --- rule-based entities (without spaCy) ------------------------------------------------------

_RULE_NUMBER = re.compile(
    r"(?:[$€£]\s?)?\d[\d,.]*(?:\s?(?:%|percent|million|billion|trillion|thousand))?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|dozens?|hundreds|thousands|millions)\b(?:\s(?:million|billion|thousand|hundred))?",
    re.IGNORECASE,
)


class RuleTagger:
    """Entities from today's rules, for when spaCy is unavailable: numbers, dates, names, places."""

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """Rule-based entities of each text (labels CARDINAL, MONEY, PERCENT, DATE, PERSON, GPE)."""
        out = []
        for text in texts:
            ents: list[Entity] = []
            for m in _RULE_NUMBER.finditer(text):
                value = m.group(0).rstrip(",.")
                label = "CARDINAL"
                if value[:1] in "$€£":
                    label = "MONEY"
                elif value.endswith(("%", "percent")):
                    label = "PERCENT"
                ents.append(Entity(value, label, m.start(), m.start() + len(value)))
            ents.extend(Entity(text[s:e], "DATE", s, e) for s, e in date_spans(text))
            ents.extend(Entity(text[s:e], "PERSON", s, e) for s, e in person_name_spans(text))
            ents.extend(Entity(text[s:e], "GPE", s, e) for s, e in place_spans(text))
            ents.sort(key=lambda e: e.start)
            out.append(tuple(ents))
        return out

    def parses(self, texts: Sequence[str]) -> list[Parse]:
        """No parses: without spaCy the reader has no answer slots."""
        return [() for _ in texts]


_QUOTED_TITLE = re.compile(r"[“\"‘]((?:[A-Z0-9][\w’'&:.-]*)(?:\s+[\w’'&:.-]+){0,5}?)[”\"’]")


def with_quoted_titles(text: str, ents: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """`ents` plus each short quoted title-cased phrase (“Squid Game”, “Thor: Love and Thunder”)
    as a WORK_OF_ART: news style quotes the titles of shows, films, books and songs. A quotation
    that is a sentence of speech (ends in punctuation, or most words lower case) is not a title;
    an entity inside the quotes gives way to the whole title."""
    extra = []
    for m in _QUOTED_TITLE.finditer(text):
        title = m.group(1)
        words = title.split()
        if title[-1] in ".,!?;" or sum(w[:1].isupper() or w[:1].isdigit() for w in words) * 2 < len(words):
            continue
        extra.append(Entity(title, "WORK_OF_ART", m.start(1), m.end(1)))
    if not extra:
        return ents
    kept = [e for e in ents if not any(x.start <= e.start and e.end <= x.end for x in extra)]
    return tuple(sorted([*kept, *extra], key=lambda e: e.start))


@dataclass(slots=True)
class Reader:
    """The reader's parts: sentence vectors (optional), an entity tagger, the weights.

    `max_candidates`: sentences (best by lexical overlap and passage rank) that get a sentence
    embedding; `max_tagged`: of those, the best that the entity tagger reads.
    """

    vectors: SentenceVectors | None = None
    tagger: EntityTagger = field(default_factory=RuleTagger)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    synonyms: Synonyms = field(default_factory=Synonyms.default)
    max_candidates: int = 12
    max_tagged: int = 6
    rows: int = 10  # candidate rows kept in `Answer.reader` for the developer view
    # The short answer may come from an uncited tagged candidate, whose sentence is then cited.
    short_from_candidates: bool = True
    entity_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ENTITY_WEIGHTS))
