"""Checks an LLM reply against the passages it was given, sentence by sentence.

Pure text processing (no LangChain): parse `[n]` markers, drop markers that point at no
passage, drop sentences without a citation and sentences whose quotation is not in the
cited passage, then renumber the surviving citations 1..m in order of first appearance.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index.text import sentence_spans

NOT_IN_COVERAGE = "NOT_IN_COVERAGE"

# `[1]`, `[1, 2]`, `[1; 3]`, `[2-4]`, `[Passage 2]`; adjacent groups (`[1][2]`) are separate matches.
_MARKER_ITEM = r"\d{1,3}(?:\s*[-–]\s*\d{1,3})?"
_MARKER = re.compile(
    r"\[\s*(?:(?:passage|source)s?\s*)?("
    + _MARKER_ITEM
    + r"(?:\s*[,;]\s*" + _MARKER_ITEM + r")*)\s*\]",
    re.IGNORECASE,
)
_MARKER_WITH_SPACE = re.compile(r"[ \t]*" + _MARKER.pattern, re.IGNORECASE)
_MAX_RANGE = 20

_QUOTATION = re.compile(r"“([^“”]{1,600})”|\"([^\"]{1,600})\"|«([^«»]{1,600})»")
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:\.\s*){3}\]|\.{3}|…)\s*")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:\*\*)?answer(?:\*\*)?\s*:\s*(?:\*\*)?", re.IGNORECASE)
_WORDLIKE = re.compile(r"\w")
_CHAR_MAP = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
        "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
        "…": "...", "\u00a0": " ",
        "[": "(", "]": ")",
    }
)
_SNIPPET = 160


@dataclass(frozen=True, slots=True)
class SourceText:
    """What a quotation may be checked against: one passage as the model saw it."""

    text: str
    title: str = ""


@dataclass(slots=True)
class Verified:
    """The verified reply: final text, which sources it cites, and what was removed."""

    text: str
    cited: list[int] = field(default_factory=list)  # 1-based source numbers; cited[i] is marker [i+1]
    quotes: dict[int, str] = field(default_factory=dict)  # source number -> passage sentence(s) quoted
    warnings: list[str] = field(default_factory=list)
    not_in_coverage: bool = False

    @property
    def empty(self) -> bool:
        """True when nothing verified remains (the answerer abstains)."""
        return not self.text.strip()


def parse_markers(group: str) -> list[int]:
    """The numbers inside one marker's brackets: `1, 2` -> [1, 2]; `2-4` -> [2, 3, 4]."""
    numbers: list[int] = []
    for item in re.split(r"[,;]", group):
        item = item.strip()
        if not item:
            continue
        bounds = re.split(r"\s*[-–]\s*", item)
        if len(bounds) == 2:
            lo, hi = int(bounds[0]), int(bounds[1])
            if lo <= hi and hi - lo <= _MAX_RANGE:
                numbers.extend(range(lo, hi + 1))
            else:
                numbers.extend([lo, hi])
        else:
            numbers.append(int(item))
    return numbers


def markers_in(text: str) -> list[int]:
    """All marker numbers in `text`, in order of appearance (repeats kept)."""
    return [n for m in _MARKER.finditer(text) for n in parse_markers(m.group(1))]


def strip_markers(text: str) -> str:
    """`text` without anything that reads as a citation marker (`[3]`, `[2, 4]`, `[Passage 1]`) and the
    spaces before it: footnote numbers of quoted article text must not pass for newsbot's markers."""
    return _MARKER_WITH_SPACE.sub("", text)


def neutralise_markers(text: str) -> str:
    """Marker look-alikes in untrusted text in round brackets instead: `[2]` -> `(2)`."""
    return _MARKER.sub(lambda m: "(" + m.group(0)[1:-1] + ")", text)


def normalise(text: str) -> str:
    """Case-, quote-, dash- and whitespace-insensitive form used to compare quotations."""
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).casefold()
    return re.sub(r"\s+", " ", text).strip()


def clean_reply(reply: str) -> str:
    """Remove reasoning blocks (`<think>...</think>`) and an `Answer:` label from a raw reply."""
    reply = _THINK.sub("", reply)
    if "</think>" in reply.lower():  # an opening tag the template swallowed
        reply = reply[reply.lower().rindex("</think>") + len("</think>") :]
    return _ANSWER_PREFIX.sub("", reply.strip(), count=1).strip()


def is_not_in_coverage(reply: str) -> bool:
    """True when the whole reply is the abstention sentinel (ignoring markup and punctuation)."""
    return re.sub(r"[^A-Z_]", "", clean_reply(reply).upper()) == NOT_IN_COVERAGE


def reply_sentences(line: str) -> list[str]:
    """Sentences of one line of the model's reply; citation markers after the full stop stay with
    their sentence (`index.text.sentence_spans` with its repairs for generated text)."""
    return _attach_bare_markers([line[s:e] for s, e, _ in sentence_spans(line, markers=_MARKER)])


