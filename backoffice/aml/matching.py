"""Matching a client against listed persons: normalised names, a fuzzy name score, birth
date and country as evidence for or against, and an index that keeps one screening fast
against tens of thousands of listed names.

Names are compared as words after transliteration (anyascii: Cyrillic, Greek, Arabic script,
accents all to ASCII), case folding, punctuation, honorifics and joined particles ("al-",
"el "). The name score is the better of two rapidfuzz measures:

- ``token_sort_ratio``: the words sorted, then one edit-distance ratio over the whole string —
  word order does not count, and a name written joined or split ("Abdulrahman" / "Abdul
  Rahman") still scores;
- an alignment of words: each word of the shorter name paired with its closest word in the
  longer (``fuzz.ratio`` of the pair), averaged by length, less points for the words the
  longer name has over (5 for one, 15 for two...) — a missing middle name or patronymic costs
  little, a misspelt word costs its edit distance.

Not ``token_set_ratio`` or ``WRatio``: both give 100 as soon as one name's words are a subset
of the other's, so "Kim" or "Ali Hassan" would match every longer name containing them, and
WRatio's partial ratios reward a name inside a longer word. Birth date and country then move
the score: an exact date adds, a different birth year takes away a lot (namesakes are common,
birthdays are not); a listed country the client holds adds a little, one they do not takes
a little. ``hit`` at or above :attr:`Thresholds.hit` blocks, ``possible`` needs a review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from anyascii import anyascii
from rapidfuzz import fuzz, process

Strength = Literal["hit", "possible"]
DateEvidence = Literal["exact", "year", "mismatch", "unknown"]
CountryEvidence = Literal["match", "mismatch", "unknown"]

_TITLES = (
    "mr mrs ms miss mx dr prof sir dame lord lady sheikh shaikh sheik haji hajji hadji alhaj "
    "sayyid sayed mullah imam maulana general gen colonel col major maj captain capt "
    "lieutenant lt brigadier admiral jr sr ii iii iv rev hon excellency"
)
HONORIFICS = frozenset(_TITLES.split())
# Article prefixes of Arabic names, written joined, hyphenated or apart: "al-Rashidi",
# "Al Rashidi", "Alrashidi" must be one word.
_ARTICLES = "al el ul ad ar as ash at az ed er es"
_PARTICLES = frozenset(_ARTICLES.split())
# The commonest transliteration variants whose edit distance is too wide for a fuzzy word
# match ("Mohamed" / "Muhammad" score 67); each listed spelling becomes the first.
_VARIANTS = {
    v: group.split()[0]
    for group in (
        "muhammad mohammed mohammad mohamed mohamad muhammed muhamad mohd mehmet",
        "abd abdul abdel abdol abdal",
        "yusuf yousef youssef yusef yousif yossef",
        "husayn hussein husain hussain hossein",
    )
    for v in group.split()
}
_EXTRA_WORD_PENALTY = 5.0
_WORD_NEAR = 75.0  # a word this close to a listed word makes the name a candidate


@dataclass(frozen=True, slots=True)
class Thresholds:
    hit: float = 88.0
    possible: float = 78.0
    exact_date: float = 5.0
    same_year: float = 2.0
    date_mismatch: float = -20.0
    country_match: float = 3.0
    country_mismatch: float = -3.0


DEFAULT = Thresholds()


@dataclass(frozen=True, slots=True)
class Name:
    raw: str
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def normalise(name: str) -> Name:
    """A name as comparable words (transliterated, folded, without titles and punctuation)."""
    plain = anyascii(name).casefold().replace("'", "").replace("`", "")
    words = [w for w in re.split(r"[^a-z]+", plain) if w and w not in HONORIFICS]
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _PARTICLES:
            joined[-1] += word
        else:
            joined.append(word)
    return Name(name, tuple(_VARIANTS.get(w, w) for w in joined))


def aligned_ratio(a: Sequence[str], b: Sequence[str]) -> float:
    """Each word of the shorter name paired with its closest unused word of the longer one."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 2:
        return 0.0  # one word is too little to call a person by
    scores = process.cdist(short, long, scorer=fuzz.ratio)
    pairs = sorted(
        ((scores[i][j], i, j) for i in range(len(short)) for j in range(len(long))), reverse=True
    )
    used_short: set[int] = set()
    used_long: set[int] = set()
    weighted = 0.0
    for score, i, j in pairs:
        if i not in used_short and j not in used_long:
            used_short.add(i)
            used_long.add(j)
            weighted += float(score) * (len(short[i]) + len(long[j]))
    total = sum(len(w) for w in short) + sum(len(long[j]) for j in used_long)
    extra = len(long) - len(short)  # each further missing word costs more than the last
    return max(weighted / total - _EXTRA_WORD_PENALTY * extra * (extra + 1) / 2, 0.0)


