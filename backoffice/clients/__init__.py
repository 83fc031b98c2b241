"""Clients' self-service: registering with a brand, confirming the e-mail address, the profile
and password, KYC documents and standing, and opening demo and live trading accounts.

Each function is one step for a thin portal route to call in its transaction; refusals are
:class:`backoffice.errors.Refused` (``details.source`` "backoffice") raised before anything
is written.
"""
