"""Text analysis shared by the chunker, the retriever, the answerers and the conversation helpers.

One place for: word tokens and their light lemmas, the one stopword set, names and content terms
of a question (`analyse_query`, which the lexical index, the retriever, the extractive answerer
and follow-up resolution all use, so they agree on what a question asks about), and sentence
spans (blingfire, called through ctypes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# --- vocabulary -------------------------------------------------------------------------------

# English stopwords for *questions* (documents are indexed in full). Question framing, reporting
# verbs and news-framing words are included: in news every other passage "said" something or is
# "the latest", so they only add noise to a question like "What did Lammy say about passports?".
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't d did didn't do does doesn't doing
    don't down during each either else ever few for from further get gets got had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself just let let's ll m me more most much
    mustn't my myself neither no nor not now of off on once only or other ought our ours ourselves
    out over own per please re s same shan't she she'd she'll she's should shouldn't so some such t
    than that that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up upon us ve very via was wasn't we we'd
    we'll we're we've were weren't what what's whatever when when's where where's whether which while
    who who's whom whose why why's will with within without won't would wouldn't yet you you'd
    you'll you're you've your yours yourself yourselves
    say says said saying tell told telling know knew think thought mention mentioned mentions
    regarding according
    anything something everything nothing thing things one ones many may might must shall
    recently recent latest currently reportedly news report reports story stories
    week day year month today yesterday tomorrow time times
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# What the retriever drops on top of STOPWORDS: "what happened" is question framing for a search,
# but the answerer keeps it as a term (a sentence saying what "happened" is closer to the question).
SEARCH_ONLY_STOPWORDS: frozenset[str] = frozenset({"happen", "happened", "happening"})

# Words that start a question; capitalised at the start of a sentence they are not names.
QUESTION_WORDS: frozenset[str] = frozenset(
    """
    what who whom whose which when where why how is are was were do does did can could will would
    should shall has have had may might must tell show give list explain describe summarise summarize
    find any according please in on at for from about after before since during
    """.split()  # noqa: SIM905
)

# Words that introduce reported speech. Matched on the lowercased surface form.
SPEECH_VERBS: frozenset[str] = frozenset(
    """
    say says said saying state states stated stating tell tells told telling emphasize emphasizes
    emphasized emphasise emphasises emphasised stress stresses stressed mention mentions mentioned
    criticize criticizes criticized criticise criticises criticised express expresses expressed write
    writes wrote written add adds added warn warns warned argue argues argued note notes noted
    announce announces announced claim claims claimed insist insists insisted explain explains
    explained declare declares declared acknowledge acknowledges acknowledged suggest suggests
    suggested urge urges urged vow vows vowed pledge pledges pledged promise promises promised reply
    replies replied respond responds responded accuse accuses accused describe describes described
    tweet tweets tweeted post posts posted predict predicts predicted confirm confirms confirmed deny
    denies denied admit admits admitted assert asserts asserted caution cautions cautioned remark
    remarks remarked comment comments commented testify testifies testified counter counters
    countered reveal reveals revealed recall recalls recalled think thinks thought believe believes
    believed react reacts reacted
    """.split()  # noqa: SIM905
)

TITLES: frozenset[str] = frozenset(
    """
    president vice secretary minister prime foreign general mr mr. mrs mrs. ms ms. dr dr. sen sen.
    senator rep rep. representative gov gov. governor chancellor king queen prince princess pope judge
    justice chairman chairwoman chair ceo mayor director officer ambassador lord sir dame professor
    prof prof. coach captain commissioner spokesman spokeswoman spokesperson leader premier
    envoy chief deputy speaker lawmaker
    """.split()  # noqa: SIM905
)

MONTHS: frozenset[str] = frozenset(
    """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()  # noqa: SIM905
)
WEEKDAYS: frozenset[str] = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())

