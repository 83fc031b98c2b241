"""Account reports staff know from MetaTrader 5: Daily, Trade accounts and Summary."""
