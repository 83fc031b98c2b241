"""The reference data a fresh installation starts with: one demo brand, its account groups,
instruments with realistic specifications, two LPs on loopback, routing, roles and the
broker's chart of accounts. Operators edit these rows afterwards; seeding never overwrites.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal as D
from typing import Any

Row = dict[str, Any]

# The LEI is made up (valid check digits, no such entity): set the brand's own before reporting.
BRAND: Row = {"code": "demo", "name": "Demo Brokerage", "lei": "9845000DEM0BR0KER059"}

COMMISSION_PLANS: list[Row] = [
    {
        "code": "raw-3.5",
        "name": "Raw spread, 3.50 per lot per side",
        "basis": "per_lot",
        "charged_on": "both",
        "currency": "USD",
    },
]
# (plan code, monthly lots reached, rate)
COMMISSION_TIERS = [("raw-3.5", D(0), D("3.50")), ("raw-3.5", D(1000), D("3.00"))]

_FX = {"asset_class": "forex", "contract_size": D(100_000), "margin_calc_mode": "FOREX"}
_FX_VOLUME = {"min_volume": D("0.01"), "max_volume": D(100), "volume_step": D("0.01")}

INSTRUMENTS: list[Row] = [
    {
        **_FX,
        **_FX_VOLUME,
        "symbol": "EURUSD",
        "cfi_code": "JFTXFC",
        "underlying_id": None,
        "underlying_venue_traded": False,
        "description": "Euro vs US Dollar",
        "symbol_group": "fx-major",
        "digits": 5,
        "base_currency": "EUR",
        "profit_currency": "USD",
        "margin_currency": "EUR",
        "tick_size": D("0.00001"),
        "tick_value": D(1),
        "swap_mode": "points",
        "swap_long": D("-7.2"),
        "swap_short": D("2.1"),
        "swap_triple_weekday": 3,
        "retail_max_leverage": 30,
    },
    {
        **_FX,
        **_FX_VOLUME,
        "symbol": "GBPUSD",
        "cfi_code": "JFTXFC",
        "underlying_id": None,
        "underlying_venue_traded": False,
        "description": "Pound Sterling vs US Dollar",
        "symbol_group": "fx-major",
        "digits": 5,
        "base_currency": "GBP",
        "profit_currency": "USD",
        "margin_currency": "GBP",
        "tick_size": D("0.00001"),
        "tick_value": D(1),
        "swap_mode": "points",
        "swap_long": D("-4.1"),
        "swap_short": D("-1.5"),
        "swap_triple_weekday": 3,
        "retail_max_leverage": 30,
    },
    {
        **_FX,
        **_FX_VOLUME,
        "symbol": "USDJPY",
        "cfi_code": "JFTXFC",
        "underlying_id": None,
        "underlying_venue_traded": False,
        "description": "US Dollar vs Japanese Yen",
        "symbol_group": "fx-major",
        "digits": 3,
        "base_currency": "USD",
        "profit_currency": "JPY",
        "margin_currency": "USD",
        "tick_size": D("0.001"),
        "tick_value": D(100),
        "swap_mode": "points",
        "swap_long": D("12.5"),
        "swap_short": D("-22.0"),
        "swap_triple_weekday": 3,
        "retail_max_leverage": 30,
    },
    {
        "symbol": "XAUUSD",
        "cfi_code": "JTMXFC",
        "underlying_id": None,
        "underlying_venue_traded": False,
        "description": "Gold vs US Dollar",
        "asset_class": "metal",
        "symbol_group": "metal-gold",
        "digits": 2,
        "contract_size": D(100),
        "base_currency": "XAU",
        "profit_currency": "USD",
        "margin_currency": "USD",
        "margin_calc_mode": "CFDLEVERAGE",
        "tick_size": D("0.01"),
        "tick_value": D(1),
        "swap_mode": "points",
        "swap_long": D("-55.3"),
        "swap_short": D("21.4"),
        "swap_triple_weekday": 3,
        "min_volume": D("0.01"),
        "max_volume": D(50),
        "volume_step": D("0.01"),
        "retail_max_leverage": 20,
    },
    {
        "symbol": "US500",
        "cfi_code": "JEIXFC",
        "underlying_id": "US78378X1072",
        "underlying_venue_traded": True,
        "description": "US 500 index cash CFD",
        "asset_class": "index",
        "symbol_group": "index-major",
        "digits": 2,
        "contract_size": D(1),
        "base_currency": "USD",
        "profit_currency": "USD",
        "margin_currency": "USD",
        "margin_calc_mode": "CFDINDEX",
        "margin_rate_long": D("0.05"),
        "margin_rate_short": D("0.05"),
        "tick_size": D("0.01"),
        "tick_value": D("0.01"),
        "swap_mode": "interest",
        "swap_long": D("-6.0"),
        "swap_short": D("1.5"),
        "swap_triple_weekday": 5,
        "min_volume": D("0.1"),
        "max_volume": D(200),
        "volume_step": D("0.1"),
        "retail_max_leverage": 20,
    },
    {
        "symbol": "BTCUSD",
        "cfi_code": "JMMXFC",
        "underlying_id": None,
        "underlying_venue_traded": False,
        "description": "Bitcoin vs US Dollar",
        "asset_class": "crypto",
        "symbol_group": "crypto",
        "digits": 2,
        "contract_size": D(1),
        "base_currency": "BTC",
        "profit_currency": "USD",
        "margin_currency": "USD",
        "margin_calc_mode": "CFDLEVERAGE",
        "hedged_margin_mode": "full",
        "tick_size": D("0.01"),
        "tick_value": D("0.01"),
        "swap_mode": "interest",
        "swap_long": D("-20.0"),
        "swap_short": D("-10.0"),
        "swap_triple_weekday": 5,
        "min_volume": D("0.01"),
        "max_volume": D(10),
        "volume_step": D("0.01"),
        "retail_max_leverage": 2,
    },
]

_NEW_YORK = "America/New_York"
_MIDNIGHT = time(0)
_END_OF_DAY = time.max  # stands for '24:00'; PostgreSQL keeps it as 23:59:59.999999

# Forex trades from Sunday 17:00 to Friday 17:00 New York time.
_FX_WEEK = (
    [(7, time(17), _END_OF_DAY)]
    + [(d, _MIDNIGHT, _END_OF_DAY) for d in (1, 2, 3, 4)]
    + [(5, _MIDNIGHT, time(17))]
)
# Gold and US index futures hours: a daily break from 17:00 to 18:00 New York time.
_BREAK_WEEK = (
    [(7, time(18), _END_OF_DAY)]
    + [(d, _MIDNIGHT, time(17)) for d in (1, 2, 3, 4)]
    + [(d, time(18), _END_OF_DAY) for d in (1, 2, 3, 4)]
    + [(5, _MIDNIGHT, time(17))]
)
_ALWAYS = [(d, _MIDNIGHT, _END_OF_DAY) for d in range(1, 8)]

# symbol -> (time zone, weekly windows); quote and trade sessions coincide here.
SESSIONS: dict[str, tuple[str, list[tuple[int, time, time]]]] = {
    "EURUSD": (_NEW_YORK, _FX_WEEK),
    "GBPUSD": (_NEW_YORK, _FX_WEEK),
    "USDJPY": (_NEW_YORK, _FX_WEEK),
    "XAUUSD": (_NEW_YORK, _BREAK_WEEK),
    "US500": (_NEW_YORK, _BREAK_WEEK),
    "BTCUSD": ("UTC", _ALWAYS),
}

# Holiday calendars (what each closes, and why: warehouse.holiday_calendars) and the
# instruments following each; BTCUSD follows none, crypto trades every day.
HOLIDAY_CALENDARS: dict[str, str] = {
    "CME": "CME Globex holidays: gold and US index CFDs priced from CME futures",
    "FX": "Currencies: closed on New Year's Day and Christmas Day",
}
INSTRUMENT_CALENDARS = {
    "EURUSD": "FX",
    "GBPUSD": "FX",
    "USDJPY": "FX",
    "XAUUSD": "CME",
    "US500": "CME",
}

LPS: list[Row] = [
    {
        "code": "lp-alpha",
        "name": "LP Alpha (simulator)",
        "staleness_limit_ms": 1000,
        "commission_per_million": D(5),
    },
    {
        "code": "lp-beta",
        "name": "LP Beta (simulator)",
        "staleness_limit_ms": 1000,
        "commission_per_million": D(6),
    },
]

# lp code -> role -> (port, our SenderCompID, the LP's TargetCompID)
LP_SESSIONS: dict[str, dict[str, tuple[int, str, str]]] = {
    "lp-alpha": {
        "quote": (9871, "BROKERSTACK_Q", "LPALPHA_Q"),
        "trade": (9872, "BROKERSTACK_T", "LPALPHA_T"),
    },
    "lp-beta": {
        "quote": (9873, "BROKERSTACK_Q", "LPBETA_Q"),
        "trade": (9874, "BROKERSTACK_T", "LPBETA_T"),
    },
}

ROUTING_POLICIES: list[Row] = [
    {"code": "retail-default", "name": "Retail: B-book, toxic flow and size hedged"},
    {"code": "professional-a-book", "name": "Professional: everything to LPs"},
    {"code": "demo-internal", "name": "Demo: filled internally"},
]

# (policy, priority, match, action, hedge ratio, lp code)
ROUTING_RULES: list[tuple[str, int, Row, str, D | None, str | None]] = [
    ("retail-default", 10, {"min_toxicity": D("0.8")}, "A_BOOK", None, "lp-alpha"),
    ("retail-default", 20, {"min_volume": D(10)}, "PARTIAL", D("0.5"), "lp-alpha"),
    ("retail-default", 30, {"symbol_group": "crypto"}, "A_BOOK", None, "lp-beta"),
    ("retail-default", 100, {}, "B_BOOK", None, None),
    ("professional-a-book", 100, {}, "A_BOOK", None, None),
    ("demo-internal", 100, {}, "B_BOOK", None, None),
]

ACCOUNT_GROUPS: list[Row] = [
    {
        "code": "retail-eu-hedging",
        "name": "Retail EU (hedging, EUR)",
        "account_kind": "live",
        "deposit_currency": "EUR",
        "leverage": 30,
        "margin_call_level": D(100),
        "stop_out_level": D(50),
        "margin_call_blocks_new_exposure": True,
        "position_mode": "hedging",
        "client_category": "retail",
        "negative_balance_protection": True,
        "routing_policy": "retail-default",
        "commission_plan": None,
        "max_positions": 200,
        "max_orders_per_second": 20,
        "markup_points": 5,
        "min_spread_points": 8,
    },
    {
        "code": "professional-netting",
        "name": "Professional (netting, USD)",
        "account_kind": "live",
        "deposit_currency": "USD",
        "leverage": 200,
        "margin_call_level": D(100),
        "stop_out_level": D(50),
        "margin_call_blocks_new_exposure": False,
        "position_mode": "netting",
        "client_category": "professional",
        "negative_balance_protection": False,
        "routing_policy": "professional-a-book",
        "commission_plan": "raw-3.5",
        "max_positions": None,
        "max_orders_per_second": 100,
        "markup_points": 0,
        "min_spread_points": 0,
    },
    {
        "code": "demo-usd",
        "name": "Demo (hedging, USD)",
        "account_kind": "demo",
        "deposit_currency": "USD",
        "leverage": 100,
        "margin_call_level": D(100),
        "stop_out_level": D(50),
        "margin_call_blocks_new_exposure": False,
        "position_mode": "hedging",
        "client_category": "retail",
        "negative_balance_protection": True,
        "routing_policy": "demo-internal",
        "commission_plan": None,
        "max_positions": 200,
        "max_orders_per_second": 20,
        "markup_points": 5,
        "min_spread_points": 8,
    },
]

# symbol -> (net exposure in lots beyond which the hedger acts, LP)
HEDGE_THRESHOLDS = {
    "EURUSD": (D(50), "lp-alpha"),
    "GBPUSD": (D(30), "lp-alpha"),
    "USDJPY": (D(30), "lp-alpha"),
    "XAUUSD": (D(10), "lp-alpha"),
    "US500": (D(100), "lp-beta"),
    "BTCUSD": (D(5), "lp-beta"),
}

ROLES = {
    "admin": "Everything, including staff and configuration",
    "manager": "Runs a desk: sees its staff and brands, approves what needs a second person",
    "compliance": "Audit trail, AML cases, regulatory exports",
    "kyc_officer": "Reviews client identity applications and documents",
    "finance": "Payments, withdrawals approval, ledger and reconciliation",
    "sales": "Leads and client follow-up",
    "retention": "Existing clients' follow-up and retention campaigns",
    "support": "Answers clients; reads their profile and timeline",
    "dealer": "Dealing desk: exposure, routing, hedging, manual fills",
    "ib_manager": "Introducing brokers: partners, plans, payouts",
}
# Roles that move money or decide KYC: they act only in a session opened with a TOTP code.
ROLES_REQUIRING_2FA = frozenset(
    {"admin", "manager", "compliance", "kyc_officer", "finance", "dealer", "ib_manager"}
)

# What staff may do; a permission no role grants is denied. Each area adds its rows here and
# to ROLE_PERMISSIONS (admin holds every permission), and `brokerstack seed` loads them.
PERMISSIONS = {
    "staff.read": "See staff users, their roles and brands",
    "staff.manage": "Create and disable staff users, grant roles, set brand scopes",
    "brands.read": "See a brand's rules (countries, groups, leverage caps, thresholds)",
    "brands.manage": "Change a brand's rules",
    "audit.read": "Read the audit trail of an entity",
    "audit.export": "Export one client's whole audit trail",
    # back-office queues (bo-queues): KYC review, AML cases, CRM
    "kyc.read": "See the KYC review queue, applications and their documents",
    "kyc.decide": "Approve, reject or ask for documents on a KYC application",
    "aml.read": "See AML cases, their notes and what raised them",
    "aml.manage": "Assign, note and decide AML cases",
    "crm.read": "See leads, tasks and a client's timeline",
    "crm.manage": "Move and reassign leads, convert them, add tasks and notes",
    "trading.read": "See a trading account's admin state and its open positions",
    "trading.manage": "Change leverage, group, the trading switch; the dealer's closes",
    "money.adjust": "Balance corrections, credit, bonuses; the queue; decide another's",
    "payments.read": "See withdrawals waiting for approval and clients' payments",
    "payments.approve": "Approve or reject withdrawals (four eyes above the threshold)",
}
_KYC = ("kyc.read", "kyc.decide")
_AML = ("aml.read", "aml.manage")
_CRM = ("crm.read", "crm.manage")
_TRADING = ("trading.read", "trading.manage")
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "admin": tuple(PERMISSIONS),
    "manager": ("staff.read", "brands.read", "audit.read", *_CRM, *_TRADING, "money.adjust"),
    "compliance": ("staff.read", "brands.read", "audit.read", "audit.export", *_KYC, *_AML),
    "kyc_officer": ("brands.read", *_KYC),
    "finance": ("brands.read", "trading.read", "money.adjust", "payments.read", "payments.approve"),
    "sales": _CRM,
    "retention": _CRM,
    "support": ("crm.read",),
    "dealer": ("brands.read", *_TRADING),
    "ib_manager": (),
}

# Retail leverage caps of ESMA's product intervention (CySEC and the FCA apply the same),
# per symbol group of the instruments; the EEA and the UK.
ESMA_COUNTRIES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
    "GB",
)  # fmt: skip
ESMA_RETAIL_CAPS = {
    "fx-major": 30,
    "fx-minor": 20,
    "metal-gold": 20,
    "index-major": 20,
    "index-minor": 10,
    "commodity": 10,
    "equity": 5,
    "crypto": 2,
}
# The demo brand's other rules: the group each kind of new account goes to, the sender of its
# mail, and the threshold above which a balance or credit operation needs a second approver.
BRAND_SETTINGS: Row = {
    "maker_checker_threshold": D(1000),
    "maker_checker_currency": "USD",
    "mail_from_name": "Demo Brokerage",
    "mail_from_address": "no-reply@demo-brokerage.local",
}
BRAND_DEFAULT_GROUPS = {"demo": "demo-usd", "live": "retail-eu-hedging"}
# Years each kind of record is kept after the relationship ends ('*': every country).
RETENTION_YEARS = {
    ("*", "kyc_documents"): 5,
    ("*", "communications"): 5,
    ("*", "transactions"): 7,
    ("*", "audit"): 7,
}

# Minor-unit digits of the currencies that do not use cents (every other has 2): the one table
# the execution core, the back office and the api write and round money with.
CURRENCY_DIGITS = {"JPY": 0, "KRW": 0, "HUF": 0, "BHD": 3, "KWD": 3}


def currency_digits(currency: str) -> int:
    return CURRENCY_DIGITS.get(currency, 2)


LEDGER_CURRENCIES = ("USD", "EUR")
BROKER_LEDGER_KINDS = (
    "client_money_bank",
    "revenue_spread",
    "revenue_commission",
    "revenue_swap",
    "ib_commission_payable",
    "prop_fees",
    "prop_payouts",
    "bonus_credit",
    "negative_balance_writeoff",
    "broker_equity",
)
PSPS = ("stub-psp", "card-sim", "ewallet-sim", "crypto-sim", "bank-wire")
# The demo brand's deposit methods: the card PSP's simulator (a hosted page with 3-D Secure),
# the e-wallet's (an approval page) and the crypto gateway's (a deposit address per client),
# each fee a percentage plus a fixed part in the payment's currency.
PSP_METHODS: list[Row] = [
    {"provider": "card-sim", "method": "card", "currencies": ["USD", "EUR", "GBP"],
     "priority": 10, "fee_percent": D("0.029"), "fee_fixed": D("0.30"),
     "min_amount": D(10), "max_amount": D(10000)},
    {"provider": "ewallet-sim", "method": "ewallet", "currencies": ["USD", "EUR", "GBP"],
     "priority": 20, "fee_percent": D("0.019"), "fee_fixed": D("0.25"),
     "min_amount": D(10), "max_amount": D(5000)},
    {"provider": "crypto-sim", "method": "crypto", "currencies": ["USD", "EUR"],
     "priority": 30, "fee_percent": D("0.01"), "fee_fixed": D(0),
     "min_amount": D(20), "max_amount": D(50000)},
    {"provider": "bank-wire", "method": "bank_wire", "currencies": ["USD", "EUR"],
     "priority": 40, "fee_percent": D(0), "fee_fixed": D(0),
     "min_amount": D(100), "max_amount": None},
]  # fmt: skip

# The demo brand's KYC ladder (domain.md): what each level unlocks and what reaching it needs.
KYC_LEVELS: list[Row] = [
    {"level": 0, "name": "registered", "deposit_limit": D(0), "required_documents": []},
    {
        "level": 1,
        "name": "identity verified",
        "deposit_limit": D(2000),
        "live_accounts": True,
        "trading": True,
        "required_documents": ["identity", "selfie"],
        "review_months": 36,
    },
    {
        "level": 2,
        "name": "address verified",
        "deposit_limit": None,
        "live_accounts": True,
        "trading": True,
        "withdrawals": True,
        "required_documents": ["proof_of_address"],
        "review_months": 24,
    },
]
