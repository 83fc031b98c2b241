"""The day's P&L: the clients' and the broker's, per account, symbol, group, brand and book,
and the broker's net exposure at the cut."""
