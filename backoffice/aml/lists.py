"""Reading sanctions and PEP list files into entries: OFAC's SDN CSV (sdn.csv with its
alt.csv) and the EU Financial Sanctions Files consolidated CSV.

OFAC's files have no header. sdn.csv: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; alt.csv: ent_num, alt_num, alt_type,
alt_name, alt_remarks; ``-0-`` is an empty field, and birth dates and nationalities live in
the remarks ("DOB 12 Mar 1960; POB Tehran, Iran; nationality Iran"). The EU file is
semicolon-separated with a header, one row per name alias x address x birth date x ...; the
columns read here, by name: ``Entity_LogicalId`` and ``NameAlias_WholeName`` (required),
``Entity_SubjectType`` (P/E) or ``Entity_SubjectType_ClassificationCode`` (person/enterprise),
``Entity_Regulation_Programme``, ``Entity_Remark``, ``BirthDate_BirthDate`` (YYYY-MM-DD),
``BirthDate_Year``, ``Citizenship_CountryIso2Code``, ``Address_CountryIso2Code`` and
``BirthDate_CountryIso2Code``. Any row that does not fit rejects the whole file, naming its
line: a list loaded in part would clear people it should have caught.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from backoffice.aml.countries import country_code
from backoffice.aml.errors import MalformedListError

EMPTY = "-0-"
_SDN_COLUMNS = 12
_ALT_COLUMNS = 5
_SDN_TYPES = {
    EMPTY: "entity",
    "individual": "individual",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
_EU_REQUIRED = ("Entity_LogicalId", "NameAlias_WholeName")
_Getter = Callable[[str], str]  # a column of the current row, by name
_MAX_YEARS = 10  # a "DOB 1950 to 1960" range listed year by year; wider ranges say nothing


@dataclass(frozen=True, slots=True)
class AltName:
    type: str  # aka, fka, nka (OFAC); alias (EU)
    name: str


@dataclass(slots=True)
class ListEntry:
    external_id: str
    entry_type: str  # individual, entity, vessel, aircraft
    primary_name: str
    alternative_names: list[AltName] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)  # 'YYYY-MM-DD' or 'YYYY'
    countries: list[str] = field(default_factory=list)  # ISO alpha-2
    programs: list[str] = field(default_factory=list)
    remarks: str = ""


def decode(data: bytes) -> str:
    """The text of a list file: UTF-8 (a BOM dropped), else Windows-1252 as OFAC's older
    files were; OFAC ends its files with a DOS end-of-file byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.rstrip("\x1a\r\n ")


