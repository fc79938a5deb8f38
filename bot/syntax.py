"""The dependency-parse side of the reader: which slot of its verb a question asks about, and
which words of a candidate sentence fill that slot.

"Which company will seek approval?" asks for the subject of "seek"; in "Northwind Foods will seek
approval from the Harbor Authority", "Northwind Foods" fills that slot and "the Harbor Authority"
does not, although both are organisations. The parse comes from spaCy's parser (see
`bot.reader.SpacyTagger.parses`); without it there are no slots and the reader works as before.

A parse is a tuple of `Token`s, one per spaCy token, with character offsets into the sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.text import is_capitalised, lemma


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a parsed sentence: `text[start:end]`, its dependency label and head index."""

    start: int
    end: int
    dep: str
    head: int  # index of the head token in the same parse (its own index for the root)


Parse = tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """What a question asks for: the `relation` ("subj", "obj", a preposition such as "of", or
    "where": the object of a place preposition) of the word whose `word_key` is `anchor`."""

    relation: str
    anchor: str


# Past forms the light lemma does not fold: "said" must meet "say", "became" meet "become".
_IRREGULAR = {
    "said": "say", "says": "say", "told": "tell", "became": "become", "began": "begin", "begun": "begin",
    "chose": "choose", "chosen": "choose", "took": "take", "taken": "take", "gave": "give",
    "given": "give", "made": "make", "found": "find", "left": "leave", "paid": "pay", "sent": "send",
    "spent": "spend", "built": "build", "brought": "bring", "caught": "catch", "thought": "think",
    "fought": "fight", "sought": "seek", "struck": "strike", "ran": "run", "drove": "drive",
    "driven": "drive", "wrote": "write", "written": "write", "broke": "break", "broken": "break",
    "stole": "steal", "stolen": "steal", "hit": "hit", "shot": "shoot", "beat": "beat",
    "beaten": "beat", "lost": "lose", "met": "meet", "kept": "keep", "named": "name",
    "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "being": "be", "am": "be",
    "did": "do", "does": "do", "done": "do", "has": "have", "had": "have", "having": "have",
    "got": "get", "gotten": "get",
}

# Verbs that say nothing of their own: the slot of "Who is the CEO?" is not a slot of "be".
_LIGHT = frozenset({"be", "do", "have", "get"})
_WH_WORDS = frozenset({"who", "whom", "whose", "which", "what"})
_SUBJECTS = frozenset({"nsubj", "csubj"})
_MODIFIERS = frozenset({"nummod", "compound", "amod"})
_NOMINALS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr"})
_OBJECTS = frozenset({"dobj", "nsubjpass", "attr", "oprd"})
# The prepositions whose object answers "where" ("held in Lisbon", "launched from Australia").
# Not index.text's place prepositions, which also take destinations ("to", "into", "toward"): those
# find place names for the rules, these say where something is or happened.
_WHERE_PREPOSITIONS = frozenset({"in", "at", "near", "from", "on", "inside", "outside", "off", "across", "within"})
# Dependencies through which a verb shares its subject with its head: "X plans to merge",
# "X announced plans to merge", "X said it would merge", "X met and agreed".
_CLIMB = frozenset({"xcomp", "ccomp", "conj", "advcl", "dobj", "pcomp", "acl", "relcl"})


def word_key(word: str) -> str:
    """The light lemma of a word, with irregular past forms folded ("said" → "say")."""
    low = word.lower().replace("’", "'")
    return lemma(_IRREGULAR.get(low, low))


def _children(parse: Parse, i: int) -> list[int]:
    return [j for j, t in enumerate(parse) if t.head == i and j != i]


def _text(text: str, parse: Parse, i: int) -> str:
    return text[parse[i].start : parse[i].end]


