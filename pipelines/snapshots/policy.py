"""What the analyst snapshot takes from the warehouse: per table, the columns KEPT.

A column that is not named here never leaves the warehouse, so a column a migration adds is
left out until someone decides it may go (the build reports it under ``left_out``). Personal
data stays behind: clients keep only what segments them (brand, country, category, KYC level,
status, registration time) and a salted hash of the e-mail, so analysts can count and join
one person across builds without learning who it is; payments lose the payer's name, the
ledger its free-text descriptions and who typed them, orders the client's own ids, reports
the account holder's name.

Time-series tables are partitioned by the trade date of the 17:00 New York trading day their
``day`` column falls in (:mod:`pipelines.snapshots.trade_dates`); a statement taken AT a cut
belongs to the day the cut closes. Small reference tables are one file each.
"""

from __future__ import annotations

from dataclasses import dataclass

SALT = "salt"  # the query parameter a derived expression may use for the snapshot's salt


@dataclass(frozen=True, slots=True)
class Derived:
    """A column computed on the warehouse side (so its inputs never reach the pipeline)."""

    name: str
    sql: str  # over the source's columns; %(salt)s is the snapshot's secret salt (bytea)
    pg_type: str  # the result's type as psycopg names it


@dataclass(frozen=True, slots=True)
class Day:
    """The column whose trade date partitions the table."""

    column: str
    closes: bool = False  # a cut timestamp: it belongs to the day it closes, not the next


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # the view's name in DuckDB ("reports.daily_pnl") and, dotted into folders, its path
    keep: tuple[str, ...]
    day: Day | None = None
    derived: tuple[Derived, ...] = ()
    source: str | None = None  # the warehouse relation, when not the same as name
    optional: bool = False  # left out when the warehouse has no such relation

    @property
    def relation(self) -> str:
        return self.source or self.name

    @property
    def folder(self) -> str:
        return self.name.replace(".", "/")


