"""The building blocks of canonical records: schemas, records, rejects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Column:
    """One column of a canonical record: its name and PostgreSQL type."""

    name: str
    pg_type: str


@dataclass(frozen=True)
class RecordSchema:
    """A canonical table: the staging table `stage_<name>` has these columns."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


class Record(NamedTuple):
    """One good record: which canonical table, which record of the file, the values."""

    target: str
    record_no: int
    values: tuple[Any, ...]


class Reject(NamedTuple):
    """One bad record: kept in quarantine with its raw text and a reason code (contract I.1)."""

    record_no: int
    reason: str
    raw: str
    detail: str = ""


@dataclass
class Block:
    """Many files' good records of one canonical table at once, column by column: the columnar twin of `Record`.

    A stream that can read a whole batch of files in bulk (`read_block`) returns one; row i
    came from input file `file_of[i]` (its index in the list the stream was given), record
    `record_no[i]` of that file. Each column of the target is dictionary-encoded: `(codes,
    values)`, the row's value being `values[codes[i]]`, values being what a `Record` would
    hold. A block holds only files read whole without a single reject; `infos` has each
    one's header.
    """

    target: str
    infos: dict[int, FileInfo]  # input index -> the file's header, for every file in the block
    file_of: Any  # numpy int array, one per row
    record_no: Any  # numpy int array, one per row
    columns: tuple[tuple[Any, list], ...]  # per column of the target: (numpy int codes per row, distinct values)

    @property
    def rows(self) -> int:
        return len(self.file_of)


@dataclass
class FileInfo:
    """What a file says about itself (its header), yielded before its records."""

    mine_code: str | None = None
    produced_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SCHEMAS: dict[str, RecordSchema] = {}


def schema(name: str, columns: list[tuple[str, str]], key: tuple[str, ...], description: str = "") -> RecordSchema:
    """Declare and register a canonical record schema."""
    rs = RecordSchema(name, tuple(Column(n, t) for n, t in columns), key, description)
    if name in SCHEMAS and SCHEMAS[name] != rs:
        raise ValueError(f"schema {name} declared twice with different columns")
    SCHEMAS[name] = rs
    return rs
