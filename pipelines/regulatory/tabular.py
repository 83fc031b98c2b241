"""CSV files of report records, and their validation against per-column formats.

The CSV twin of each file is what compliance staff open in a spreadsheet, and what an ARM
or trade repository takes where it accepts CSV: one header, one row per record.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Layout:
    columns: tuple[str, ...]
    required: frozenset[str] = frozenset()  # non-empty on every row
    formats: Mapping[str, str] = field(default_factory=dict)  # column -> regex, when filled


def write(layout: Layout, rows: Sequence[Mapping[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=layout.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def validate(layout: Layout, content: bytes) -> list[str]:
    """What is wrong with a file (empty when it is right): header, then each row's cells."""
    reader = csv.reader(io.StringIO(content.decode()))
    header = next(reader, None)
    if header != list(layout.columns):
        return [f"header differs from the {len(layout.columns)} expected columns"]
    problems: list[str] = []
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(layout.columns):
            problems.append(f"line {line}: {len(cells)} cells, {len(layout.columns)} expected")
            continue
        row = dict(zip(layout.columns, cells, strict=True))
        problems += [f"line {line}: {name} is empty" for name in layout.required if not row[name]]
        problems += [
            f"line {line}: {name} {row[name]!r} does not match {pattern}"
            for name, pattern in layout.formats.items()
            if row[name] and not re.fullmatch(pattern, row[name])
        ]
    return problems