def name_score(a: Name, b: Name) -> float:
    """How alike two normalised names are, 0-100, whatever their word order."""
    if not a.words or not b.words:
        return 0.0
    return max(fuzz.token_sort_ratio(a.text, b.text), aligned_ratio(a.words, b.words))


def birth_date_evidence(client: date | None, listed: Iterable[str]) -> DateEvidence:
    """Exact when a listed date is the client's, year when a listed year (or date) falls in
    the client's birth year, mismatch when none does."""
    dates = list(listed)
    if client is None or not dates:
        return "unknown"
    if client.isoformat() in dates:
        return "exact"
    if any(d[:4] == str(client.year) for d in dates):
        return "year"
    return "mismatch"


def country_evidence(client: frozenset[str], listed: frozenset[str]) -> CountryEvidence:
    if not client or not listed:
        return "unknown"
    return "match" if client & listed else "mismatch"


@dataclass(frozen=True, slots=True)
class Listed:
    """A listed person as screening sees one: every name and the identifying facts."""

    key: int  # the entry's id
    names: tuple[str, ...]
    birth_dates: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Subject:
    """The client screened."""

    name: str
    birth_date: date | None = None
    countries: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Match:
    key: int
    matched_name: str
    name_score: float
    score: float
    strength: Strength
    birth_date: DateEvidence
    country: CountryEvidence


Scored = tuple[float, DateEvidence, CountryEvidence]


def score(subject: Subject, listed: Listed, name: float, t: Thresholds) -> Scored:
    """The name score moved by birth date and country, kept within 0-100."""
    dob = birth_date_evidence(subject.birth_date, listed.birth_dates)
    country = country_evidence(subject.countries, listed.countries)
    moved = (
        name
        + {"exact": t.exact_date, "year": t.same_year, "mismatch": t.date_mismatch, "unknown": 0.0}[
            dob
        ]
    )
    moved += {"match": t.country_match, "mismatch": t.country_mismatch, "unknown": 0.0}[country]
    return min(max(moved, 0.0), 100.0), dob, country


class ScreeningIndex:
    """Every listed name, normalised once, with its words indexed: a screening scores only the
    names sharing a word (or a near spelling of one) with the client's, instead of all."""

    def __init__(self, listed: Iterable[Listed]) -> None:
        self.listed: list[Listed] = []
        self.names: list[Name] = []
        self._owner: list[int] = []  # name -> position in self.listed
        postings: dict[str, list[int]] = {}
        for person in listed:
            self.listed.append(person)
            for raw in person.names:
                name = normalise(raw)
                if not name.words:
                    continue
                for word in set(name.words):
                    postings.setdefault(word, []).append(len(self.names))
                self.names.append(name)
                self._owner.append(len(self.listed) - 1)
        self._vocabulary = list(postings)
        self._postings = [postings[w] for w in self._vocabulary]

    def __len__(self) -> int:
        return len(self.listed)

    def candidates(self, name: Name) -> list[int]:
        """Names with at least one word near one of ``name``'s."""
        found: set[int] = set()
        for word in set(name.words):
            near = process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_WORD_NEAR, limit=None
            )
            for _, _, i in near:
                found.update(self._postings[i])
        return sorted(found)

    def screen(self, subject: Subject, t: Thresholds = DEFAULT) -> list[Match]:
        """The listed persons the subject may be, best first (at most one match each)."""
        query = normalise(subject.name)
        best: dict[int, Match] = {}
        for i in self.candidates(query):
            similarity = name_score(query, self.names[i])
            if similarity + t.exact_date + t.country_match < t.possible:
                continue
            listed = self.listed[self._owner[i]]
            final, dob, country = score(subject, listed, similarity, t)
            if final < t.possible:
                continue
            strength: Strength = "hit" if final >= t.hit else "possible"
            match = Match(
                listed.key,
                self.names[i].raw,
                round(similarity, 2),
                round(final, 2),
                strength,
                dob,
                country,
            )
            if listed.key not in best or best[listed.key].score < match.score:
                best[listed.key] = match
        return sorted(best.values(), key=lambda m: (-m.score, m.key))
