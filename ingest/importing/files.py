"""Reading an import file: its fingerprint, its format, and its rows a chunk at a time.

Nothing here holds a whole file: text files are decoded and split into fields by the
standard library's CSV reader as they are read (quotes removed, separators and line breaks
inside quotes kept), and handed on in chunks of numbered rows — each numbered by the physical
line it starts on, so bad rows are reported where an editor shows them; Parquet files in
record batches numbered from 1.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from _csv import Reader

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
def text_rows(
    path: Path, chunk_rows: int, separator: str
) -> Iterator[tuple[list[str], Iterator[pl.DataFrame]]]:
    """The header's fields, and the non-blank rows after it in chunks of at most ``chunk_rows``
    (columns ``line``, ``fields`` and ``malformed``: the CSV reader's complaint about a row it
    could not split, whose ``fields`` are then empty), read and decoded as the chunks are
    taken."""
    encoding = _encoding(path)
    # newline="" hands the reader the line ends, so it keeps the ones inside quoted fields
    with path.open(encoding=encoding, newline="") as stream:
        numbered = _rows(csv.reader(stream, delimiter=separator, strict=True), path, encoding)
        first = next(numbered, None)
        if first is None:
            raise ImportFileError("the file is empty")
        line, header, malformed = first
        if malformed:
            raise ImportFileError(f"{path.name}: the header on line {line} is {malformed}")
        yield header, _chunks(numbered, chunk_rows)


_Row = tuple[int, list[str], str | None]


def _rows(reader: Reader, path: Path, encoding: str) -> Iterator[_Row]:
    """Each row with the line it starts on; a row the reader refuses is kept as malformed, so
    it is reported like any other bad row and the rows after it are still read."""
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # an unclosed quote takes the lines after it into its field: say how many went
            end = reader.line_num
            span = f" (the row runs on to line {end})" if end > line else ""
            yield line, [], f"malformed CSV: {exc}{span}"
            continue
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path.name}: not {encoding} text ({exc.reason})") from exc
        if len(fields) > 1 or (fields and fields[0].strip()):  # blank lines are no rows
            yield line, fields, None


def _chunks(numbered: Iterator[_Row], size: int) -> Iterator[pl.DataFrame]:
    # Fields are gathered into one flat list and sliced into rows by polars: it converts
    # Python lists of lists element by element, and holding each row's list until the chunk
    # is built keeps the garbage collector busy; both cost several times the reading.
    while True:
        lines: list[int] = []
        widths: list[int] = []
        values: list[str] = []
        complaints: list[str | None] = []
        for line, fields, malformed in islice(numbered, size):
            lines.append(line)
            widths.append(len(fields))
            values.extend(fields)
            complaints.append(malformed)
        if not lines:
            return
        width = pl.col("width")
        yield pl.DataFrame(
            {
                "line": pl.Series(lines, dtype=pl.UInt32),
                "width": pl.Series(widths, dtype=pl.Int64),
                "malformed": pl.Series(complaints, dtype=pl.String),
            }
        ).select(
            "line",
            pl.lit(pl.Series(values, dtype=pl.String).implode())
            .list.slice(width.cum_sum() - width, width)
            .alias("fields"),
            "malformed",
        )


def first_line(path: Path) -> str:
    """The file's first line as text, for telling its format."""
    encoding = _encoding(path)
    with path.open(encoding=encoding) as stream:
        try:
            return stream.readline().rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path.name}: not {encoding} text ({exc.reason})") from exc


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