def _wh_phrase(text: str, parse: Parse) -> tuple[int, int] | None:
    """(the wh-word, the head of its phrase) of a question: "which" and "company" of "Which
    company …", "who" twice for "Who …"; None without one."""
    wh = next((i for i, t in enumerate(parse) if _text(text, parse, i).lower() in _WH_WORDS), None)
    if wh is None:
        return None
    head = wh
    if parse[wh].dep in ("det", "poss", "amod", "nummod") and parse[wh].head != wh:
        head = parse[wh].head  # "which company": the phrase is "company"
    else:
        # "Which two ferry companies plan …", "Which wildly popular show …": the small parser
        # hangs "Which" elsewhere; the phrase is the noun after its modifiers.
        j = wh + 1
        while j < len(parse) and parse[j].dep in _MODIFIERS | {"advmod"}:
            j += 1
        if j < len(parse) and parse[j].dep in _NOMINALS:
            head = j
    return wh, head


def _how_many_phrase(text: str, parse: Parse) -> tuple[int, int] | None:
    """("many", the noun it counts) of "How many Russians could be conscripted …?", or None."""
    for i in range(1, len(parse)):
        if _text(text, parse, i).lower() in ("many", "much") and _text(text, parse, i - 1).lower() == "how":
            head = parse[i].head
            if head != i and parse[i].dep == "amod" and parse[head].dep in _NOMINALS:
                return i, head
            return None
    return None


def count_spans(parse: Parse, fillers: Sequence[int]) -> list[tuple[int, int]]:
    """Character spans of the numbers that count the filler tokens ("300,000" of "call up 300,000
    reservists"), for "how many" slots."""
    return [(parse[j].start, parse[j].end) for i in fillers for j in _children(parse, i)
            if parse[j].dep in ("nummod", "quantmod")]


def question_noun(text: str, parse: Parse) -> str | None:
    """The `word_key` of the noun a which/what question asks for ("singer" of "Which popular
    singer …"), or None ("Who …", no parse)."""
    found = _wh_phrase(text, parse)
    if found is None or found[0] == found[1]:
        return None
    return word_key(_text(text, parse, found[1]))


def definite_mentions(text: str, parse: Parse, noun: str) -> list[int]:
    """Tokens that refer back to something with a definite description of `noun`: "the singer",
    "the wildly popular South Korean show", "this company"."""
    out = []
    for i, _ in enumerate(parse):
        if word_key(_text(text, parse, i)) != noun:
            continue
        dets = [j for j in _children(parse, i) if parse[j].dep == "det"]
        if any(_text(text, parse, j).lower() in ("the", "this", "that") for j in dets) and not any(
            parse[j].dep in ("poss", "compound") and is_capitalised(_text(text, parse, j)) for j in _children(parse, i)
        ):
            out.append(i)
    return out


def main_subject(parse: Parse) -> int | None:
    """The subject of a sentence's root verb (active or passive), or None."""
    root = next((i for i, t in enumerate(parse) if t.head == i), None)
    if root is None:
        return None
    return next((j for j in _children(parse, root) if parse[j].dep in ("nsubj", "nsubjpass")), None)


def question_slot(text: str, parse: Parse) -> Slot | None:
    """The slot the wh-phrase of a question fills, or None (no wh-phrase, a light verb, no parse).

    "Which company will seek approval?" → ("subj", "seek"); "Which company is accused of …?" →
    ("obj", "accus"): a passive subject is the verb's object; "… the sale of which team?" →
    ("of", "sal")."""
    where = next((i for i, _ in enumerate(parse) if _text(text, parse, i).lower() == "where"), None)
    if where is not None and parse[where].dep == "advmod" and parse[where].head != where:
        head = parse[where].head
        anchor = word_key(_text(text, parse, head))
        if anchor in _LIGHT:  # "Where is the glacier located?": the small parser hangs "where" on "is",
            kids = _children(parse, head)
            verb = next((j for j in kids if parse[j].dep in ("acomp", "xcomp", "ccomp")), None)
            subject = next((j for j in kids if parse[j].dep in ("nsubj", "nsubjpass")), None)
            if verb is None and subject is not None:  # or on its subject: "the lighthouse located"
                verb = next((j for j in _children(parse, subject) if parse[j].dep == "acl"), None)
            if verb is None:
                return None
            anchor = word_key(_text(text, parse, verb))
        return None if anchor in _LIGHT else Slot("where", anchor)
    found = _wh_phrase(text, parse) or _how_many_phrase(text, parse)
    if found is None:
        return None
    head = found[1]
    dep = parse[head].dep
    governor = parse[head].head
    if governor == head:
        return None
    if dep in _SUBJECTS:
        relation = "subj"
    elif dep in _OBJECTS:
        relation = "obj"
    elif dep == "pobj":
        prep = governor
        governor = parse[prep].head
        if governor == prep:
            return None
        relation = "subj" if parse[prep].dep == "agent" else _text(text, parse, prep).lower()
    else:
        return None
    anchor = word_key(_text(text, parse, governor))
    if anchor in _LIGHT:
        return None
    return Slot(relation, anchor)


