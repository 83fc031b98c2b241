"""The warehouse: schema and migrations (``migrate``), connections and server features (``db``),
candles on TimescaleDB or plain PostgreSQL (``candles``) and reference data (``seed``).

See docs/warehouse.md.
"""
