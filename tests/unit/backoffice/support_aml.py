"""Builders for the AML tests: small sanctions lists in the real file formats."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence


def _words(text: str) -> list[str]:
    return text.split()


# sdn.csv: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT,
# Vess_flag, Vess_owner, Remarks ("-0-" empty); fictional people in OFAC's layout.
SDN_ROWS: list[tuple[str, str, str, str, str]] = [
    (
        "1001",
        "PETROV, Ivan Sergeyevich",
        "individual",
        "RUSSIA-EO14024",
        "DOB 12 Mar 1960; POB Moscow, Russia; nationality Russia; Gender Male.",
    ),
    (
        "1002",
        "AL-RASHIDI, Khalid Mahmoud",
        "individual",
        "SDGT] [IRAQ2",
        "DOB 1971; POB Baghdad, Iraq; nationality Iraq.",
    ),
    (
        "1003",
        "GARCIA LOPEZ, Juan Carlos",
        "individual",
        "SDNTK",
        "DOB 03 Jun 1975; POB Cali, Colombia; citizen Colombia; Cedula No. 123 (Colombia).",
    ),
    ("1004", "KIM, Chol Su", "individual", "DPRK3", "DOB 1968 to 1970; nationality Korea, North."),
    ("1005", "NOVAK, Dragan", "individual", "BALKANS", "DOB 21 Jan 1966; nationality Serbia."),
    ("1006", "AEROCARIBBEAN AIRLINES", "-0-", "CUBA", "-0-"),
    ("1007", "SEA STAR", "vessel", "IRAN", "Vessel Registration Identification IMO 1234567."),
    (
        "1008",
        "OKAFOR, Chukwuemeka Daniel",
        "individual",
        "GLOMAG",
        "DOB 30 Sep 1980; nationality Nigeria.",
    ),
]
# alt.csv: ent_num, alt_num, alt_type, alt_name, alt_remarks
ALT_ROWS: list[tuple[str, str, str, str, str]] = [
    ("1001", "501", "aka", "PETROV, Vanya", "-0-"),
    ("1002", "502", "aka", "AL-RASHEEDI, Khaled", "-0-"),
    ("1002", "503", "fka", "ABU MAHMOUD", "-0-"),
    ("1004", "504", "aka", "KIM, Cholsu", "-0-"),
    ("1006", "505", "aka", "AERO-CARIBBEAN", "-0-"),
]


def sdn_csv(rows: Sequence[tuple[str, str, str, str, str]] = SDN_ROWS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for ent_num, name, kind, program, remarks in rows:
        writer.writerow([ent_num, name, kind, program, *["-0-"] * 7, remarks])
    return out.getvalue().encode() + b"\x1a"  # OFAC ends its files with a DOS EOF byte


def alt_csv(rows: Sequence[tuple[str, str, str, str, str]] = ALT_ROWS) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


# The EU FSF consolidated CSV (v1.1): semicolon-separated, header row, one row per alias
# (and per address, birth date...); a subset of its real columns, in its order.
EU_HEADER = [
    "fileGenerationDate",
    "Entity_LogicalId",
    "Entity_EU_ReferenceNumber",
    "Entity_UnitedNationId",
    "Entity_DesignationDate",
    "Entity_DesignationDetails",
    "Entity_Remark",
    "Entity_SubjectType",
    "Entity_SubjectType_ClassificationCode",
    "Entity_Regulation_Programme",
    "NameAlias_LastName",
    "NameAlias_FirstName",
    "NameAlias_MiddleName",
    "NameAlias_WholeName",
    "NameAlias_NameLanguage",
    "BirthDate_BirthDate",
    "BirthDate_Year",
    "BirthDate_CountryIso2Code",
    "Citizenship_CountryIso2Code",
]


def eu_csv(rows: Sequence[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(EU_HEADER)
    for row in rows:
        writer.writerow([row.get(c, "") for c in EU_HEADER])
    return ("\ufeff" + out.getvalue()).encode()  # the EU file starts with a BOM


EU_ROWS = [
    {
        "fileGenerationDate": "10/12/2026",
        "Entity_LogicalId": "13",
        "Entity_EU_ReferenceNumber": "EU.27.28",
        "Entity_SubjectType": "P",
        "Entity_SubjectType_ClassificationCode": "person",
        "Entity_Regulation_Programme": "IRQ",
        "NameAlias_LastName": "AL-TIKRITI",
        "NameAlias_FirstName": "Omar",
        "NameAlias_WholeName": "Omar Farouk AL-TIKRITI",
        "NameAlias_NameLanguage": "EN",
        "BirthDate_BirthDate": "1957-04-28",
        "BirthDate_Year": "1957",
        "BirthDate_CountryIso2Code": "IQ",
        "Citizenship_CountryIso2Code": "IQ",
    },
    {
        "fileGenerationDate": "10/12/2026",
        "Entity_LogicalId": "13",
        "Entity_SubjectType": "P",
        "Entity_SubjectType_ClassificationCode": "person",
        "Entity_Regulation_Programme": "IRQ",
        "NameAlias_WholeName": "عمر فاروق التكريتي",
        "NameAlias_NameLanguage": "AR",
    },
    {
        "fileGenerationDate": "10/12/2026",
        "Entity_LogicalId": "14",
        "Entity_SubjectType": "P",
        "Entity_SubjectType_ClassificationCode": "person",
        "Entity_Regulation_Programme": "RUS",
        "NameAlias_WholeName": "Viktor Nikolayevich SOKOLOV",
        "BirthDate_BirthDate": "1962-11-02",
        "Citizenship_CountryIso2Code": "RU",
    },
    {
        "fileGenerationDate": "10/12/2026",
        "Entity_LogicalId": "14",
        "Entity_SubjectType": "P",
        "Entity_SubjectType_ClassificationCode": "person",
        "Entity_Regulation_Programme": "RUS",
        "NameAlias_WholeName": "Виктор Николаевич Соколов",
        "NameAlias_NameLanguage": "RU",
    },
    {
        "fileGenerationDate": "10/12/2026",
        "Entity_LogicalId": "99",
        "Entity_SubjectType": "E",
        "Entity_SubjectType_ClassificationCode": "enterprise",
        "Entity_Regulation_Programme": "RUS",
        "NameAlias_WholeName": "Joint Stock Company Example",
    },
]

# Ordinary names, written here (not taken from the lists): common first and last names of
# the countries the broker onboards from, Spanish, Arabic and Korean ones among them.
FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David "
    "Barbara Thomas Susan Daniel Jessica Anna Maria Juan Carlos Jose Lucia Ahmed Ali "
    "Fatima Omar Mohammed Layla Min-jun Ji-woo Hans Ursula Pierre Camille Giulia Marco "
    "Piotr Katarzyna Olga Dmitri Emeka Ngozi Chen Wei Sofia Lukas Emma Noah Ivan Elena"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Martin "
    "Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Muller Schmidt "
    "Schneider Fischer Weber Meyer Dubois Moreau Rossi Russo Kowalski Nowak Ivanova "
    "Smirnov Kuznetsov Hassan Ibrahim Khalil Mansour Kim Lee Park Choi Okonkwo Adeyemi "
    "Wang Zhang Novakova Jensen Nielsen"
)
COUNTRIES = ("DE", "FR", "ES", "GB", "US", "IT", "PL", "CO", "KR", "EG", "NG", "RU")


def ordinary_people(n: int = 1000) -> list[tuple[str, str, str]]:
    """(name, birth date ISO, country) for n people, deterministic and all distinct names."""
    from datetime import date

    people = []
    for i in range(n):
        first = FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]
        last = LAST_NAMES[(i * 13 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        born = date(1945 + (i * 17) % 60, 1 + (i * 5) % 12, 1 + (i * 11) % 28)
        people.append((f"{first} {last}", born.isoformat(), COUNTRIES[i % len(COUNTRIES)]))
    return people


# A larger list for the false-positive measure: 400 listed persons of three names each from
# pools that share some common words with the ordinary names (Ali, Hassan, Garcia, Kim...).
LISTED_FIRST = _words(
    "Abdullah Ali Hassan Khalid Yusuf Tariq Saeed Omar Hamza Bilal Vladimir Sergei Alexei "
    "Nikolai Ivan Dragan Milorad Zoran Ratko Goran Juan Pedro Miguel Rafael Ernesto "
    "Chukwudi Abubakar Ibrahim Kwame Kofi Chol Jong Song Myong Hyon"
)
LISTED_MIDDLE = _words(
    "Ahmed Mahmoud Hussein Abdel Karim Vasilyevich Petrovich Nikolayevich Antonio Jose "
    "Luis Musa Bello Il Su Nam"
)
LISTED_LAST = _words(
    "Al-Bakri Al-Masri Al-Hashimi Haddad Nasser Karimov Volkov Morozov Lebedev Sokolov "
    "Mladic Petrovic Jovanovic Ochoa Escobar Salazar Mendoza Abubakar Danjuma Mensah Ri "
    "Pak Jang Hassan Garcia Kim Nowak"
)


def listed_people(n: int = 400) -> list[tuple[str, str, str, str, str]]:
    """sdn.csv rows of n fictional listed persons, most with a birth date, some without."""
    rows = []
    for i in range(n):
        first = LISTED_FIRST[(i * 3) % len(LISTED_FIRST)]
        middle = LISTED_MIDDLE[(i * 5) % len(LISTED_MIDDLE)]
        last = LISTED_LAST[(i * 7 + i // len(LISTED_FIRST)) % len(LISTED_LAST)]
        month = ("Jan", "Mar", "May", "Jul", "Sep", "Nov")[i % 6]
        dob = f"DOB {1 + i % 28:02d} {month} {1940 + i % 50}; "
        remarks = ("" if i % 5 == 0 else dob) + "nationality Iraq."
        rows.append(
            (str(2000 + i), f"{last.upper()}, {first} {middle}", "individual", "SDGT", remarks)
        )
    return rows