def slot_fillers(text: str, parse: Parse, slot: Slot, same: Callable[[str], bool]) -> list[int]:
    """Indices of the tokens of `parse` that fill `slot` of a word for which `same(word)` holds
    (the anchor itself, or a synonym), conjuncts included ("X and Y announced …")."""
    out: list[int] = []
    for a, _ in enumerate(parse):
        if not same(_text(text, parse, a)):
            continue
        node = a
        for _ in range(4):  # climb a few levels at most: "X said it would plan to merge" is far enough
            found = _direct_fillers(text, parse, node, slot)
            if found:
                out.extend(found)
                break
            if slot.relation != "subj" or parse[node].dep not in _CLIMB or parse[node].head == node:
                break
            if parse[node].dep in ("acl", "relcl"):
                out.append(parse[node].head)  # "the company that plans to merge"
                break
            node = parse[node].head
    seen: list[int] = []
    stack = list(out)
    while stack:
        i = stack.pop(0)
        if i in seen:
            continue
        seen.append(i)
        stack.extend(j for j in _children(parse, i) if parse[j].dep == "conj")
    return sorted(seen)


def _direct_fillers(text: str, parse: Parse, node: int, slot: Slot) -> list[int]:
    kids = _children(parse, node)
    found: list[int] = []
    if slot.relation == "subj":
        for k in kids:
            dep = parse[k].dep
            if dep in _SUBJECTS or dep == "poss":
                found.append(k)
            elif dep == "agent":
                found.extend(j for j in _children(parse, k) if parse[j].dep == "pobj")
            elif dep == "nsubjpass":  # "South Korea's ban was announced": Korea announced it
                found.extend(j for j in _children(parse, k) if parse[j].dep == "poss")
    elif slot.relation == "obj":
        for k in kids:
            dep = parse[k].dep
            if dep in _OBJECTS:
                found.append(k)
            elif dep == "prep" and _text(text, parse, k).lower() == "of":
                found.extend(j for j in _children(parse, k) if parse[j].dep == "pobj")
    elif slot.relation == "where":  # "located in West Antarctica", "launched from Australia"
        for k in kids:
            if parse[k].dep == "prep" and _text(text, parse, k).lower() in _WHERE_PREPOSITIONS:
                found.extend(j for j in _children(parse, k) if parse[j].dep == "pobj")
    else:
        for k in kids:
            dep = parse[k].dep
            if dep == "prep" and _text(text, parse, k).lower() == slot.relation:
                found.extend(j for j in _children(parse, k) if parse[j].dep == "pobj")
            elif dep == "poss" and slot.relation == "of":  # "the team's sale" = "the sale of the team"
                found.append(k)
    return found


def filler_span(text: str, parse: Parse, i: int) -> tuple[int, int]:
    """Character span of filler `i` with its capitalised compound words ("Northwind Foods"),
    without a possessive ending."""
    start, end = parse[i].start, parse[i].end
    included = {i}
    j = i - 1
    while j >= 0 and parse[j].head in included and parse[j].dep in ("compound", "amod", "nmod") \
            and is_capitalised(_text(text, parse, j)):
        start = parse[j].start
        included.add(j)
        j -= 1
    for suffix in ("'s", "’s", "'", "’"):
        if text[start:end].endswith(suffix) and end - len(suffix) > start:
            end -= len(suffix)
            break
    return start, end


def parse_doc(doc: Sequence) -> Parse:
    """The `Parse` of a spaCy `Doc` (offsets relative to the doc's text)."""
    return tuple(Token(t.idx, t.idx + len(t.text), t.dep_, t.head.i) for t in doc)
