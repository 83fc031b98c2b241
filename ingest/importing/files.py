"""Reading an import file: its fingerprint, its text lines, and which format it is in."""

from __future__ import annotations

import codecs
import hashlib
from enum import StrEnum
from pathlib import Path

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


def text_lines(path: Path) -> list[str]:
    """The file's lines; MetaTrader writes UTF-16 with a byte-order mark, others UTF-8."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding).splitlines()
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name}: not {encoding} text ({exc.reason})") from exc


def detect_format(path: Path, requested: FileFormat) -> FileFormat:
    if requested is not FileFormat.AUTO:
        return requested
    if path.suffix.lower() in (".parquet", ".pq"):
        return FileFormat.PARQUET
    lines = text_lines(path)
    first = lines[0].lstrip() if lines else ""
    return FileFormat.MT5 if first.startswith("<DATE>") else FileFormat.CSV


def symbol_from_name(path: Path) -> str | None:
    """MetaTrader names exports ``EURUSD_202401020000_202401022359.csv``."""
    stem = path.stem.split("_", 1)[0].strip()
    return stem.upper() if stem.isalnum() else None
