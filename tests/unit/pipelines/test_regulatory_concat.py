"""CONCAT codes worked out by hand from ESMA's rules (and its guidelines' examples)."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.regulatory.concat import ConcatError, concat

CASES = [
    # ESMA's guideline examples
    ("IE", date(1980, 5, 13), "John", "O'Brian", "IE19800513JOHN#OBRIA"),
    ("HU", date(1981, 2, 14), "Ludwig", "Van der Rohe", "HU19810214LUDWIROHE#"),
    ("CA", date(1973, 1, 11), "Victor", "Vandenberg", "CA19730111VICTOVANDE"),
    ("NO", date(1976, 6, 16), "Eli", "Ødegård", "NO19760616ELI##ODEGA"),
    ("LU", date(1966, 9, 25), "Willeke", "de Bruijn", "LU19660925WILLEBRUIJ"),
    # titles go wherever they stand as words, with or without a full stop
    ("GB", date(1970, 1, 2), "Dr. John", "Smith", "GB19700102JOHN#SMITH"),
    ("GB", date(1970, 1, 2), "Sir Elton", "John", "GB19700102ELTONJOHN#"),
    ("GB", date(1970, 1, 2), "Mrs Mary", "Jones", "GB19700102MARY#JONES"),
    ("GB", date(1970, 1, 2), "Prof Ann", "Lee", "GB19700102ANN##LEE##"),
    ("GB", date(1970, 1, 2), "Ms", "Brown", "GB19700102MS###BROWN"),  # nothing else: kept
    # UK is written, GB is reported
    ("UK", date(1990, 12, 31), "Ann", "Smith", "GB19901231ANN##SMITH"),
    ("gb", date(1990, 12, 31), "Ann", "Smith", "GB19901231ANN##SMITH"),
    # only the first first name; a hyphenated first name is one name
    ("FR", date(1985, 3, 4), "Jean Pierre Marie", "Dupont", "FR19850304JEAN#DUPON"),
    ("FR", date(1985, 3, 4), "Jean-Pierre", "Dupont", "FR19850304JEANPDUPON"),
    # hyphens and apostrophes go; a prefix glued on by an apostrophe stays
    ("GB", date(1975, 7, 8), "Anna", "Smith-Jones", "GB19750708ANNA#SMITH"),
    ("IE", date(1975, 7, 8), "Sean", "O'Brien", "IE19750708SEAN#OBRIE"),
    ("IE", date(1975, 7, 8), "Sean", "O Brien", "IE19750708SEAN#BRIEN"),
    ("IT", date(1975, 7, 8), "Lucia", "D'Angelo", "IT19750708LUCIADANGE"),
    # prefixes as separate words, longest first, anywhere in the surname
    ("NL", date(1962, 10, 1), "Pieter", "van der Berg", "NL19621001PIETEBERG#"),
    ("NL", date(1962, 10, 1), "Pieter", "van den Broek", "NL19621001PIETEBROEK"),
    ("NL", date(1962, 10, 1), "Pieter", "Van Dijk", "NL19621001PIETEDIJK#"),
    ("ES", date(1988, 2, 29), "María", "de la Cruz", "ES19880229MARIACRUZ#"),
    ("ES", date(1988, 2, 29), "José", "Hernández de la Cruz", "ES19880229JOSE#HERNA"),
    ("DE", date(1950, 6, 1), "Otto", "von der Leyen", "DE19500601OTTO#LEYEN"),
    ("DE", date(1950, 6, 1), "Otto", "auf dem Berge", "DE19500601OTTO#BERGE"),
    ("FR", date(1950, 6, 1), "Claire", "de l'Isle", "FR19500601CLAIRISLE#"),
    ("FR", date(1950, 6, 1), "Claire", "Le Pen", "FR19500601CLAIRPEN##"),
    ("GB", date(1950, 6, 1), "Ewan", "Mac Gregor", "GB19500601EWAN#GREGO"),
    ("GB", date(1950, 6, 1), "Ewan", "MacGregor", "GB19500601EWAN#MACGR"),
    ("IE", date(1950, 6, 1), "Aoife", "Ní Bhriain", "IE19500601AOIFEBHRIA"),
    ("IT", date(1950, 6, 1), "Mario", "Di", "IT19500601MARIODI###"),  # a prefix alone stays
    # transliteration: accents dropped, ß -> SS, Æ -> AE, Ø -> O
    ("DE", date(1999, 1, 1), "Jürgen", "Weiß", "DE19990101JURGEWEISS"),
    ("DE", date(1999, 1, 1), "Günther", "Straßer", "DE19990101GUNTHSTRAS"),
    ("DK", date(1999, 1, 1), "Æbbe", "Søndergaard", "DK19990101AEBBESONDE"),
    ("CZ", date(1985, 4, 12), "Anna", "Nováková", "CZ19850412ANNA#NOVAK"),
    ("PL", date(1985, 4, 12), "Łukasz", "Żółć", "PL19850412LUKASZOLC#"),
    # short names padded
    ("CN", date(2000, 11, 5), "Li", "Wu", "CN20001105LI###WU###"),
]


@pytest.mark.parametrize(("nationality", "born", "first", "last", "expected"), CASES)
def test_concat(nationality: str, born: date, first: str, last: str, expected: str) -> None:
    assert concat(nationality, born, first, last) == expected


def test_a_code_is_twenty_characters() -> None:
    assert all(len(expected) == 20 for *_, expected in CASES)


@pytest.mark.parametrize(
    ("nationality", "born", "message"),
    [
        (None, date(1980, 1, 1), "nationality"),
        ("", date(1980, 1, 1), "nationality"),
        ("CZE", date(1980, 1, 1), "alpha-2"),
        ("CZ", None, "date of birth"),
    ],
)
def test_missing_data_is_a_clear_error(
    nationality: str | None, born: date | None, message: str
) -> None:
    with pytest.raises(ConcatError, match=message):
        concat(nationality, born, "Anna", "Novak")