def _columns(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_CANDLE = _columns(
    "bucket symbol source bid_open bid_high bid_low bid_close ask_open ask_high ask_low "
    "ask_close tick_count"
)

EMAIL_HASH = Derived(
    "email_sha256",
    "encode(sha256(%(salt)s::bytea || convert_to(lower(email), 'UTF8')), 'hex')",
    "text",
)
ENTRY_TIME = Derived(
    "created_at",
    "(SELECT t.created_at FROM ledger_transfers t WHERE t.id = transfer_id)",
    "timestamptz",
)

TABLES: tuple[Table, ...] = (
    # reference
    Table(
        "brands",
        _columns(
            "id code name kyc_level_for_deposit kyc_level_for_live_account "
            "kyc_level_for_trading ib_max_depth lei created_at"
        ),
    ),
    Table(
        "instruments",
        _columns(
            "id symbol description asset_class symbol_group digits contract_size base_currency "
            "profit_currency margin_currency margin_calc_mode margin_rate_long margin_rate_short "
            "hedged_margin_mode hedged_margin_rate tick_size tick_value swap_mode swap_long "
            "swap_short swap_triple_weekday min_volume max_volume volume_step "
            "retail_max_leverage commission_plan_id holiday_calendar_id cfi_code underlying_id "
            "underlying_venue_traded enabled created_at"
        ),
    ),
    Table(
        "account_groups",
        _columns(
            "id brand_id code name account_kind deposit_currency leverage level_mode "
            "margin_call_level stop_out_level margin_call_blocks_new_exposure position_mode "
            "client_category negative_balance_protection routing_policy_id commission_plan_id "
            "max_positions max_orders_per_second enabled created_at"
        ),
    ),
    Table(
        "lps", _columns("id code name staleness_limit_ms commission_per_million enabled created_at")
    ),
    # parties
    Table(
        "clients",
        _columns("id brand_id country category kyc_level status created_at"),
        derived=(EMAIL_HASH,),
    ),
    Table(
        "trading_accounts",
        _columns(
            "id login client_id account_group_id kind currency balance credit leverage enabled "
            "min_kyc_level_to_trade toxicity_score opened_at closed_at"
        ),
    ),
    Table("wallets", _columns("id client_id currency status ledger_account_id created_at")),
    # trading
    Table(
        "deals",
        _columns(
            "id executed_at trading_account_id order_id position_id instrument_id side entry "
            "volume price profit commission swap fee routed lp_id lp_order_id reason"
        ),
        Day("executed_at"),
    ),
    Table(
        "positions",
        _columns(
            "id trading_account_id instrument_id side volume open_price open_value stop_loss "
            "take_profit status opened_at closed_at close_price realized_profit swap commission "
            "opening_deal_id updated_at"
        ),
        Day("opened_at"),
    ),
    Table(
        "orders",
        _columns(
            "id trading_account_id instrument_id type side time_in_force status origin volume "
            "filled_volume price stop_loss take_profit expires_at position_id reject_code "
            "created_at updated_at"
        ),
        Day("created_at"),
    ),
    # valuations at the cut
    Table(
        "account_statements",
        _columns(
            "trading_account_id cut currency balance credit floating_profit equity margin "
            "free_margin margin_level valued applied_at"
        ),
        Day("cut", closes=True),
    ),
    Table(
        "position_statements",
        _columns(
            "position_id cut trading_account_id instrument_id side volume open_price "
            "close_price profit swap book"
        ),
        Day("cut", closes=True),
    ),
    Table("cut_rates", _columns("cut currency usd_rate"), Day("cut", closes=True)),
    # money
    Table(
        "ledger_accounts",
        _columns(
            "id code kind currency brand_id client_id trading_account_id ib_partner_id psp "
            "created_at"
        ),
    ),
    Table(
        "ledger_transfers",
        _columns("id currency kind corrects_transfer_id created_at"),
        Day("created_at"),
    ),
    Table(
        "ledger_entries",
        _columns("id transfer_id ledger_account_id currency amount"),
        Day("created_at"),
        derived=(ENTRY_TIME,),
    ),
    Table(
        "payments",
        _columns(
            "id client_id psp psp_payment_id direction method amount currency status "
            "payer_country ledger_transfer_id created_at updated_at"
        ),
        Day("created_at"),
    ),
    # market data: candles, not ticks (billions of rows; the warehouse serves them)
    Table("candles_1m", _CANDLE, Day("bucket")),
    Table("candles_1h", _CANDLE, Day("bucket")),
    Table("candles_1d", _CANDLE, Day("bucket")),
    # the pipelines' own reports, when they exist
    Table(
        "reports.daily_accounts",
        _columns(
            "trade_date trading_account_id login brand_id client_id account_group leverage "
            "currency usd_rate previous_balance deposit withdrawal credit_change correction "
            "write_off closed_profit swap commission fee balance credit floating_profit equity "
            "margin free_margin margin_level volume_lots"
        ),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.daily_pnl",
        _columns(
            "trade_date trading_account_id instrument_id book brand_id account_group symbol "
            "currency usd_rate realised swap commission floating previous_floating client_pnl "
            "volume_lots notional_usd markup_usd lp_cost_usd broker_revenue_usd"
        ),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.exposure",
        _columns(
            "trade_date brand_id instrument_id book symbol long_lots short_lots net_lots net_usd"
        ),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.monthly_summary",
        _columns(
            "month trading_account_id login brand_id currency deposit withdrawal in_out credit "
            "additional volume_lots commission fee swap profit balance equity"
        ),
        optional=True,
    ),
    Table(
        "reports.client_metrics",
        _columns(
            "trade_date brand_id country source ib_partner_id registrations kyc_started "
            "kyc_approved kyc_rejected ftd_count ftd_usd deposits_usd withdrawals_usd "
            "net_deposits_usd active_traders volume_lots notional_usd"
        ),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.ib_daily",
        _columns("trade_date ib_partner_id brand_id currency accruals reversals amount"),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.ib_referred_daily",
        _columns("trade_date ib_partner_id brand_id clients volume_lots"),
        Day("trade_date"),
        optional=True,
    ),
    Table(
        "reports.prop_daily",
        _columns(
            "trade_date prop_product_id brand_id currency purchased fees active passed breached "
            "funded"
        ),
        Day("trade_date"),
        optional=True,
    ),
)
