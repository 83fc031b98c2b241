"""Reading list files: OFAC's sdn.csv and alt.csv, the EU consolidated CSV, and files that
are not what they claim (rejected whole, naming the line)."""

from __future__ import annotations

import pytest

from backoffice.aml.errors import MalformedListError
from backoffice.aml.lists import parse_eu, parse_ofac
from tests.unit.backoffice.support_aml import EU_ROWS, SDN_ROWS, alt_csv, eu_csv, sdn_csv


def test_ofac_entries_carry_names_aliases_dates_countries_and_programmes() -> None:
    entries = {e.external_id: e for e in parse_ofac(sdn_csv(), alt_csv())}
    assert len(entries) == len(SDN_ROWS)
    petrov = entries["1001"]
    assert (petrov.entry_type, petrov.primary_name) == ("individual", "PETROV, Ivan Sergeyevich")
    assert [(a.type, a.name) for a in petrov.alternative_names] == [("aka", "PETROV, Vanya")]
    assert petrov.birth_dates == ["1960-03-12"]
    assert petrov.countries == ["RU"]
    rashidi = entries["1002"]
    assert rashidi.programs == ["SDGT", "IRAQ2"]
    assert rashidi.birth_dates == ["1971"]
    assert [a.type for a in rashidi.alternative_names] == ["aka", "fka"]
    assert entries["1003"].countries == ["CO"]  # "citizen Colombia"
    assert entries["1004"].birth_dates == ["1968", "1969", "1970"]  # "DOB 1968 to 1970"
    assert entries["1004"].countries == ["KP"]  # "Korea, North"
    assert entries["1006"].entry_type == "entity"  # SDN_Type -0-
    assert entries["1006"].remarks == ""
    assert entries["1007"].entry_type == "vessel"


@pytest.mark.parametrize(
    ("sdn", "alt", "where", "why"),
    [
        (sdn_csv()[:-1] + b'1009,"SHORT, Row",individual\r\n', None, ("sdn.csv", 9), "columns"),
        (
            sdn_csv([*SDN_ROWS[:2], ("x12", "BAD, Number", "individual", "SDGT", "-0-")]),
            None,
            ("sdn.csv", 3),
            "ent_num",
        ),
        (
            sdn_csv([*SDN_ROWS[:1], ("1010", "ODD", "spaceship", "SDGT", "-0-")]),
            None,
            ("sdn.csv", 2),
            "SDN_Type",
        ),
        (sdn_csv([*SDN_ROWS[:1], SDN_ROWS[0]]), None, ("sdn.csv", 2), "twice"),
        (
            sdn_csv(),
            alt_csv([("1001", "1", "aka", "X", "-0-"), ("4242", "2", "aka", "Y", "-0-")]),
            ("alt.csv", 2),
            "not in sdn.csv",
        ),
        (b'1001,"PETROV, Ivan,individual,SDGT\r\n', None, ("sdn.csv", 1), ""),
    ],
)
def test_a_malformed_file_is_rejected_with_its_line(
    sdn: bytes, alt: bytes | None, where: tuple[str, int], why: str
) -> None:
    with pytest.raises(MalformedListError) as caught:
        parse_ofac(sdn, alt)
    assert (caught.value.file_name, caught.value.line) == where
    assert why in caught.value.reason
    assert f"{where[0]} line {where[1]}" in str(caught.value)


def test_the_eu_csv_groups_rows_by_entity() -> None:
    entries = {e.external_id: e for e in parse_eu(eu_csv(EU_ROWS))}
    assert set(entries) == {"13", "14", "99"}
    tikriti = entries["13"]
    assert tikriti.entry_type == "individual"
    assert tikriti.primary_name == "Omar Farouk AL-TIKRITI"
    assert [a.name for a in tikriti.alternative_names] == ["عمر فاروق التكريتي"]
    assert tikriti.birth_dates == ["1957-04-28"]
    assert tikriti.countries == ["IQ"]
    assert tikriti.programs == ["IRQ"]
    assert entries["14"].countries == ["RU"]
    assert entries["99"].entry_type == "entity"


def test_an_eu_file_without_the_columns_it_needs_or_with_a_short_row_is_rejected() -> None:
    with pytest.raises(MalformedListError) as caught:
        parse_eu(b"fileGenerationDate;Entity_LogicalId\n01/01/2026;1\n", file_name="eu.csv")
    assert caught.value.line == 1
    assert "NameAlias_WholeName" in caught.value.reason
    data = eu_csv(EU_ROWS) + b"10/12/2026;15;too;few\n"
    with pytest.raises(MalformedListError) as caught:
        parse_eu(data, file_name="eu.csv")
    assert caught.value.line == len(EU_ROWS) + 2
