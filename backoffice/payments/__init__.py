"""Payments through PSPs: the provider interface and the providers, deposit routing and limits,
webhook intake and the state each payment moves through, crediting through the ledger."""
