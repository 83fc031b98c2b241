"""Admin actions on clients' trading accounts, sent to the execution service (the writer of
trading state) through its command interface: leverage and group within the brand's caps, the
trading switch, the dealer's closes, balance corrections, credit and bonuses (four eyes above
the brand's threshold), and the client's KYC level and status pushed to every account.

- :mod:`.rules` — pure rules: caps, thresholds, request ids, commands as JSON;
- :mod:`.errors` — what an action refuses with (machine-readable codes);
- :mod:`.accounts` — reading accounts, positions and the audit's before/after;
- :mod:`.requests` — ``admin_requests``: idempotency, maker-checker;
- :mod:`.actions` — the staff actions (one function each);
- :mod:`.approvals` — approve / reject a pending request;
- :mod:`.flags` — the KYC level and client status push, and its worker job.
"""