# "What did X say about Y?" and its variants; X and Y are named groups.
SPEECH_QUESTION = re.compile(
    r"""^\W*(?:and\s+|so\s+|ok(?:ay)?,?\s+)?(?:what|how)\s+(?:else\s+)?
        (?:did|does|do|has|have|had|is|was|were|will|would)\s+(?P<x>.+?)\s+
        (?P<verb>say|said|saying|tell|told|telling|announce|announced|warn|warned|claim|claimed|state|stated
          |think|thought|respond|responded|react|reacted|reply|replied|argue|argued|write|wrote|mention
          |mentioned|criticize|criticise|criticized|criticised|emphasize|emphasise|emphasized|emphasised
          |express|expressed|note|noted|add|added|comment|commented|testify|testified|promise|promised
          |pledge|pledged|suggest|suggested|reveal|revealed|admit|admitted|deny|denied|predict|predicted
          |believe|believed|stress|stressed|explain|explained)\b
        (?P<rest>.*)$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)

TOKEN_RE = re.compile(r"\w+(?:['’.]\w+)*(?:['’]s?)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?]")
_NAME_GAP = re.compile(r"\s+|-")  # what may stand between the words of one name
_INITIALISM = re.compile(r"(?:[a-z]\.)+[a-z]\.?")

# --- tokens and lemmas ------------------------------------------------------------------------


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(text: str) -> str:
    """`text` with lone surrogates (undecodable bytes of a file name or argv, JSON "\\ud800"
    escapes) replaced by U+FFFD: they cannot be written as UTF-8 nor tokenised."""
    return _SURROGATE_RE.sub("\ufffd", text)


def tokens(text: str) -> list[str]:
    """Word tokens of a text, original case (possessives and inner apostrophes/dots kept)."""
    return TOKEN_RE.findall(text)


# Irregular past forms of the verbs news questions paraphrase most; the regular folding below
# cannot reach them ("Who won …?" against "… wins", "Which leader fled?" against "… flees").
_IRREGULAR: dict[str, str] = {
    form: base
    for base, forms in {
        "win": "won", "flee": "fled", "take": "took taken", "sell": "sold", "buy": "bought",
        "lead": "led", "go": "went gone", "run": "ran", "begin": "began begun",
        "rise": "rose risen", "fall": "fell fallen", "hold": "held", "give": "gave given",
        "find": "found", "speak": "spoke spoken", "choose": "chose chosen", "break": "broke broken",
        "drive": "drove driven", "strike": "struck", "seek": "sought", "bring": "brought",
        "steal": "stole stolen", "lose": "lost", "pay": "paid", "freeze": "froze frozen",
        "hide": "hid hidden", "sink": "sank sunk", "fight": "fought", "catch": "caught", "teach": "taught",
        "think": "thought", "grow": "grew grown", "throw": "threw thrown", "fly": "flew flown",
        "draw": "drew drawn", "write": "wrote written", "eat": "ate eaten", "swim": "swam swum",
        "sing": "sang sung", "ring": "rang rung", "meet": "met", "send": "sent", "spend": "spent",
        "build": "built", "feel": "felt", "keep": "kept", "sleep": "slept", "wear": "wore worn",
        "tear": "tore torn", "swear": "swore sworn", "shake": "shook shaken", "forbid": "forbade forbidden",
    }.items()
    for form in forms.split()
}


@lru_cache(maxsize=1 << 16)  # called for every token at index time; pure
def lemma(word: str) -> str:
    """A light lemma: lowercase, no possessive 's, plural and -ing/-ed suffixes folded, final e dropped.

    Both the question and the passages go through the same folding, so it only has to be
    consistent ("passports"/"passport", "stated"/"state"), not linguistically right.
    """
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    elif w.endswith("'"):
        w = w[:-1]
    if _INITIALISM.fullmatch(w):
        w = w.replace(".", "")  # "U.S." is the "US" of a question
    w = _IRREGULAR.get(w, w)  # "fled" is "flee", "won" is "win"
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    suffix_stripped = False
    if w.endswith("ing") and len(w) > 5:
        w, suffix_stripped = w[:-3], True
    elif w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ed") and len(w) > 4:
        w, suffix_stripped = w[:-2], True
    if suffix_stripped and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # stopped -> stop
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def strip_possessive(tok: str) -> str:
    """The token without a trailing possessive ("Korea's" -> "Korea", "Jones'" -> "Jones")."""
    for suffix in ("'s", "’s", "'", "’"):
        if tok.endswith(suffix) and len(tok) > len(suffix):
            return tok[: -len(suffix)]
    return tok


@lru_cache(maxsize=1 << 16)
def is_capitalised(token: str) -> bool:
    """True for a name-like token: upper-case first, and not a stopword, question word, month or weekday."""
    low = token.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    return (
        token[:1].isupper()
        and low not in STOPWORDS
        and low not in QUESTION_WORDS
        and low not in MONTHS
        and low not in WEEKDAYS
    )


# --- names and terms of a question ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """What a question asks about: content words and names.

    `words`: lower-cased content words (stopwords and question words dropped, name tokens kept
    even if they look like stopwords, e.g. "US"), possessives stripped, deduplicated, in question
    order. `names`: name phrases as typed ("Lammy", "Boris Johnson"). `plain_words`: the words that
    are not part of any name.
    """

    words: tuple[str, ...]
    names: tuple[str, ...]
    plain_words: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.words


def _name_groups(text: str, *, at_sentence_start: bool) -> tuple[list[str], list[str]]:
    """(name groups deduplicated case-insensitively, name tokens) of a text.

    A token is name-like when it is capitalised and not a stopword, question word, month or
    weekday (`is_capitalised`), when it is an all-caps word of 2+ letters that does not start a
    sentence, even if it spells a stopword (US, IT), or when it is capitalised and continues a
    name ("Theresa May"). Adjacent name-like tokens (separated by whitespace or a hyphen) form one
    group; a possessive ends it. A shouted all-caps text has no names.
    """
    if text.isupper():
        return [], []
    matches = list(TOKEN_RE.finditer(text))
    groups: list[list[str]] = []
    current: list[str] = []
    prev_end = 0
    for i, m in enumerate(matches):
        tok = m.group(0)
        gap = text[prev_end : m.start()]
        after_title = (
            i > 0 and gap[:1] == "." and gap[1:].isspace() and f"{matches[i - 1].group(0).lower()}." in TITLES
        )
        if after_title:
            gap = gap[1:]  # "Dr. Lee" is one name, and "." after "Dr" ends no sentence
        sentence_start = i == 0 or bool(_SENTENCE_END.search(gap))
        name_like = is_capitalised(tok) and not tok.isdigit()
        word = strip_possessive(tok)
        if not name_like and not sentence_start:
            name_like = tok.isupper() and len(word) >= 2 and word.isalpha()
        if not name_like and current and _NAME_GAP.fullmatch(gap) and tok[:1].isupper():
            # a capitalised word continuing a name: "Theresa May", "New York Times", "Fox News"
            low = word.lower()
            name_like = low != "i" and (low not in QUESTION_WORDS or low in MONTHS)
        if name_like and i == 0 and at_sentence_start:
            # Any question's first word is capitalised: it is a name only with more evidence.
            name_like = (
                (len(matches) > 1 and is_capitalised(matches[1].group(0)))  # "Joe Biden said what?"
                or text[m.end() : m.end() + 1] == ":"  # a topic label: "Passports: what did he say?"
                or (len(word) >= 2 and (word.isupper() or not word[1:].islower()))  # "NASA", "SpaceX"
            )
        if current and not (name_like and _NAME_GAP.fullmatch(gap)):
            groups.append(current)
            current = []
        if name_like:
            current.append(word)
            if word != tok:  # a possessive ends the name: "Trump's Mar-a-Lago"
                groups.append(current)
                current = []
        prev_end = m.end()
    if current:
        groups.append(current)
    seen: set[str] = set()
    out: list[str] = []
    for group in groups:
        name = " ".join(group)
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out, [t for g in groups for t in g]


def question_names(text: str, *, at_sentence_start: bool = True) -> list[str]:
    """Capitalised name groups of a question ("David Lammy", "North Korea", "US"), in order, deduplicated.

    With `at_sentence_start`, the first word counts only when the next word is capitalised too, a
    colon follows it, or it is an acronym or has inner capitals ("Approximately how many…" and
    "Really?" have no name; "Joe Biden said what?", "Passports: what did he say?" and "NASA
    launched what?" have one). `analyse_query` finds the same names.
    """
    return _name_groups(text, at_sentence_start=at_sentence_start)[0]


def _content_tokens(text: str, name_tokens: set[str], drop: frozenset[str]) -> list[str]:
    """Tokens (possessive stripped) that are names or not in STOPWORDS, QUESTION_WORDS or `drop`,
    deduplicated by lemma."""
    out: list[str] = []
    seen: set[str] = set()
    for tok in tokens(text):
        word = strip_possessive(tok)
        low = word.lower()
        key = lemma(tok)
        if not key or key in seen:
            continue
        if word not in name_tokens and (
            tok.lower() in STOPWORDS
            or low in STOPWORDS
            or key in STOPWORDS
            or low in QUESTION_WORDS
            or low in drop
        ):
            continue
        seen.add(key)
        out.append(word)
    return out


def content_terms(text: str) -> list[str]:
    """Content words of a text in original form and order: names, and other words that are not
    stopwords, question words or speech verbs (the answerer's terms: `analyse_query(text).words`
    without the speech verbs, plus "happened")."""
    _, name_tokens = _name_groups(text, at_sentence_start=True)
    return _content_tokens(text, set(name_tokens), SPEECH_VERBS)


def analyse_query(text: str) -> QueryTerms:
    """Split a question into content words and names (see `QueryTerms`; the names are `question_names`)."""
    names, name_tokens = _name_groups(text, at_sentence_start=True)
    name_set = set(name_tokens)
    words = tuple(dict.fromkeys(t.lower() for t in _content_tokens(text, name_set, SEARCH_ONLY_STOPWORDS)))
    name_words = {t.lower() for t in name_tokens}
    plain = tuple(w for w in words if w not in name_words)
    return QueryTerms(words=words, names=tuple(names), plain_words=plain)


# --- sentences --------------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n\s*\n")
_HEADING_MAX = 60


def sentence_spans(
    text: str, *, headings: bool = False, markers: re.Pattern[str] | None = None
) -> list[tuple[int, int, bool]]:
    """Sentences of `text` as (start, end, starts_paragraph), offsets into `text`.

    Paragraphs are split on blank lines first; with `headings`, a short line without end
    punctuation that is followed by a capitalised line (a heading, byline or "Related:" link line
    of scraped text) is its own segment, so blingfire does not glue it onto the next sentence
    (hard-wrapped prose, whose next line continues in lower case, stays together). blingfire
    splits each segment into sentences. Spans are trimmed of surrounding whitespace and never empty.

    `markers` (the citation markers of a model's reply, e.g. `[1]`) turns on repairs for
    generated text: markers after a sentence end belong to that sentence, a sentence ends after
    them ("so.[1][2] Next"), and a split after an abbreviation ("Wow! Dr. | Lee") or before a
    lower-case word is undone. Passages are split without them, so chunk boundaries stay put.
    """
    spans = _blingfire_spans(text, headings=headings)
    return _repair_spans(text, spans, markers) if markers is not None else spans


def _blingfire_spans(text: str, *, headings: bool) -> list[tuple[int, int, bool]]:
    spans: list[tuple[int, int, bool]] = []
    for para_start, para_end in _paragraphs(text):
        first = True
        segments = _split_heading_lines(text, para_start, para_end) if headings else [(para_start, para_end)]
        for seg_start, seg_end in segments:
            segment = text[seg_start:seg_end]
            if not segment.strip():
                continue
            for s, e in _sentence_offsets(segment) or [(0, len(segment))]:
                while s < e and segment[s].isspace():
                    s += 1
                while e > s and segment[e - 1].isspace():
                    e -= 1
                if e > s:
                    spans.append((seg_start + s, seg_start + e, first))
                    first = False
    return spans


ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sen rep gov gen lt col capt sgt jr sr inc co corp ltd no vs etc "
    "approx dept est fig jan feb mar apr aug sept sep oct nov dec e.g i.e u.s u.k a.m p.m".split()
)
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def _ends_with_abbreviation(sentence: str) -> bool:
    word = _LAST_WORD.search(sentence)
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in ABBREVIATIONS or len(token) == 1


def _repair_spans(
    text: str, spans: list[tuple[int, int, bool]], markers: re.Pattern[str]
) -> list[tuple[int, int, bool]]:
    end_then_markers = re.compile(
        r"(?:[.!?]+|…)[\"'”’»)]*(?:\s*(?:" + markers.pattern + r"))+(?=\s+[\"“‘'(]?[A-Z0-9])",
        markers.flags,
    )
    split: list[tuple[int, int, bool]] = []
    for start, end, first in spans:
        pos = start
        for m in end_then_markers.finditer(text, start, end):
            split.append((pos, m.end(), first and pos == start))
            pos = m.end()
            while pos < end and text[pos].isspace():
                pos += 1
        if pos < end:
            split.append((pos, end, first and pos == start))
    leading = re.compile(r"(?:\s*(?:" + markers.pattern + r"))+", markers.flags)
    merged: list[tuple[int, int, bool]] = []
    for start, end, first in split:
        if merged and not first:
            prev_start, prev_end, prev_first = merged[-1]
            lead = leading.match(text, start, end)
            if lead:  # markers opening a sentence cite the one before it
                merged[-1] = (prev_start, lead.end(), prev_first)
                start = lead.end()
                while start < end and text[start].isspace():
                    start += 1
                if start >= end:
                    continue
                prev_end = lead.end()
            if _ends_with_abbreviation(text[prev_start:prev_end]) or text[start].islower():
                merged[-1] = (prev_start, end, prev_first)
                continue
        merged.append((start, end, first))
    return merged


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _BLANK_LINES.finditer(text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(text)))
    return out


def _split_heading_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    seg_start = start
    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        line_end = end if nl == -1 else nl
        line = text[line_start:line_end].strip()
        following = text[line_end + 1 : end].lstrip()[:1]
        if (
            nl != -1
            and line
            and len(line) <= _HEADING_MAX
            and line[-1] not in ".!?:;,\"”'’)"
            and (following.isupper() or following.isdigit() or following in "\"“'‘")
        ):
            if seg_start < line_start:
                out.append((seg_start, line_start))
            out.append((line_start, line_end))
            seg_start = line_end + 1
        line_start = line_end + 1
    if seg_start < end:
        out.append((seg_start, end))
    return out


def _sentence_offsets(para: str) -> list[tuple[int, int]]:
    """blingfire's sentence boundaries as character offsets.

    Calls the C function directly: blingfire's Python wrapper maps offsets with a Python loop
    over every byte, which made chunking cost more than parsing.
    """
    import ctypes

    import blingfire

    data = para.encode("utf-8")
    size = len(data) * 2 + 16
    out = ctypes.create_string_buffer(size)
    starts = (ctypes.c_int32 * size)()
    ends = (ctypes.c_int32 * size)()
    n = blingfire.blingfire.TextToSentencesWithOffsets(
        ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(out),
        ctypes.byref(starts), ctypes.byref(ends), ctypes.c_int(size),
    )
    if n <= 0 or n > size:
        return []
    count = out.value.count(b"\n") + 1
    pairs = [(starts[i], ends[i] + 1) for i in range(count)]  # blingfire's ends are inclusive
    if len(data) == len(para):  # ASCII: bytes are characters
        return pairs
    return [
        (len(data[:s].decode("utf-8", "ignore")), len(data[:e].decode("utf-8", "ignore"))) for s, e in pairs
    ]


# --- entity rules (numbers, dates, names, places without an NLP model) ------------------------

# First words of capitalised pairs that are places or institutions, not people.
NOT_PERSON_FIRST = frozenset(
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
_MONTH_NAMES = frozenset(
    "jan feb mar apr jun jul aug sep sept oct nov dec january february march april may june july august "
    "september october november december".split()
)
_DAY_AFTER_MONTH = re.compile(r"\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+(?:19|20)\d{2}\b)?")
_PLACE_PREPOSITIONS = frozenset(
    "in at from to near into across outside inside toward towards throughout within around".split()
)


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
            and a.lower() not in NOT_PERSON_FIRST
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


def date_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the date/time expressions of `date_expressions`."""
    out = []
    for m in _DATE.finditer(text):
        expr = m.group(0).lower()
        if expr == "may" and not re.search(r"\bmay\s+\d", text[m.start() : m.end() + 4], re.IGNORECASE):
            continue
        if expr == "march" and not text[m.start()].isupper():
            continue
        end = m.end()
        if expr.rstrip(".") in _MONTH_NAMES:
            day = _DAY_AFTER_MONTH.match(text, end)
            end = day.end() if day else end
        out.append((m.start(), end))
    return out


def person_name_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the person-like names of `person_names` (title + name, or two names)."""
    found = list(TOKEN_RE.finditer(text))
    toks = tuple(m.group(0) for m in found)
    names = set(person_names(toks))
    out = []
    for i in range(len(found) - 1):
        a, b = found[i], found[i + 1]
        if f"{a.group(0)} {strip_possessive(b.group(0))}" in names and text[a.end() : b.start()].isspace():
            end = b.start() + len(strip_possessive(b.group(0)))
            if out and out[-1][1] >= a.start():
                out[-1] = (out[-1][0], end)
            else:
                out.append((a.start(), end))
    return out


def place_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the places of `place_terms` (a capitalised word after a place preposition)."""
    found = list(TOKEN_RE.finditer(text))
    out = []
    for i, m in enumerate(found[:-1]):
        if m.group(0).lower() not in _PLACE_PREPOSITIONS:
            continue
        j = i + 1
        if found[j].group(0).lower() == "the" and j + 1 < len(found):
            j += 1
        cand = found[j].group(0)
        if is_capitalised(cand) and cand.lower().rstrip(".") not in TITLES:
            out.append((found[j].start(), found[j].start() + len(strip_possessive(cand))))
    return out


# --- speaker attribution (shared by the reader and the statement index) -----------------------

# A speech verb *before* the name makes the name the speaker only for these ("said Lammy"),
# not for "told Lammy" / "urged Lammy", where the name is the addressee.
SPEAKER_AFTER_VERB: frozenset[str] = frozenset(
    "said says added wrote noted stated argued warned explained claimed insisted tweeted".split()
)

# "He said …" / "The minister added …": a sentence whose speaker is someone named before it.
ANAPHOR_START = re.compile(
    r"^\W*(?:he|she|they|the\s+(?:\w+\s+)?(?:" + "|".join(sorted(t for t in TITLES if t.isalpha())) + r"))\b",
    re.IGNORECASE,
)

# A cheap lexical filter for reported speech: a speech verb or a quotation mark.
_QUOTE_MARKS = "\"“”«»"
_SPEECH_WORD = re.compile(
    r"\b(?:according to|" + "|".join(sorted(SPEECH_VERBS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def may_report_speech(text: str) -> bool:
    """True when `text` has a speech verb, "according to" or a quotation mark (the filter before
    attribution)."""
    return any(q in text for q in _QUOTE_MARKS) or _SPEECH_WORD.search(text) is not None


def speaker_at(toks: list[str], i: int, window: int = 6) -> bool:
    """True when token `i` (a name) is positioned as the speaker of the sentence `toks` (lower-cased):
    a speech verb shortly after it ("Lammy stated", "Lammy, the secretary, said"), "said Lammy",
    or "according to (Secretary) Lammy"."""
    if any(t in SPEECH_VERBS for t in toks[i + 1 : i + 1 + window]):
        return True
    if any(t in SPEAKER_AFTER_VERB for t in toks[max(0, i - 3) : i]):
        return True
    if i >= 2 and toks[i - 2 : i] == ["according", "to"]:
        return True
    return i >= 3 and toks[i - 3 : i - 1] == ["according", "to"]


def speaks(sentence_tokens: tuple[str, ...] | list[str], keys: tuple[str, ...]) -> bool:
    """True if a capitalised name with one of the lemmas `keys` is the speaker of the sentence."""
    toks = [t.lower() for t in sentence_tokens]
    return any(
        speaker_at(toks, i) for i, t in enumerate(sentence_tokens) if t[:1].isupper() and lemma(t) in keys
    )


def pronoun_speech(text: str, sentence_tokens: tuple[str, ...] | list[str], first: int = 8) -> bool:
    """True for "He said …" / "The minister added …": a pronoun or role opens the sentence and a
    speech verb comes within its first `first` words."""
    if not ANAPHOR_START.match(text):
        return False
    return any(t.lower() in SPEECH_VERBS for t in sentence_tokens[:first])


# Words of a role that may stand for one another ("the council's head" = "council leader").
_ROLE_EQUIVALENTS = {
    lemma(w): "~leader"
    for w in ("leader", "head", "chief", "boss", "chair", "chairman", "chairwoman", "chairperson", "president")
}
_ROLE_STOP = frozenset("the a an of 's his her their its".split())


def role_keys(phrase: str) -> frozenset[str]:
    """Lemmas of a role phrase, leader-like words folded into one ("the council's leader" → council, ~leader)."""
    out = set()
    for tok in tokens(phrase):
        key = lemma(tok)
        if key in _ROLE_STOP or not key:
            continue
        out.add(_ROLE_EQUIVALENTS.get(key, key))
    return frozenset(out)


_NAME = r"[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+){0,2}"
_ROLE_WORD = r"[A-Za-z][\w’'-]*"
# "Anita Verhoeven, the council leader," / "Eirik Halvorsen, Norway's transport minister, said"
_ROLE_AFTER = re.compile(
    rf"(?P<name>{_NAME}),\s+(?:the|a|an|[A-Z]\w+['’]s)\s+(?P<role>(?:{_ROLE_WORD}\s+){{0,4}}?{_ROLE_WORD})"
    r"(?=[,.;]|\s+(?:said|says|told|who|and)\b)"
)
_ROLE_TITLES = frozenset(lemma(t) for t in TITLES) | frozenset(_ROLE_EQUIVALENTS)


@lru_cache(maxsize=1 << 16)
def is_title(word: str) -> bool:
    """True for a title or role word ("Secretary", "minister", "chief")."""
    return word.lower() in TITLES or lemma(word) in _ROLE_TITLES


def strip_possessive_name(word: str) -> str:
    """A surname without a possessive."""
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def roles_in(text: str) -> list[tuple[frozenset[str], str]]:
    """(role lemmas, surname) pairs from titles and appositives in a text.

    A title before a name ("UK Foreign Secretary David Lammy", "council leader Anita Verhoeven")
    takes up to three words before it (up to a stopword); an appositive after a name ("Anita
    Verhoeven, the council leader,") takes the words up to the next comma or verb.
    """
    out: list[tuple[frozenset[str], str]] = []
    found = list(TOKEN_RE.finditer(text))
    words = [m.group(0) for m in found]
    for i, word in enumerate(words):
        if not is_title(word) or i + 1 >= len(words):
            continue
        j = i + 1
        name: list[str] = []
        while j < len(words) and len(name) < 3 and is_capitalised(words[j]) and not is_title(words[j]):
            if text[found[j - 1].end() : found[j].start()] not in (" ", "-"):
                break
            name.append(words[j])
            j += 1
            if words[j - 1] != strip_possessive_name(words[j - 1]):
                break
        if not name:
            continue
        role = [word]
        k = i - 1
        while k >= 0 and len(role) < 4 and words[k].lower() not in STOPWORDS:
            if not text[found[k].end() : found[k + 1].start()].isspace():
                break
            role.insert(0, words[k])
            k -= 1
        out.append((role_keys(" ".join(role)), strip_possessive_name(name[-1])))
    for m in _ROLE_AFTER.finditer(text):
        role = m.group("role")
        if not any(is_title(w) for w in role.split()):
            continue
        out.append((role_keys(role), strip_possessive_name(m.group("name").split()[-1])))
    return out