def verify_reply(reply: str, sources: list[SourceText]) -> Verified:
    """Keep only sentences that cite a given source (and whose quotations are in it); renumber.

    Source numbers are 1-based positions in `sources`, as shown to the model.
    """
    if is_not_in_coverage(reply):
        return Verified(text="", not_in_coverage=True)
    warnings: list[str] = []
    reply = _join_marker_lines(clean_reply(reply))
    if NOT_IN_COVERAGE in reply:
        warnings.append("model said part of the question is not in the coverage")
        reply = reply.replace(NOT_IN_COVERAGE, "")
    # A quotation may leave out the passage's footnote numbers ("sank in 1912[3] off" quoted as
    # "sank in 1912 off"), so each passage is searched with and without them.
    normalised = [
        (normalise(s.text), normalise(s.title), normalise(strip_markers(s.text)), normalise(strip_markers(s.title)))
        for s in sources
    ]

    kept_lines: list[list[tuple[str, list[int]]]] = []
    quoted: dict[int, list[str]] = {}
    for line in reply.splitlines():
        kept: list[tuple[str, list[int]]] = []
        for sentence in reply_sentences(line):
            numbers = markers_in(sentence)
            if not _WORDLIKE.search(_MARKER.sub("", sentence)):
                continue  # markers or punctuation only
            invalid = [n for n in dict.fromkeys(numbers) if not 1 <= n <= len(sources)]
            for n in invalid:
                warnings.append(f"dropped citation [{n}]: no such passage (sentence: {_snip(sentence)})")
            valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= len(sources)))
            if not valid:
                warnings.append(f"uncited sentence dropped: {_snip(_MARKER_WITH_SPACE.sub('', sentence))}")
                continue
            missing = _unsupported_quotes(_MARKER.sub("", sentence), valid, normalised)
            if missing:
                warnings.append(
                    f"quote not found in the cited passage, sentence dropped: {_snip(missing[0])}"
                )
                continue
            for n, passage_sentence in _quoted_sentences(_MARKER.sub("", sentence), valid, sources):
                quoted.setdefault(n, [])
                if passage_sentence not in quoted[n]:
                    quoted[n].append(passage_sentence)
            kept.append((sentence, valid))
        kept_lines.append(kept)

    order: dict[int, int] = {}
    for kept in kept_lines:
        for _, valid in kept:
            for n in valid:
                order.setdefault(n, len(order) + 1)
    text = _render(kept_lines, order, len(sources))
    quotes = {n: " ".join(quoted[n]) for n in order if n in quoted}
    return Verified(text=text, cited=list(order), quotes=quotes, warnings=warnings)


def _render(kept_lines: list[list[tuple[str, list[int]]]], order: dict[int, int], n_sources: int) -> str:
    def renumber(match: re.Match[str]) -> str:
        numbers = [n for n in parse_markers(match.group(1)) if 1 <= n <= n_sources]
        if not numbers:
            return ""
        lead = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip(" \t"))]
        return lead + "".join(f"[{order[n]}]" for n in dict.fromkeys(numbers))

    lines = []
    for kept in kept_lines:
        rendered = " ".join(_MARKER_WITH_SPACE.sub(renumber, sentence) for sentence, _ in kept)
        lines.append(rendered.rstrip())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _quotations(sentence: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _QUOTATION.finditer(sentence)]


def _fragments(quotation: str) -> list[str]:
    """The checkable pieces of a quotation: split at ellipses, outer punctuation stripped."""
    pieces = (normalise(p).strip(" .,;:!?'\"") for p in _ELLIPSIS.split(quotation))
    return [p for p in pieces if p]


def _unsupported_quotes(sentence: str, cited: list[int], normalised: list[tuple[str, ...]]) -> list[str]:
    missing = []
    for quotation in _quotations(sentence):
        haystacks = [normalised[n - 1] for n in cited]
        for fragment in _fragments(quotation):
            if not any(fragment in form for forms in haystacks for form in forms):
                missing.append(quotation)
                break
    return missing


def _quoted_sentences(sentence: str, cited: list[int], sources: list[SourceText]) -> list[tuple[int, str]]:
    """(source number, passage sentence) for each verified quotation fragment found in a passage."""
    found = []
    for quotation in _quotations(sentence):
        for fragment in _fragments(quotation):
            for n in cited:
                text = sources[n - 1].text
                spans = sentence_spans(text, headings=True)
                hit = next(
                    (text[s:e] for s, e, _ in spans
                     if fragment in normalise(text[s:e]) or fragment in normalise(strip_markers(text[s:e]))),
                    None,
                )
                if hit is not None:
                    found.append((n, hit))
                    break
    return found


def _attach_bare_markers(sentences: list[str]) -> list[str]:
    """A fragment holding only markers (`Foo. [1]`) belongs to the sentence before it."""
    merged: list[str] = []
    for sentence in sentences:
        if merged and not _WORDLIKE.search(_MARKER.sub("", sentence)) and _MARKER.search(sentence):
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    return merged


def _join_marker_lines(reply: str) -> str:
    """A line holding only markers cites the line before it."""
    pattern = r"\n[ \t]*((?:" + _MARKER.pattern + r"[ \t]*)+)(?=\n|$)"
    return re.sub(pattern, r" \1", reply, flags=re.IGNORECASE)


def _snip(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
