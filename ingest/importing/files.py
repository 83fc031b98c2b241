"""Reading an import file: its fingerprint, its format, and its rows a chunk at a time.

Nothing here holds a whole file: text files are decoded as they are read and handed on in
chunks of numbered lines (the physical line in the file, so bad rows are reported where an
editor shows them), Parquet files in record batches numbered from 1.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import TextIO

import polars as pl

_CHUNK = 1 << 20


class FileFormat(StrEnum):
    AUTO = "auto"
    MT5 = "mt5"  # MetaTrader 5 export: tab-separated, <DATE> <TIME> ... header
    CSV = "csv"  # plain comma-separated with a header (timestamp,symbol,bid,ask / candles)
    PARQUET = "parquet"


class ImportFileError(Exception):
    """The file cannot be read at all (as opposed to some bad rows)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _encoding(path: Path) -> str:
    """MetaTrader writes UTF-16 with a byte-order mark, others UTF-8."""
    with path.open("rb") as stream:
        start = stream.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig" if start.startswith(codecs.BOM_UTF8) else "utf-8"


@contextmanager
def text_rows(path: Path, chunk_rows: int) -> Iterator[tuple[str, Iterator[pl.DataFrame]]]:
    """The header line, and the non-blank lines after it in chunks of at most ``chunk_rows``
    (columns ``line``, ``text``), read and decoded as the chunks are taken."""
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline=None) as stream:
        numbered = enumerate(_lines(stream, path, encoding), start=1)
        first = next(numbered, None)
        if first is None:
            raise ImportFileError("the file is empty")
        yield first[1], _chunks(numbered, chunk_rows)


def _lines(stream: TextIO, path: Path, encoding: str) -> Iterator[str]:
    try:
        for line in stream:
            yield line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name}: not {encoding} text ({exc.reason})") from exc


def _chunks(numbered: Iterator[tuple[int, str]], size: int) -> Iterator[pl.DataFrame]:
    while batch := list(islice(numbered, size)):
        lines, texts = zip(*batch, strict=True)
        yield pl.DataFrame(
            {"line": lines, "text": texts}, schema={"line": pl.UInt32, "text": pl.String}
        ).filter(pl.col("text").str.strip_chars() != "")


def first_line(path: Path) -> str:
    with text_rows(path, 1) as (header, _):
        return header


def parquet_batches(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Batches of at most ``chunk_rows`` rows, with ``line``: the row number from 1."""
    offset = 1
    try:
        for batch in pl.scan_parquet(path).collect_batches(chunk_size=chunk_rows):
            yield batch.with_row_index("line", offset=offset)
            offset += batch.height
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ImportFileError(f"{path.name}: not a readable Parquet file ({exc})") from exc


def parquet_schema(path: Path) -> dict[str, pl.DataType]:
    try:
        return pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ImportFileError(f"{path.name}: not a readable Parquet file ({exc})") from exc


def detect_format(path: Path, requested: FileFormat) -> FileFormat:
    if requested is not FileFormat.AUTO:
        return requested
    if path.suffix.lower() in (".parquet", ".pq"):
        return FileFormat.PARQUET
    return FileFormat.MT5 if first_line(path).lstrip().startswith("<DATE>") else FileFormat.CSV


def symbol_from_name(path: Path) -> str | None:
    """MetaTrader names exports ``EURUSD_202401020000_202401022359.csv``."""
    stem = path.stem.split("_", 1)[0].strip()
    return stem.upper() if stem.isalnum() else None
