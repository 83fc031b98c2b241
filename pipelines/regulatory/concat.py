"""MiFIR's CONCAT code for a natural person without a national identifier (RTS 22, ESMA's
transaction reporting guidelines): nationality + birth date + five letters of the first first
name + five of the surname.

Titles and the surname prefixes ESMA lists only go when they stand as separate words:
"O'Brien" keeps its O ("OBRIE"), "O Brien" loses it ("BRIEN").
"""

from __future__ import annotations

import re
from datetime import date

from anyascii import anyascii

# ESMA's list of titles (compared without a trailing full stop).
TITLES = frozenset(
    (
        "atty", "coach", "dame", "dr", "fr", "gov", "honorable", "madam", "madame", "maid",
        "master", "miss", "monsieur", "mr", "mrs", "ms", "mx", "ofc", "ph.d", "phd", "pres",
        "prof", "rev", "sir",
    )
)  # fmt: skip
# ESMA's list of surname prefixes, longest first so "van der" wins over "van".
PREFIXES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(p.split())
            for p in (
                "am", "auf", "auf dem", "aus der", "d", "da", "de", "de l'", "del", "de la",
                "de le", "di", "do", "dos", "du", "im", "la", "le", "mac", "mc", "mhac", "mhic",
                "mhic giolla", "mic", "ni", "nic", "o", "ua", "ui", "van", "van de", "van den",
                "van der", "vom", "von", "von dem", "von den", "von der",
            )
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
# Nationalities written the way people write them rather than ISO 3166.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
_APOSTROPHES = "'’`´"  # people type the typographic ones too


class ConcatError(ValueError):
    """A client's data cannot make a CONCAT code (what is missing is in the message)."""


def concat(nationality: str | None, birth_date: date | None, first_name: str, surname: str) -> str:
    """The 20-character CONCAT code, e.g. ``IE19800513JOHN#OBRIA``."""
    if not nationality or not nationality.strip():
        raise ConcatError("CONCAT needs the client's nationality (ISO 3166 alpha-2)")
    if birth_date is None:
        raise ConcatError("CONCAT needs the client's date of birth")
    country = nationality.strip().upper()
    country = _COUNTRY_ALIASES.get(country, country)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ConcatError(f"nationality {nationality!r} is not an ISO 3166 alpha-2 code")
    first = _words(first_name, prefixes=False)
    if not first:
        raise ConcatError("CONCAT needs the client's first name")
    last = _words(surname, prefixes=True)
    if not last:
        raise ConcatError("CONCAT needs the client's surname")
    return f"{country}{birth_date:%Y%m%d}{_part(first[:1])}{_part(last)}"


def _part(words: list[str]) -> str:
    letters = re.sub(r"[^A-Z]", "", anyascii("".join(words)).upper())
    return letters[:5].ljust(5, "#")


def _fold(word: str) -> str:
    """A word as compared with the lists: ASCII, lower case, no trailing full stop."""
    return anyascii(word).lower().rstrip(".")


def _words(name: str, *, prefixes: bool) -> list[str]:
    words = _tokens(name)
    kept = [w for w in words if _fold(w) not in TITLES]
    if prefixes:
        kept = _without_prefixes(kept)
    return kept or words


def _tokens(name: str) -> list[str]:
    """Whitespace-separated words; "de l'Isle" also yields the word "l'" so the prefix
    "de l'" can match, as ESMA's list spells it."""
    words: list[str] = []
    for raw in name.split():
        match = re.fullmatch(rf"(l[{_APOSTROPHES}])(.+)", raw, flags=re.IGNORECASE)
        if match and words and _fold(words[-1]) == "de":
            words.extend([match[1][0] + "'", match[2]])
        else:
            words.append(raw)
    return words


def _without_prefixes(words: list[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    folded = [_fold(w) for w in words]
    while i < len(words):
        for prefix in PREFIXES:
            if tuple(folded[i : i + len(prefix)]) == prefix and i + len(prefix) < len(words):
                i += len(prefix)
                break
        else:
            kept.append(words[i])
            i += 1
    return kept
