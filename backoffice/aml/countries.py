"""Country names as the lists write them, to ISO 3166 alpha-2 codes as clients carry them.

OFAC's remarks say "nationality Iran; citizen Korea, North"; the EU file gives codes but also
descriptions. The table is ISO 3166-1's short names plus the forms the lists use; a name not
found is kept out of the entry's countries (the country only adjusts a score, never makes one).
"""

from __future__ import annotations

import re

from anyascii import anyascii

_TABLE = """
AD Andorra|AE United Arab Emirates;UAE|AF Afghanistan|AG Antigua and Barbuda|AI Anguilla
AL Albania|AM Armenia|AO Angola|AR Argentina|AT Austria|AU Australia|AW Aruba|AZ Azerbaijan
BA Bosnia and Herzegovina;Bosnia-Herzegovina|BB Barbados|BD Bangladesh|BE Belgium
BF Burkina Faso|BG Bulgaria|BH Bahrain|BI Burundi|BJ Benin|BM Bermuda|BN Brunei
BO Bolivia|BR Brazil|BS Bahamas;The Bahamas|BT Bhutan|BW Botswana|BY Belarus|BZ Belize
CA Canada|CD Congo, Democratic Republic of the;Democratic Republic of the Congo;DRC;Zaire
CF Central African Republic|CG Congo, Republic of the;Republic of the Congo;Congo
CH Switzerland|CI Cote d'Ivoire;Ivory Coast|CL Chile|CM Cameroon|CN China
CO Colombia|CR Costa Rica|CU Cuba|CV Cabo Verde;Cape Verde|CY Cyprus
CZ Czech Republic;Czechia|DE Germany|DJ Djibouti|DK Denmark|DM Dominica
DO Dominican Republic|DZ Algeria|EC Ecuador|EE Estonia|EG Egypt|ER Eritrea|ES Spain
ET Ethiopia|FI Finland|FJ Fiji|FR France|GA Gabon|GB United Kingdom;UK;Great Britain
GD Grenada|GE Georgia|GH Ghana|GI Gibraltar|GM Gambia;The Gambia|GN Guinea
GQ Equatorial Guinea|GR Greece|GT Guatemala|GW Guinea-Bissau|GY Guyana|HK Hong Kong
HN Honduras|HR Croatia|HT Haiti|HU Hungary|ID Indonesia|IE Ireland|IL Israel|IN India
IQ Iraq|IR Iran;Iran, Islamic Republic of|IS Iceland|IT Italy|JM Jamaica|JO Jordan
JP Japan|KE Kenya|KG Kyrgyzstan|KH Cambodia|KM Comoros|KN Saint Kitts and Nevis
KP Korea, North;North Korea;Democratic People's Republic of Korea;DPRK
KR Korea, South;South Korea;Republic of Korea|KW Kuwait|KY Cayman Islands|KZ Kazakhstan
LA Laos;Lao People's Democratic Republic|LB Lebanon|LC Saint Lucia|LI Liechtenstein
LK Sri Lanka|LR Liberia|LS Lesotho|LT Lithuania|LU Luxembourg|LV Latvia|LY Libya
MA Morocco|MC Monaco|MD Moldova|ME Montenegro|MG Madagascar|MK North Macedonia;Macedonia
ML Mali|MM Burma;Myanmar|MN Mongolia|MO Macau;Macao|MR Mauritania|MT Malta|MU Mauritius
MV Maldives|MW Malawi|MX Mexico|MY Malaysia|MZ Mozambique|NA Namibia|NE Niger
NG Nigeria|NI Nicaragua|NL Netherlands|NO Norway|NP Nepal|NZ New Zealand|OM Oman
PA Panama|PE Peru|PG Papua New Guinea|PH Philippines|PK Pakistan|PL Poland|PT Portugal
PS Palestinian Territories;Palestine;West Bank;Gaza|PY Paraguay|QA Qatar|RO Romania
RS Serbia|RU Russia;Russian Federation|RW Rwanda|SA Saudi Arabia|SC Seychelles|SD Sudan
SE Sweden|SG Singapore|SI Slovenia|SK Slovakia|SL Sierra Leone|SM San Marino|SN Senegal
SO Somalia|SR Suriname|SS South Sudan|SV El Salvador|SY Syria;Syrian Arab Republic
SZ Eswatini;Swaziland|TD Chad|TG Togo|TH Thailand|TJ Tajikistan|TL Timor-Leste
TM Turkmenistan|TN Tunisia|TR Turkey;Turkiye|TT Trinidad and Tobago|TW Taiwan
TZ Tanzania|UA Ukraine|UG Uganda|US United States;USA;United States of America
UY Uruguay|UZ Uzbekistan|VC Saint Vincent and the Grenadines|VE Venezuela
VG British Virgin Islands;Virgin Islands, British|VN Vietnam;Viet Nam|VU Vanuatu
WS Samoa|XK Kosovo|YE Yemen|ZA South Africa|ZM Zambia|ZW Zimbabwe
"""


def _key(name: str) -> str:
    return re.sub(r"[^a-z]+", " ", anyascii(name).casefold()).strip()


def _parse() -> dict[str, str]:
    codes: dict[str, str] = {}
    for item in re.split(r"[|\n]", _TABLE):
        if item := item.strip():
            code, names = item.split(" ", 1)
            for name in names.split(";"):
                codes[_key(name)] = code
            codes[code.casefold()] = code
    return codes


_CODES = _parse()


def country_code(name: str) -> str | None:
    """The alpha-2 code of a country named as the lists write it (or already a code)."""
    return _CODES.get(_key(name))
