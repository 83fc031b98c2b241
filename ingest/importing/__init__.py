"""History importers: tick and candle files (MetaTrader 5 exports, CSV, Parquet) into the
warehouse, each file in one transaction and at most once."""