def _rows(text: str, file_name: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as exc:
        raise MalformedListError(file_name, reader.line_num, str(exc)) from None


def _field(value: str) -> str:
    value = value.strip()
    return "" if value == EMPTY else value


def parse_ofac(
    sdn: bytes, alt: bytes | None = None, *, sdn_name: str = "sdn.csv", alt_name: str = "alt.csv"
) -> list[ListEntry]:
    """Entries of an OFAC SDN file and, when given, its alternate names."""
    entries: dict[str, ListEntry] = {}
    for line, row in _rows(decode(sdn), sdn_name, ","):
        if len(row) != _SDN_COLUMNS:
            raise MalformedListError(sdn_name, line, f"{len(row)} columns, not {_SDN_COLUMNS}")
        ent_num, name, sdn_type, program = (_field(v) for v in row[:4])
        remarks = _field(row[11])
        if not ent_num.isdigit():
            raise MalformedListError(sdn_name, line, f"ent_num {row[0]!r} is not a number")
        if not name:
            raise MalformedListError(sdn_name, line, "SDN_Name is empty")
        kind = _SDN_TYPES.get(row[2].strip().casefold() if sdn_type else EMPTY)
        if kind is None:
            raise MalformedListError(sdn_name, line, f"unknown SDN_Type {row[2]!r}")
        if ent_num in entries:
            raise MalformedListError(sdn_name, line, f"ent_num {ent_num} listed twice")
        dates, countries = remark_facts(remarks)
        entries[ent_num] = ListEntry(
            ent_num, kind, name, [], dates, countries, _programs(program), remarks
        )
    if alt is not None:
        for line, row in _rows(decode(alt), alt_name, ","):
            if len(row) != _ALT_COLUMNS:
                raise MalformedListError(alt_name, line, f"{len(row)} columns, not {_ALT_COLUMNS}")
            ent_num, _alt_num, alt_type, name = (_field(v) for v in row[:4])
            if ent_num not in entries:
                raise MalformedListError(alt_name, line, f"ent_num {row[0]!r} not in {sdn_name}")
            if not name:
                raise MalformedListError(alt_name, line, "alt_name is empty")
            entries[ent_num].alternative_names.append(AltName(alt_type.casefold() or "aka", name))
    return list(entries.values())


def _programs(field_value: str) -> list[str]:
    # several programmes come as "SDGT] [IRGC"
    return [p for p in (x.strip(" []") for x in field_value.split("] [")) if p]


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def remark_facts(remarks: str) -> tuple[list[str], list[str]]:
    """Birth dates and countries (nationality, citizenship) stated in OFAC remarks."""
    dates: list[str] = []
    countries: list[str] = []
    for part in remarks.split(";"):
        part = part.strip().rstrip(".")
        lower = part.casefold()
        if lower.startswith("dob "):
            for found in _dates(part[4:]):
                if found not in dates:
                    dates.append(found)
        elif lower.startswith(("nationality ", "citizen ")):
            code = country_code(part.split(" ", 1)[1])
            if code and code not in countries:
                countries.append(code)
    return dates, countries


def _dates(text: str) -> list[str]:
    text = text.casefold().replace("circa", "").replace("approximately", "").strip()
    full = re.fullmatch(r"(\d{1,2}) ([a-z]{3}) (\d{4})", text)
    if full and full.group(2) in _MONTHS:
        day = datetime.strptime(text.title(), "%d %b %Y").date()  # noqa: DTZ007 (a date)
        return [day.isoformat()]
    years = [int(y) for y in re.findall(r"\b(\d{4})\b", text)]
    if len(years) == 2 and " to " in text and 0 <= years[1] - years[0] <= _MAX_YEARS:
        return [str(y) for y in range(years[0], years[1] + 1)]
    return [str(y) for y in years[:1]]


def parse_eu(data: bytes, *, file_name: str = "eu.csv") -> list[ListEntry]:
    """Entries of the EU consolidated list CSV (rows grouped by Entity_LogicalId)."""
    rows = _rows(decode(data), file_name, ";")
    try:
        _, header = next(rows)
    except StopIteration:
        raise MalformedListError(file_name, 1, "empty file") from None
    columns = {name.strip(): i for i, name in enumerate(header)}
    if missing := [c for c in _EU_REQUIRED if c not in columns]:
        raise MalformedListError(file_name, 1, f"header lacks {', '.join(missing)}")
    entries: dict[str, ListEntry] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise MalformedListError(
                file_name, line, f"{len(row)} fields, header has {len(header)}"
            )

        def get(column: str, row: list[str] = row) -> str:
            i = columns.get(column)
            return "" if i is None else row[i].strip()

        logical_id = get("Entity_LogicalId")
        if not logical_id.isdigit():
            raise MalformedListError(file_name, line, f"Entity_LogicalId {logical_id!r}")
        entry = entries.get(logical_id)
        if entry is None:
            entry = entries[logical_id] = ListEntry(logical_id, _eu_type(get), "")
        _add_eu_row(entry, get)
    for logical_id, entry in entries.items():
        if not entry.primary_name:
            raise MalformedListError(file_name, 1, f"entity {logical_id} has no name")
    return list(entries.values())


def _eu_type(get: _Getter) -> str:
    subject = get("Entity_SubjectType_ClassificationCode") or get("Entity_SubjectType")
    return "individual" if subject.casefold() in ("person", "p") else "entity"


def _add_eu_row(entry: ListEntry, get: _Getter) -> None:
    name = get("NameAlias_WholeName")
    if name and not entry.primary_name:
        entry.primary_name = name
    elif (
        name
        and name != entry.primary_name
        and name not in {a.name for a in entry.alternative_names}
    ):
        entry.alternative_names.append(AltName("alias", name))
    birth = get("BirthDate_BirthDate") or get("BirthDate_Year")
    if re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", birth) and birth not in entry.birth_dates:
        entry.birth_dates.append(birth)
    for column in (
        "Citizenship_CountryIso2Code",
        "Address_CountryIso2Code",
        "BirthDate_CountryIso2Code",
    ):
        code = get(column).upper()
        if re.fullmatch(r"[A-Z]{2}", code) and code not in entry.countries:
            entry.countries.append(code)
    programme = get("Entity_Regulation_Programme")
    if programme and programme not in entry.programs:
        entry.programs.append(programme)
    remark = get("Entity_Remark")
    if remark and remark not in entry.remarks:
        entry.remarks = f"{entry.remarks}; {remark}" if entry.remarks else remark
