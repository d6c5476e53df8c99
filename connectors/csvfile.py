"""The one reader of vendor CSV exports (contract B.3, D.2, E.2, F.1, F.2).

Encoding per contract J (BOM, UTF-8, GBK/GB18030), comma separated, a header
row naming the columns. Columns are matched by name, so a vendor that
reorders them is still read; a missing column makes the whole file unusable.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence

from connectors.base import FileRejected, decode_text


class _Lines:
    """Feeds csv.reader line by line and remembers the raw text of the current row."""

    def __init__(self, text: str):
        self._it = iter(text.splitlines(keepends=True))
        self.raw: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.raw.append(line)
        return line


def read_csv(data: bytes, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """Yield (record_no, row by column name or None when the field count is wrong, raw text).

    record_no counts data rows from 1 (the header is 0). Blank lines are passed over.
    Raises FileRejected(field_count) when the header lacks one of `columns`.
    """
    lines = _Lines(decode_text(data))
    reader = csv.reader(lines)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise FileRejected("field_count", "the file is empty (no header row)") from None
    lines.raw.clear()  # the header is no record's raw text
    missing = [c for c in columns if c not in header]
    if missing:
        raise FileRejected(
            "field_count", f"header lacks column(s) {', '.join(missing)} (has {', '.join(header) or 'nothing'})"
        )
    index = [header.index(c) for c in columns]
    width = len(header)
    record_no = 0
    for row in reader:
        raw = "".join(lines.raw).rstrip("\r\n")
        lines.raw.clear()
        if not row or all(not f.strip() for f in row):
            continue
        record_no += 1
        if len(row) != width:
            yield record_no, None, raw
            continue
        yield record_no, {c: row[i].strip() for c, i in zip(columns, index, strict=True)}, raw
