"""Clients' wallets: one per client and currency, each a guarded ledger account; conversions
between a client's own wallets at the live rate plus the brand's markup; and transfers between
a wallet and a trading account as a recoverable saga through the brand's transit account."""
