"""Matching clients to listed persons: variants of listed names match, ordinary names do not,
birth date and country weigh in."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.aml.lists import ListEntry, parse_eu, parse_ofac
from backoffice.aml.matching import Listed as ListedPerson
from backoffice.aml.matching import ScreeningIndex, Subject, Thresholds, normalise
from tests.unit.backoffice.support_aml import (
    ALT_ROWS,
    EU_ROWS,
    SDN_ROWS,
    alt_csv,
    eu_csv,
    listed_people,
    ordinary_people,
    sdn_csv,
)


def _index(entries: list[ListEntry]) -> ScreeningIndex:
    return ScreeningIndex(
        ListedPerson(
            int(e.external_id),
            (e.primary_name, *(a.name for a in e.alternative_names)),
            tuple(e.birth_dates),
            frozenset(e.countries),
        )
        for e in entries
        if e.entry_type == "individual"
    )


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return _index(parse_ofac(sdn_csv(), alt_csv()) + parse_eu(eu_csv(EU_ROWS)))


@pytest.mark.parametrize(
    ("client", "listed"),
    [
        ("Иван Сергеевич Петров", 1001),  # Cyrillic
        ("Juan Carlos García López", 1003),  # accents
        ("Виктор Николаевич Соколов", 14),  # the EU file's own Cyrillic alias
        ("عمر فاروق التكريتي", 13),  # Arabic script, the EU file's Arabic alias
        ("Sergeyevich Ivan Petrov", 1001),  # reordered
        ("Lopez Garcia Juan Carlos", 1003),
        ("Chol-Su Kim", 1004),
        ("Ivan Sergeevich Petrof", 1001),  # misspelt
        ("Juan Carlos Garsia Lopez", 1003),
        ("Khaled Mahmood Al Rashidi", 1002),  # misspelt, particle apart
        ("Mr Khalid Alrashidi", 1002),  # title, particle joined, middle name missing
        ("Chukwuemeka Okafor", 1008),
        ("Omar Faruk Tikriti", 13),
    ],
)
def test_variants_of_a_listed_name_are_hits(
    index: ScreeningIndex, client: str, listed: int
) -> None:
    matches = index.screen(Subject(client))
    assert matches, client
    assert (matches[0].key, matches[0].strength) == (listed, "hit"), matches


def test_an_alias_from_alt_csv_is_screened(index: ScreeningIndex) -> None:
    (match,) = index.screen(Subject("Vanya Petrov"))
    assert (match.key, match.matched_name, match.strength) == (1001, "PETROV, Vanya", "hit")


def test_a_birth_date_that_differs_lowers_the_score_and_one_that_agrees_raises_it(
    index: ScreeningIndex,
) -> None:
    t = Thresholds()
    name = "Ivan Sergeyevich Petrov"
    (unknown,) = index.screen(Subject(name))
    (exact,) = index.screen(Subject(name, date(1960, 3, 12)))
    (other_day,) = index.screen(Subject(name, date(1960, 7, 1)))
    (mismatch,) = index.screen(Subject(name, date(1985, 3, 12)))
    assert unknown.score == 100.0
    assert unknown.birth_date == "unknown"
    assert exact.birth_date == "exact"
    assert exact.score == 100.0
    assert other_day.birth_date == "year"
    assert mismatch.birth_date == "mismatch"
    assert mismatch.score == unknown.score + t.date_mismatch
    assert mismatch.strength == "possible"  # still for a person to look at, no longer a block
    (year_only,) = index.screen(Subject("Khalid Mahmoud Al-Rashidi", date(1971, 5, 5)))
    (wrong_year,) = index.screen(Subject("Khalid Mahmoud Al-Rashidi", date(1990, 5, 5)))
    assert year_only.birth_date == "year"
    assert wrong_year.birth_date == "mismatch"
    assert wrong_year.score < year_only.score


def test_a_listed_country_the_client_holds_raises_the_score(index: ScreeningIndex) -> None:
    (home,) = index.screen(Subject("Ivan Petrof", countries=frozenset({"RU"})))
    (away,) = index.screen(Subject("Ivan Petrof", countries=frozenset({"FR"})))
    assert (home.country, away.country) == ("match", "mismatch")
    assert home.score > away.score


def test_names_normalise_to_the_same_words() -> None:
    assert normalise("AL-RASHIDI, Dr. Khalid").words == ("alrashidi", "khalid")
    assert normalise("Al Rashidi Khalid").words == normalise("Alrashidi, KHALID").words
    assert normalise("Mohamed O'Brien").words == ("muhammad", "obrien")
    assert normalise("Müller").words == ("muller",)


def test_different_people_do_not_match(index: ScreeningIndex) -> None:
    assert index.screen(Subject("Ivan Kuznetsov")) == []
    assert index.screen(Subject("Kim")) == []  # one word names nobody
    assert index.screen(Subject("Juan Perez")) == []


def test_a_thousand_ordinary_names_give_few_false_positives() -> None:
    entries = parse_ofac(sdn_csv([*SDN_ROWS, *listed_people(400)]), alt_csv(ALT_ROWS))
    index = _index(entries)
    people = ordinary_people(1000)
    hits = reviews = 0
    for name, born, country in people:
        matches = index.screen(Subject(name, date.fromisoformat(born), frozenset({country})))
        hits += any(m.strength == "hit" for m in matches)
        reviews += bool(matches)
    hit_rate, review_rate = hits / len(people), reviews / len(people)
    print(
        f"\nfalse positives over {len(people)} ordinary names against {len(index)} listed "
        f"persons: hits {hits} ({hit_rate:.1%}), hits or possible matches {reviews} "
        f"({review_rate:.1%})"
    )
    assert len({p[0] for p in people}) == len(people)
    assert hit_rate <= 0.01
    assert review_rate <= 0.02
