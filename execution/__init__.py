"""The trading core of the execution service.

Public surface: `execution.contracts` (the only module `api/` imports: commands, replies,
events, reject codes) and `execution.core.Core` (pure, in-memory: inputs with an explicit
`now`, an `Outcome` of replies, events, journal records and LP orders out). The IO shell lives
in `execution.service`, the FIX bridge in `execution.fix`.

Hot-path units (see `execution.units`): prices in integer points, volumes in 1/10,000 lot,
money in integer minor units of the deposit currency; Decimal at the edges only.

This module imports nothing, so importing `execution.contracts` stays cheap.
"""
