"""The one load path every feed goes through.

    landing file ─► ledger row + archived bytes ─► connector.read ─► records ─► COPY to staging ─► merge SQL
                                                                  └► rejects ─► quarantine

1. `archived` keeps a landing file's bytes in the archive under their sha256,
   and `LoadPath.enter` enters it in the ledger once they are on disk, before
   anything is parsed (minewatch.pipeline archives ahead in a thread). The
   same path with the same content is a replay: nothing happens. The same
   content under another name is recorded as a duplicate and not loaded again.
2. `load_batch` parses whole files of one feed, kind and mine (`parse`: records
   become COPY text, written by a line encoder compiled per target), COPYs
   them into temporary staging tables `stage_<target>`, runs
   `sql/merge/<target>.sql` for each target, stores the rejects in quarantine
   and marks the files loaded, all in one transaction (`commit`). If the batch
   fails it is retried in halves, down to single files, so one bad file cannot
   hold back the others, and a file that fails alone is marked `failed` with a
   one-line error and retried on the next run. A failure leaves the warehouse
   as it was.
3. Between parsing and staging, `minewatch.validation` runs the batch's
   expectation suites: a critical failure of a batch of several files is a
   failure (retried in halves); of one file, it holds the file whole in
   quarantine (`expectation_failed`). Results are kept in schema `quality`.
4. The hot path (DIRECT, safety readings): a batch's rows are spooled in the
   table's key order (a bulk read's as compact blocks, rendered as COPY text
   while the server reads them), and when the warehouse says the merge would
   only insert (every point defined, nothing stored in the batch's time span)
   they are COPYed straight into the final table, inside a savepoint: a key
   twice in the batch rolls back to it and the batch is staged and merged as above.

`parse` and `commit` are the two halves of `load_batch`; minewatch.pipeline runs
them apart (a committer thread on a second connection, a checker process for the
expectation suites) to spread a large run over the machine's cores.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extras import execute_values

from connectors.base import FileIncomplete, FileRejected
from connectors.catalog import RESTATED_KINDS, Match, identify, match
from minewatch import archive, validation
from minewatch.config import Settings
from minewatch.warehouse import sql_dir
from schemas import SCHEMAS, Block, FileInfo, Record, Reject

log = logging.getLogger(__name__)

# a replay of a delivery in one of these states is a no-op; an unrecognized file is looked at
# again on every run (a newer minewatch may know its pattern) and reported again
FINAL_STATUSES = ("loaded", "duplicate", "quarantined", "discarded")
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # bytes of COPY text kept in memory before spilling to disk
COPY_CHUNK = 1024 * 1024  # bytes handed to the server per COPY message
BLOCK_FILES = 8  # a batch of at least this many files of a stream with `read_block` is read in bulk,
BLOCK_BYTES = 6 * 1024 * 1024  # ... this many bytes of files at a time
LINES_AT_ONCE = 8192  # COPY lines of one file gathered before they are written to the spool


AfterLoad = Callable[[Any, "Outcome"], None]  # (cursor in the batch's transaction, its outcome)


@dataclass
class Delivery:
    """A ledger row that is to be loaded."""

    file_id: int
    path: str
    sha256: str
    match: Match
    size: int = 0  # bytes, as registered (batches are cut by size as well as by count)


@dataclass
class Outcome:
    """What a run did: files by status, rows loaded and rejected, and one line per problem."""

    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows_loaded: int = 0
    rows_rejected: int = 0
    problems: list[str] = field(default_factory=list)
    loaded_file_ids: list[int] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)  # one line per alert mail sent or written

    def merge(self, other: Outcome) -> None:
        for k, v in other.files.items():
            self.files[k] += v
        self.rows_loaded += other.rows_loaded
        self.rows_rejected += other.rows_rejected
        self.problems.extend(other.problems)
        self.loaded_file_ids.extend(other.loaded_file_ids)
        self.mails.extend(other.mails)


# --- COPY text encoding --------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\\\x00"})


def _copy_text(v) -> str:
    """One value in PostgreSQL COPY text format."""
    if v is None:
        return "\\N"
    t = type(v)
    if t is str:
        if "\\" in v or "\t" in v or "\n" in v or "\r" in v or "\x00" in v:
            return v.translate(_ESCAPES)
        return v
    if t is int or t is Decimal:
        return str(v)
    if t is float:
        return repr(v)
    if t is bool:
        return "t" if v else "f"
    if t is datetime or t is date:
        return v.isoformat()
    if t is dict or t is list:
        return json.dumps(v, ensure_ascii=False, default=str).translate(_ESCAPES)
    return str(v).translate(_ESCAPES)


_REMEMBERED = 4096  # distinct values of one column kept with their text (point codes, sample times, …)


def _remember(cache: dict, v, kind: type) -> str:
    """_copy_text(v), kept for the next equal value of the column when v is of the column's usual type."""
    text = _copy_text(v)
    if type(v) is kind and not (kind is float and v == 0.0):  # 0.0 == -0.0, but their texts differ
        if len(cache) >= _REMEMBERED:
            cache.clear()
        cache[v] = text
    return text


def _remember_time(cache: dict, zone: list, v) -> str:
    """_copy_text(v), kept for the next equal time of the column with the same fixed-offset zone object."""
    text = _copy_text(v)
    if type(v) is datetime and (v.tzinfo is None or type(v.tzinfo) is timezone):
        if v.tzinfo is not zone[0] or len(cache) >= _REMEMBERED:
            cache.clear()  # equal times of another zone are other texts (another offset): one zone at a time
            zone[0] = v.tzinfo
        cache[v] = text
    return text


# one inline expression per column type, {x} the value and {c} the column's cache ({c}z: the zone of the
# times in it); any value not of the column's usual type goes through _copy_text, and a remembered text
# is only used for an equal value of the same type (and zone), so the text is always what _copy_text writes
_TIME = ("({c}.get({x}) if {x}.__class__ is datetime and {x}.tzinfo is {c}z[0] else None)"
         " or _remember_time({c}, {c}z, {x})")
_INLINE = {
    "text": "({c}.get({x}) if {x}.__class__ is str else None) or _remember({c}, {x}, str)",
    "timestamptz": _TIME,
    "timestamp with time zone": _TIME,
    "timestamp": _TIME,
    "date": "({c}.get({x}) if {x}.__class__ is date else None) or _remember({c}, {x}, date)",
    "double precision": "({c}.get({x}) if {x}.__class__ is float else None) or _remember({c}, {x}, float)",
    "real": "({c}.get({x}) if {x}.__class__ is float else None) or _remember({c}, {x}, float)",
    "integer": "str({x}) if {x}.__class__ is int else _copy_text({x})",
    "smallint": "str({x}) if {x}.__class__ is int else _copy_text({x})",
    "bigint": "str({x}) if {x}.__class__ is int else _copy_text({x})",
    "boolean": "'t' if {x} is True else 'f' if {x} is False else _copy_text({x})",
}

Encode = Callable[[str, int, tuple], str]


def line_encoder(pg_types: Iterable[str]) -> Encode:
    """`encode(prefix, record_no, values)`: one COPY text line for records of these column types.

    The same text as `prefix + record_no + tab + tab-joined _copy_text(values)`, about four
    times faster: the function is compiled once per target into a single f-string with one
    inline expression per column, and the text of repeated values (codes, times) is remembered.
    """
    types = list(pg_types)
    names = [f"x{i}" for i in range(len(types))]
    parts = [_INLINE.get(t, "_copy_text({x})").format(x=x, c=f"c{i}")
             for i, (t, x) in enumerate(zip(types, names, strict=True))]
    body = "\\t".join("{" + p + "}" for p in parts)
    caches = ", ".join(f"c{i}={{}}, c{i}z=[0]" for i in range(len(types)))  # [0]: no zone yet
    source = (
        f"def encode(prefix, no, values, {caches}):\n"
        f"    if len(values) != {len(types)}:\n"
        "        return prefix + str(no) + '\\t' + '\\t'.join(map(_copy_text, values)) + '\\n'\n"
        f"    {', '.join(names)}{',' if len(names) == 1 else ''} = values\n"
        f"    return f\"{{prefix}}{{no}}\\t{body}\\n\"\n"
    )
    scope = {"_copy_text": _copy_text, "_remember": _remember, "_remember_time": _remember_time, "datetime": datetime,
             "date": date, "float": float}
    exec(compile(source, f"<COPY line of {len(types)} columns>", "exec"), scope)  # noqa: S102 - our own template
    return scope["encode"]


def block_text(block: Block, file_ids: list[int], without_last: bool = False) -> Iterator[bytes]:
    """A Block's rows as COPY text lines: what `line_encoder` writes for the same records, built with numpy.

    Each line is file_id, record_no, then the target's columns (`without_last`: but its last),
    in the block's row order.
    """
    columns = [(block.file_of, [str(f).encode() for f in file_ids]),
               (block.record_no, [str(n).encode() for n in range(int(block.record_no.max()) + 1)]
                if block.rows else [])]
    columns += [(codes, [_copy_text(v).encode("utf-8", "replace") for v in values])
                for codes, values in (block.columns[:-1] if without_last else block.columns)]
    return _assemble(columns, block.rows)  # chunk by chunk: the whole text is never held at once


def by_key(block: Block, columns: Iterable[int]) -> Block:
    """The block's rows sorted by these columns' values, then in delivery order (file, record number)."""
    import numpy as np

    keys = []
    for col in columns:
        codes, values = block.columns[col]
        order = sorted(range(len(values)), key=lambda k: (values[k] is not None, values[k]))
        rank = np.empty(len(values), dtype=np.int64)
        dense, last = -1, object()
        for k in order:  # equal values (two spellings of one time) share a rank
            if values[k] != last or dense < 0:
                dense, last = dense + 1, values[k]
            rank[k] = dense
        keys.append(rank[codes])
    order = np.lexsort((block.record_no, block.file_of, *reversed(keys)))
    return Block(block.target, block.infos, block.file_of[order], block.record_no[order],
                 tuple((codes[order], values) for codes, values in block.columns))


ASSEMBLE_ROWS = 16384  # lines built at once by _assemble (a few MB of work space)
_FILL = 0xFF  # a byte UTF-8 text never holds: pads each value to its column's widest, then is dropped


def _assemble(columns: list[tuple[Any, list[bytes]]], rows: int) -> Iterator[bytes]:
    """Tab-separated, newline-ended lines from dictionary-encoded columns: (codes per row, text per code).

    Each line is first laid out at a fixed width (every value padded to its column's widest
    text with a byte that never occurs in UTF-8), all lines as one matrix, then the padding
    is dropped: a handful of numpy operations over the whole text, whatever the row count.
    """
    import numpy as np

    tables, offsets, width = [], [], 0
    for j, (_codes, texts) in enumerate(columns):
        widest = max((len(t) for t in texts), default=0)
        after = ord("\n") if j == len(columns) - 1 else ord("\t")
        table = np.full((len(texts), widest + 1), _FILL, dtype=np.uint8)  # each text, then the tab (newline) after it
        for k, t in enumerate(texts):
            table[k, :len(t)] = np.frombuffer(t, dtype=np.uint8)
            table[k, len(t)] = after
        tables.append(table)
        offsets.append(width)
        width += widest + 1
    for start in range(0, rows, ASSEMBLE_ROWS):
        stop = min(rows, start + ASSEMBLE_ROWS)
        lines = np.empty((stop - start, width), dtype=np.uint8)
        for (codes, _), table, at in zip(columns, tables, offsets, strict=True):
            lines[:, at:at + table.shape[1]] = np.take(table, codes[start:stop], axis=0)
        flat = lines.ravel()
        yield flat[flat != _FILL].tobytes()


class Spool:
    """The rows of one target in a batch, as COPY text: in memory, and on disk only beyond a bound.

    Rows come as text lines (`write`, `write_lines`) or as whole blocks of a bulk read
    (`write_block`), which are kept dictionary-encoded, a few bytes a row, and turned into COPY
    text only as they are read (`reader`, `copy_into`): a batch's text is never held whole, and
    never touches the disk, where it would also lengthen the archive's flushes (`archive.sync`
    flushes every file system buffer). Blocks come first, then the text lines.

    Another process reads a spool by file name: `handed` writes the whole text to a named file
    (a snapshot: parsing is over by then), which `Spool.reading` opens there; the name is
    removed when the spool that made it is closed.
    """

    def __init__(self) -> None:
        self.path: str | None = None
        self.buf = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+b")
        self.blocks: list[tuple[Block, list[int]]] = []  # (block, the batch's file ids), rendered when read
        self.block_rows = 0
        self.rows = 0
        self._handed_rows = -1

    def __getstate__(self) -> dict:  # the spool itself handed over: the receiver owns the file from then on
        self.handed()
        return {"path": self.path, "rows": self.rows}

    def __setstate__(self, state: dict) -> None:
        self.path, self.rows = state["path"], state["rows"]
        self.blocks, self.block_rows, self._handed_rows = [], 0, self.rows
        self.buf = open(self.path, "r+b")  # noqa: SIM115 - closed with the spool
        self.buf.seek(0, os.SEEK_END)

    def handed(self) -> tuple[str, int]:
        """(file name, rows) for another process to read the spool by (`Spool.reading`)."""
        if self._handed_rows != self.rows:
            if self.path is None:
                fd, self.path = tempfile.mkstemp(prefix="minewatch-spool-")
                os.close(fd)
            with open(self.path, "wb") as fh:
                shutil.copyfileobj(self.reader(), fh, COPY_CHUNK)
            self._handed_rows = self.rows
        return self.path, self.rows

    @classmethod
    def reading(cls, path: str | None, rows: int) -> Spool:
        """Another process's spool, to read (closing it leaves the file to its maker).

        With no file name, a spool of `rows` rows whose text the reader has no need of (it
        has the rows another way): empty.
        """
        spool = cls.__new__(cls)
        spool.path, spool.rows, spool.blocks, spool.block_rows, spool._handed_rows = None, rows, [], 0, rows
        spool.buf = open(path, "rb") if path is not None else io.BytesIO()  # noqa: SIM115 - closed with the spool
        spool.buf.seek(0, os.SEEK_END)
        return spool

    def write(self, prefix: str, values: Iterable) -> None:
        self.buf.write((prefix + "\t".join(map(_copy_text, values)) + "\n").encode("utf-8", "replace"))
        self.rows += 1

    def write_block(self, block: Block, file_ids: list[int]) -> None:
        """A bulk read's rows (file i of the block is the batch's file file_ids[i]), before any text line."""
        if self.rows != self.block_rows:
            raise ValueError("a block must be written before the spool's text lines")
        self.blocks.append((compact(block), file_ids))
        self.block_rows += block.rows
        self.rows += block.rows

    def write_lines(self, lines: list[str]) -> None:
        """Lines made by a `line_encoder`, written at once."""
        if lines:
            self.buf.write("".join(lines).encode("utf-8", "replace"))
            self.rows += len(lines)

    def mark(self) -> tuple[int, int]:
        return self.buf.tell(), self.rows

    def rewind_to(self, mark: tuple[int, int]) -> None:
        """Back to what the spool held at `mark`: text lines are undone by file; blocks only all at once, to (0, 0)."""
        if mark[1] < self.block_rows:
            if mark != (0, 0):
                raise ValueError("a spool's blocks are undone all at once")
            self.blocks, self.block_rows = [], 0
        self.buf.seek(mark[0])
        self.buf.truncate()
        self.rows = mark[1]

    def reader(self, drop_last: Iterable[str] = ()) -> _SpoolText:
        """The spool's whole text, to `read` in chunks (its blocks', then its lines').

        `drop_last`: the encoded values the lines' last column takes, which the reader wants
        without it (each line is given without its last column).
        """
        return _SpoolText(self, list(drop_last))

    def copy_into(self, cur, table: str, columns: list[str], drop_last: Iterable[str] = ()) -> None:
        """COPY the spool into a table (`drop_last`: see `reader`)."""
        name = sql.Identifier(*table.split(".", 1))
        cols = sql.SQL(", ").join(map(sql.Identifier, columns))
        cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(name, cols).as_string(cur), self.reader(drop_last),
                        size=COPY_CHUNK)

    def close(self) -> None:
        self.blocks = []
        self.buf.close()
        if self.path is not None:  # never handed over: its name is still ours to remove
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None


class _SpoolText:
    """A spool's text read in chunks: each block rendered as it comes, then the lines written as text."""

    def __init__(self, spool: Spool, drop_last: list[str]):
        self.spool = spool
        self.chunks = self._chunks(drop_last)
        self.pending, self.at = b"", 0  # text made and not read yet: pending[at:]

    def _chunks(self, drop_last: list[str]) -> Iterator[bytes]:
        for block, file_ids in self.spool.blocks:
            yield from block_text(block, file_ids, without_last=bool(drop_last))
        buf = self.spool.buf
        end = buf.tell()
        buf.seek(0)
        try:
            lines = _WithoutLastColumn(buf, drop_last) if drop_last else buf
            while chunk := lines.read(COPY_CHUNK):
                yield chunk
        finally:
            buf.seek(end)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out, self.pending, self.at = self.pending[self.at:] + b"".join(self.chunks), b"", 0
            return out
        while len(self.pending) - self.at < size:
            more = next(self.chunks, b"")
            if not more:
                break
            self.pending, self.at = self.pending[self.at:] + more, 0
        out = self.pending[self.at:self.at + size]  # each byte copied once more, not once per read
        self.at += len(out)
        return out


def compact(block: Block) -> Block:
    """The block with each integer array in the smallest type its values fit (a few bytes a row in all)."""
    import numpy as np

    def small(codes, bound: int):
        return codes.astype(np.min_scalar_type(max(bound, 0)), copy=False)

    rows = block.rows
    return Block(block.target, block.infos, small(block.file_of, int(block.file_of.max()) if rows else 0),
                 small(block.record_no, int(block.record_no.max()) if rows else 0),
                 tuple((small(codes, len(values) - 1), values) for codes, values in block.columns))


class _WithoutLastColumn:
    """A spool read in chunks of whole lines, each sent without its last column (one of a few known texts)."""

    def __init__(self, buf, texts: Iterable[str]):
        self.buf = buf
        self.tails = [f"\t{t}\n".encode("utf-8", "replace") for t in texts]
        self.rest = b""

    def read(self, size: int = COPY_CHUNK) -> bytes:
        chunk = self.rest + self.buf.read(size)
        cut = chunk.rfind(b"\n") + 1
        while cut == 0 and chunk:  # a line longer than the chunk
            more = self.buf.read(size)
            if not more:
                cut = len(chunk)
                break
            chunk += more
            cut = chunk.rfind(b"\n") + 1
        chunk, self.rest = chunk[:cut], chunk[cut:]
        for tail in self.tails:
            chunk = chunk.replace(tail, b"\n")
        return chunk


# --- straight into the table -----------------------------------------------------------------


@dataclass(frozen=True)
class Direct:
    """A target whose batches may skip staging and merging: COPY straight into its table.

    `check` is a SQL function of the batch's (mine, point) pairs and sample times that says
    whether the merge would do nothing but insert (and prepares the table for the rows);
    the staged merge stays the way for everything else (see sql/migrations/0013).
    """

    table: str
    check: str
    scope: tuple[str, str] = ("mine_code", "point_code")
    time: str = "sampled_at"
    dropped: str = "dialect"  # the schema's last column, which the table does not store
    key: tuple[str, str, str] = ("mine_code", "sampled_at", "point_code")  # the table's primary key, in its order


DIRECT: dict[str, Direct] = {
    # about 4 million readings a mine-day (500 points every 10 s): the hot path
    "safety_readings": Direct("core.safety_reading", "core.safety_readings_are_new"),
}


class Seen:
    """The lines of a batch for a Direct target, by (mine, sample time), and what the direct check needs of them.

    The lines are written to the spool sorted by (mine, time) and, within one, in delivery
    order (a cycle file's points as the vendor lists them): about the primary key's order
    (mine, time, point). A new cycle's rows then append at the right edge of the key's index
    (see sql/migrations/0014); a bulk read (`by_key`) sorts the points within a time too.
    """

    MAX_TAILS = 8  # distinct values of the dropped column a direct COPY strips; more: stage and merge
    MAX_LINES = 500_000  # lines held for sorting before a sorted run is written out (memory stays bounded)
    BIG_FILE = 16 * 1024 * 1024  # bytes: a file this large starts a sorted run of its own (it may need to be undone)

    def __init__(self, names: tuple[str, ...], direct: Direct):
        if names[-1] != direct.dropped:
            raise ValueError(f"{direct.table}: the dropped column {direct.dropped} must be the schema's last")
        self.mine, self.point = names.index(direct.scope[0]), names.index(direct.scope[1])
        self.time = names.index(direct.time)
        self.lines: dict[tuple, list[str]] = {}  # (mine, time) -> lines of the files parsed so far
        self.held = 0  # lines in self.lines
        self.scopes: set[tuple] = set()  # every (mine, point) of the batch, written out or not
        self.times: set = set()
        self.tails: set = set()
        self.odd = False  # a value that cannot be told apart (unhashable): never direct

    def write(self, spool: Spool) -> None:
        """The lines held so far into the spool, sorted by (mine, time)."""
        self.times.update(time for _, time in self.lines)
        for key in sorted(self.lines):
            spool.write_lines(self.lines[key])
        self.lines.clear()
        self.held = 0

    def forget(self, prefix: str) -> None:
        """Drop the lines of a file that is not loaded after all (they are the last ones of their points)."""
        for bucket in self.lines.values():
            while bucket and bucket[-1].startswith(prefix):
                bucket.pop()
                self.held -= 1

    def usable(self) -> bool:
        return (not self.odd and 0 < len(self.tails) <= self.MAX_TAILS
                and all(type(m) is str and type(p) is str for m, p in self.scopes)
                and all(type(t) is datetime and t.tzinfo is not None for t in self.times))


@functools.cache
def _encoder(target: str) -> Encode:
    return line_encoder(c.pg_type for c in SCHEMAS[target].columns)


@dataclass
class ParsedBatch:
    """A batch parsed (and validated) and not yet committed: COPY text per target, rejects, each file's fate."""

    batch: list[Delivery]
    targets: list[str]
    spools: dict[str, Spool] = field(init=False)
    rejects: Spool = field(init=False)
    encoders: dict[str, Encode] = field(init=False)
    seen: dict[str, Seen] = field(init=False)
    # file_id -> good records, rejected records, header
    parsed: dict[int, tuple[int, int, FileInfo | None]] = field(default_factory=dict)
    held: list[tuple[Delivery, str, str]] = field(default_factory=list)  # whole files: delivery, reason, detail
    pending: list[Delivery] = field(default_factory=list)  # files without their trailer yet
    verdict: validation.Verdict | None = None
    # target -> its rows as a Block (in spool order) with the batch's file ids, when a bulk read gave all of
    # them: validation builds its frame from it instead of reading the COPY text back
    blocks: dict[str, tuple[Block, list[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spools = {t: Spool() for t in self.targets}
        self.rejects = Spool()
        self.encoders = {t: _encoder(t) for t in self.targets}
        self.seen = {t: Seen(SCHEMAS[t].column_names, DIRECT[t]) for t in self.targets if t in DIRECT}


    def __getstate__(self) -> dict:
        return {**self.__dict__, "encoders": {}}  # compiled per process; a parsed batch needs them no more

    def close(self) -> None:
        for s in (*self.spools.values(), self.rejects):
            s.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def merge_sql(target: str) -> str:
    path = sql_dir() / "merge" / f"{target}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no merge SQL for {target} (expected {path})")
    return path.read_text()


def parse_files(batch: list[Delivery], archive_dir: Path) -> ParsedBatch:
    """A batch's files parsed into COPY text per target and rejects, nothing validated or written yet."""
    work = ParsedBatch(batch, [s.name for s in batch[0].match.stream.outputs])
    try:
        rest = batch
        if len(batch) >= BLOCK_FILES and hasattr(batch[0].match.stream, "read_block"):
            rest = _parse_block(batch, work, archive_dir)
        for d in rest:
            _parse_file(d, work, archive_dir)
        for target, seen in work.seen.items():
            seen.write(work.spools[target])
        if rest is not batch:  # the files in delivery order, whichever way each was read
            work.parsed = {d.file_id: work.parsed[d.file_id] for d in batch if d.file_id in work.parsed}
    except BaseException:
        work.close()
        raise
    return work


def validate_parsed(path, work: ParsedBatch) -> ParsedBatch:
    """Run the batch's expectation suites over a parsed batch (raises for a bad batch of several files)."""
    try:
        apply_verdict(work, validation.validate_batch(path, work.batch, work.spools, work.rejects, work.parsed,
                                                      work.blocks))
    except BaseException:
        work.close()
        raise
    return work


def apply_verdict(work: ParsedBatch, verdict: validation.Verdict | None) -> None:
    """Keep the verdict with the batch; a single file that failed a critical expectation is held whole."""
    if verdict is not None and verdict.held:
        for s in (*work.spools.values(), work.rejects):
            s.rewind_to((0, 0))
        work.held.append((next(d for d in work.batch if d.file_id in work.parsed), "expectation_failed",
                          verdict.detail()))
        work.parsed.clear()
    work.verdict = verdict
    work.blocks = {}  # validation's: the commit needs the COPY text only


def _parse_block(batch: list[Delivery], work: ParsedBatch, archive_dir: Path) -> list[Delivery]:
    """Read a batch's files in bulk with the stream's `read_block`; return those it leaves to `_parse_file`.

    A few megabytes of files at a time (BLOCK_BYTES), each group's rows written in the table's
    key order: files come in time order, so the groups follow each other in that order too, and
    memory stays bounded whatever the batch's size.
    """
    stream = batch[0].match.stream
    rest: list[int] = []
    blocks: list[Block] = []
    start = 0
    while start < len(batch):
        stop, size = start, 0
        while stop < len(batch) and (stop == start or size + batch[stop].size <= BLOCK_BYTES):
            size += batch[stop].size
            stop += 1
        group = batch[start:stop]
        block, left = stream.read_block((archive.fetch(archive_dir, d.sha256), d.match.context) for d in group)
        rest += [start + i for i in left]
        if block is not None and block.rows:
            blocks.append(_write_block(work, batch, start, block))
        start = stop
    if blocks and not rest:  # every row of the batch came in bulk: validation builds its frame from them
        work.blocks[blocks[0].target] = (compact(concat_blocks(blocks)), [d.file_id for d in batch])
    return [batch[i] for i in rest]


def _write_block(work: ParsedBatch, batch: list[Delivery], start: int, block: Block) -> Block:
    """A group's block (file indexes from `start` in the batch) into the batch's spool; the block, in spool order."""
    import numpy as np

    block = Block(block.target, {start + i: info for i, info in block.infos.items()}, block.file_of + start,
                  block.record_no, block.columns)
    target = block.target
    names = SCHEMAS[target].column_names
    seen = work.seen.get(target)
    direct = DIRECT.get(target)
    if direct is not None:  # in the table's key order (see Seen)
        block = by_key(block, [names.index(c) for c in direct.key])
    work.spools[target].write_block(block, [d.file_id for d in batch])
    per_file = np.bincount(block.file_of, minlength=len(batch))
    for i, info in block.infos.items():
        work.parsed[batch[i].file_id] = (int(per_file[i]), 0, info)
    if seen is not None:  # (codes are small integers: which occur is a bincount, not a sort)
        (mine_codes, mines), (point_codes, points) = (block.columns[names.index(c)] for c in direct.scope)
        pairs = _present(mine_codes.astype(np.int64) * len(points) + point_codes, len(mines) * len(points))
        seen.scopes.update((mines[k // len(points)], points[k % len(points)]) for k in pairs)
        time_codes, times = block.columns[names.index(direct.time)]
        seen.times.update(times[t] for t in _present(time_codes, len(times)))
        tail_codes, tails = block.columns[-1]
        seen.tails.update(tails[t] for t in _present(tail_codes, len(tails)))
    return block


def concat_blocks(blocks: list[Block]) -> Block:
    """Blocks of one target as one, rows in order; equal values (by their COPY text) share a code."""
    import numpy as np

    if len(blocks) == 1:
        return blocks[0]
    columns = []
    for j in range(len(blocks[0].columns)):
        index: dict[tuple, int] = {}
        values: list = []
        parts = []
        for b in blocks:
            codes, vals = b.columns[j]
            remap = np.empty(len(vals), dtype=np.int32)
            for k, v in enumerate(vals):
                key = (type(v), _copy_text(v))
                at = index.get(key)
                if at is None:
                    at = index[key] = len(values)
                    values.append(v)
                remap[k] = at
            parts.append(remap[codes])
        columns.append((np.concatenate(parts), values))
    infos = {i: info for b in blocks for i, info in b.infos.items()}
    return Block(blocks[0].target, infos, np.concatenate([b.file_of for b in blocks]),
                 np.concatenate([b.record_no for b in blocks]), tuple(columns))


def _present(codes, size: int) -> list[int]:
    """Which of the codes 0..size-1 occur."""
    import numpy as np

    return np.flatnonzero(np.bincount(codes, minlength=size)).tolist()


def _parse_file(d: Delivery, work: ParsedBatch, archive_dir: Path) -> None:
    """One file's records into the batch's spools (as COPY text) and its rejects.

    Nothing of the file stays when it is held whole or waits for its trailer.
    """
    data = archive.fetch(archive_dir, d.sha256)
    spools, rejects = work.spools, work.rejects
    for target, seen in work.seen.items():
        if seen.held >= Seen.MAX_LINES // 2 or len(data) >= Seen.BIG_FILE:
            seen.write(spools[target])  # a sorted run of the files before this one
    marks = {t: s.mark() for t, s in spools.items()}
    reject_mark = rejects.mark()
    lines: dict[str, list[str]] = {t: [] for t in spools}
    good = bad = 0
    info: FileInfo | None = None
    prefix = f"{d.file_id}\t"
    feed, kind, ctx = d.match.feed, d.match.kind, d.match.context
    mine = ctx.mine_code
    current = None
    out = encode = seen = cycles = scopes = tails = None
    im = ip = it = 0
    try:
        for item in d.match.stream.read(data, ctx):
            if type(item) is Record:
                target, no, values = item
                if target != current:
                    current, out, encode = target, lines[target], work.encoders[target]
                    seen = work.seen.get(target)
                    if seen is not None:
                        im, ip, it = seen.mine, seen.point, seen.time
                        cycles, scopes, tails = seen.lines, seen.scopes, seen.tails
                line = encode(prefix, no, values)
                good += 1
                if seen is not None:
                    try:
                        key = (values[im], values[it])
                        bucket = cycles.get(key)
                        if bucket is None:
                            bucket = cycles[key] = []
                        bucket.append(line)
                        scopes.add((values[im], values[ip]))
                        tails.add(values[-1])
                    except (TypeError, IndexError):  # an unhashable value: no direct COPY for this batch
                        seen.odd = True
                        out.append(line)
                        continue
                    seen.held += 1
                    if seen.held >= Seen.MAX_LINES:  # a huge file: a sorted run of it alone (see BIG_FILE)
                        seen.write(spools[target])
                    continue
                out.append(line)
                if len(out) >= LINES_AT_ONCE:
                    spools[target].write_lines(out)
                    out.clear()
            elif type(item) is Reject:
                rejects.write(prefix, (item.record_no, feed, kind, mine, item.reason, item.detail or None, item.raw))
                bad += 1
            elif type(item) is FileInfo:
                info = item
                mine = item.mine_code or mine
            else:
                raise TypeError(f"connector {kind} yielded {type(item).__name__}")
        for target, rest in lines.items():
            spools[target].write_lines(rest)
    except FileRejected as exc:  # FileIncomplete too: the file waits for its trailer
        for t, s in spools.items():
            s.rewind_to(marks[t])
        rejects.rewind_to(reject_mark)
        for seen in work.seen.values():
            seen.forget(prefix)
        if isinstance(exc, FileIncomplete):
            work.pending.append(d)
        else:
            work.held.append((d, exc.reason, exc.detail))
        return
    work.parsed[d.file_id] = (good, bad, info)


Archived = tuple[str, str, int, str, "Match | None"]  # a delivery's place found, base name, size, sha256, match


def archived(archive_dir: Path, paths: list[Path], outcome: Outcome) -> list[Archived]:
    """Landing files' bytes kept in the archive (not yet made durable: see `archive.sync`), for `LoadPath.enter`.

    A file that cannot be read is left in place and said in `outcome`. No database is touched:
    the pipeline archives the next files in a thread while this one loads.
    """
    seen = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            outcome.files["unreadable"] += 1
            outcome.problems.append(f"{path}: cannot be read ({exc.strerror or exc}); left in place")
            continue
        sha256, _ = archive.store(archive_dir, data, durable=False)
        seen.append((str(path), path.name, len(data), sha256, match(path.name)))
    return seen


class LoadPath:
    """Ledger, archive, staging, merge and quarantine over one warehouse connection."""

    def __init__(self, conn, settings: Settings, accept_failed_expectations: bool = False):
        self.conn = conn
        self.settings = settings
        # an operator's release with --accept: failed expectations are recorded, nothing is held for them
        self.accept_failed_expectations = accept_failed_expectations
        conn.set_client_encoding("UTF8")

    # --- 1. ledger and archive ---------------------------------------------------------------

    def register_bytes(self, origin: str, name: str, data: bytes, outcome: Outcome) -> Delivery | None:
        """Enter bytes that came from elsewhere than a landing folder (a vendor API page) like a file.

        `origin` says where they came from (the request URL) and plays the part of the path:
        the same origin with the same bytes is a replay; `name` must match a pattern of
        `connectors.catalog`, which says how to read them (and lets quarantine re-read them).
        """
        sha256, _ = archive.store(self.settings.archive_dir, data, durable=False)
        deliveries = self.enter([(origin, name, len(data), sha256, match(name))], outcome)
        return deliveries[0] if deliveries else None

    def enter(self, seen: list[Archived], outcome: Outcome, synced: bool = False) -> list[Delivery]:
        """Ledger rows for archived deliveries (made durable first, unless `synced` says they are); the ones to load.

        One transaction and one durable flush of the archive for the whole list: the bytes
        are safe before the ledger says they were received.
        """
        if not seen:
            return []
        if not synced:
            archive.sync()
        deliveries = []
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT path, sha256, file_id, status, restatement FROM ledger.file WHERE path = ANY(%s) ORDER BY file_id",
                ([key for key, _, _, _, _ in seen],),
            )
            known: dict[tuple[str, str], tuple[int, str]] = {}
            pending: dict[str, int] = {}
            latest: dict[str, tuple[str, int]] = {}  # path -> (sha256, restatement) of its latest delivery
            for path, sha256, file_id, status, restatement in cur.fetchall():
                known[(path, sha256)] = (file_id, status)
                if status == "pending":
                    pending[path] = file_id
                latest[path] = (sha256, max(restatement, latest.get(path, ("", 0))[1]))
            cur.execute(
                """SELECT sha256, min(file_id) FROM ledger.file
                    WHERE sha256 = ANY(%s) AND status IN ('loaded', 'quarantined', 'loading') GROUP BY sha256""",
                (list({sha for _, _, _, sha, _ in seen}),),
            )
            originals: dict[str, int] = dict(cur.fetchall())
            restated = sorted({m.kind for _, _, _, _, m in seen if m is not None and m.kind in RESTATED_KINDS})
            current: dict[tuple[str, str], str] = {}  # (kind, mine) -> sha256 of the latest snapshot loaded
            if restated:
                cur.execute(
                    """SELECT DISTINCT ON (kind, coalesce(mine_code, '')) kind, coalesce(mine_code, ''), sha256
                         FROM ledger.file WHERE kind = ANY(%s) AND status IN ('loaded', 'quarantined', 'loading')
                        ORDER BY kind, coalesce(mine_code, ''), file_id DESC""",
                    (restated,),
                )
                current = {(k, m): sha for k, m, sha in cur.fetchall()}
            history = (latest, current)
            fresh = self._insert_new(cur, seen, known, pending, latest)
            for key, name, size, sha256, found in seen:
                delivery = self._register_one(cur, key, name, size, sha256, found, known, pending, originals, outcome,
                                              history, fresh)
                if delivery is not None:
                    deliveries.append(delivery)
        return deliveries

    @staticmethod
    def _restatement(key: str, sha256: str, found: Match | None, known: dict, latest: dict) -> int | None:
        """The restatement number a delivery is entered under; None when it is unchanged (a replay)."""
        row = known.get((key, sha256))
        if not (row and row[1] in FINAL_STATUSES):
            return 0
        last_sha, last_restatement = latest.get(key, (sha256, 0))
        if found is not None and found.kind in RESTATED_KINDS and last_sha != sha256:
            # a snapshot without a time of its own came back to earlier content (A, B, then A
            # again): that is news, a new delivery of the same path and bytes
            return last_restatement + 1
        return None

    def _insert_new(self, cur, seen: list, known: dict, pending: dict, latest: dict) -> dict[tuple, int]:
        """Ledger rows for every delivery never entered before, in one statement.

        Returns (path, sha256, restatement) -> file_id.

        A row another worker entered a moment ago is not returned (the delivery is then unchanged).
        """
        rows = []
        for key, name, size, sha256, found in seen:
            restatement = self._restatement(key, sha256, found, known, latest)
            if restatement is None or key in pending or (restatement == 0 and (key, sha256) in known):
                continue
            ctx = found.context if found else None
            rows.append((key, name, size, sha256, found.feed if found else "unknown",
                         found.kind if found else "unrecognized", ctx.mine_code if ctx else None,
                         ctx.stamp if ctx else None, restatement))
        if not rows:
            return {}
        returned = execute_values(
            cur,
            """INSERT INTO ledger.file (path, name, size_bytes, sha256, feed, kind, mine_code, name_stamp, restatement,
                                       status)
               VALUES %s ON CONFLICT (path, sha256, restatement) DO NOTHING
               RETURNING path, sha256, restatement, file_id""",
            rows, template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, 'loading')", page_size=len(rows), fetch=True,
        )
        return {(path, sha, restatement): file_id for path, sha, restatement, file_id in returned}

    def _register_one(self, cur, key: str, name: str, size: int, sha256: str, found: Match | None,
                      known: dict, pending: dict, originals: dict, outcome: Outcome,
                      history: tuple[dict, dict] = ({}, {}), inserted: dict | None = None) -> Delivery | None:
        path = key  # where it was found: a landing path, or the URL an API page came from
        feed, kind = (found.feed, found.kind) if found else ("unknown", "unrecognized")
        ctx = found.context if found else None
        row = known.get((key, sha256))
        fresh = False
        latest, current = history
        restates = kind in RESTATED_KINDS
        restatement = self._restatement(key, sha256, found, known, latest)
        if restatement is None:
            outcome.files["unchanged"] += 1
            return None
        if restatement:
            row = None
        if row:
            file_id = row[0]
        elif key in pending:  # the file grew since it was first seen: same delivery, first-seen time kept
            file_id = pending.pop(key)
            cur.execute(
                "UPDATE ledger.file SET sha256 = %s, size_bytes = %s, pending_since = now() WHERE file_id = %s",
                (sha256, size, file_id),
            )
        else:
            entered = (inserted or {}).pop((key, sha256, restatement), None)
            if entered is None:  # another worker entered it a moment ago
                outcome.files["unchanged"] += 1
                return None
            inserted = (entered,)
            file_id = inserted[0]
            fresh = True
        if found is None:
            known_kind = identify(name)
            why = (f"a {known_kind[0]} export, which this minewatch cannot load yet" if known_kind
                   else "the name matches no file pattern of the contract (section A)")
            cur.execute(
                "UPDATE ledger.file SET status = 'unrecognized', error = %s WHERE file_id = %s",
                (f"{why}; left in place", file_id),
            )
            outcome.files["unrecognized"] += 1
            outcome.problems.append(f"{path}: {why}; left in place")
            return None
        original = originals.get(sha256)
        if restates and current.get((kind, ctx.mine_code or ""), sha256) != sha256:
            original = None  # the same bytes as an older snapshot, not as the current one: they restate it
        if original is not None and original != file_id:
            cur.execute(
                "UPDATE ledger.file SET status = 'duplicate', duplicate_of = %s, error = NULL WHERE file_id = %s",
                (original, file_id),
            )
            outcome.files["duplicate"] += 1
            return None
        originals.setdefault(sha256, file_id)
        if restates:
            current[(kind, ctx.mine_code or "")] = sha256  # later files of this chunk compare with this one
        if not fresh:
            cur.execute(
                """UPDATE ledger.file SET status = 'loading', feed = %s, kind = %s,
                          mine_code = coalesce(mine_code, %s), name_stamp = %s WHERE file_id = %s AND status <> 'loading'""",
                (feed, kind, ctx.mine_code, ctx.stamp, file_id),
            )
        return Delivery(file_id, key, sha256, found, size)

    # --- 2. parse, stage, merge ----------------------------------------------------------------

    def load_batch(self, batch: list[Delivery], after: AfterLoad | None = None) -> Outcome:
        """Load whole files in one transaction; on failure retry them in halves, down to one by one.

        `after(cur, outcome)`, when given, runs last inside the batch's transaction (a REST
        pull advances its watermark there): it commits with the rows or not at all. It is
        only for one-file batches, so a failed batch is never retried without it.
        """
        if after is not None and len(batch) != 1:
            raise ValueError("an after-load step needs a batch of exactly one delivery")
        try:
            return self._load(batch, after)
        except Exception as exc:  # noqa: BLE001 - a failed load must never take the run down
            return self.retry(batch, exc)

    def retry(self, batch: list[Delivery], exc: BaseException) -> Outcome:
        """After a batch failed: roll back, then load its halves again, down to single files.

        So one bad file cannot hold back the others, and only a file that fails alone is marked
        `failed` (retried on the next run).
        """
        self.conn.rollback()
        if len(batch) > 1:
            log.warning("batch of %d %s files failed (%s); retrying in halves", len(batch), batch[0].match.kind,
                        _one_line(exc))
            outcome = Outcome()
            half = (len(batch) + 1) // 2
            for part in (batch[:half], batch[half:]):
                outcome.merge(self.load_batch(part))
            return outcome
        d = batch[0]
        message = _one_line(exc)
        with self.conn, self.conn.cursor() as cur:
            cur.execute("UPDATE ledger.file SET status = 'failed', error = %s WHERE file_id = %s", (message, d.file_id))
        outcome = Outcome()
        outcome.files["failed"] += 1
        outcome.problems.append(f"{d.path}: load failed, nothing of it was kept ({message}); it is retried next run")
        return outcome

    def _load(self, batch: list[Delivery], after: AfterLoad | None = None) -> Outcome:
        work = self.parse(batch)
        try:
            return self.commit(work, after)
        finally:
            work.close()

    def parse(self, batch: list[Delivery]) -> ParsedBatch:
        """Parse a batch into COPY text and validate it (no writes): the first half of `load_batch`.

        Raises like `load_batch`'s load does (e.g. ValidationFailed for a bad batch of several files).
        """
        return self.validate(parse_files(batch, self.settings.archive_dir))

    def validate(self, work: ParsedBatch) -> ParsedBatch:
        """Run the batch's expectation suites over a parsed batch (raises for a bad batch of several files)."""
        return validate_parsed(self, work)

    def commit(self, work: ParsedBatch, after: AfterLoad | None = None) -> Outcome:
        """Stage, merge, quarantine and mark a parsed batch in one transaction: the second half of `load_batch`."""
        outcome = Outcome()
        batch, parsed, spools, rejects = work.batch, work.parsed, work.spools, work.rejects
        with self.conn, self.conn.cursor() as cur:
            if parsed:
                execute_values(
                    cur,
                    # rows_rejected is set before the merges, so a merge knows which files of its own batch
                    # lost records to quarantine (a positioning snapshot with a held record is incomplete)
                    """UPDATE ledger.file f SET mine_code = coalesce(v.mine_code, f.mine_code),
                              produced_at = v.produced_at::timestamptz, rows_rejected = v.rejected
                         FROM (VALUES %s) AS v (file_id, mine_code, produced_at, rejected)
                        WHERE f.file_id = v.file_id""",
                    [(fid, info.mine_code if info else None, info.produced_at if info else None, bad)
                     for fid, (_, bad, info) in parsed.items()],
                    page_size=len(parsed),
                )
            for target in work.targets:
                spool = spools[target]
                if spool.rows == 0:
                    continue
                if self._copy_direct(cur, target, spool, work.seen.get(target)):
                    continue
                schema = SCHEMAS[target]
                stage = f"stage_{target}"
                columns = ", ".join(f"{c.name} {c.pg_type}" for c in schema.columns)
                cur.execute(f"DROP TABLE IF EXISTS {stage}")
                cur.execute(f"CREATE TEMP TABLE {stage} (file_id bigint NOT NULL, record_no integer NOT NULL, {columns}) ON COMMIT DROP")
                spool.copy_into(cur, stage, ["file_id", "record_no", *schema.column_names])
                cur.execute(f"ANALYZE {stage}")
                cur.execute(merge_sql(target))
            if rejects.rows:
                cur.execute("DROP TABLE IF EXISTS stage_quarantine")
                cur.execute(
                    """CREATE TEMP TABLE stage_quarantine (file_id bigint, record_no integer, feed text, kind text,
                           mine_code text, reason text, detail text, raw_text text) ON COMMIT DROP"""
                )
                rejects.copy_into(cur, "stage_quarantine",
                                  ["file_id", "record_no", "feed", "kind", "mine_code", "reason", "detail", "raw_text"])
                cur.execute(
                    """INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail, raw_text)
                       SELECT file_id, record_no, feed, kind, mine_code, reason, detail, raw_text FROM stage_quarantine
                       ON CONFLICT DO NOTHING"""
                )
            self._hold_files(cur, work.held, outcome)
            self._pending_files(cur, work.pending, outcome)
            validation.record(cur, work.verdict)
            if parsed:
                # records the merge SQL itself held back (e.g. unknown_point) count as rejected
                cur.execute(
                    """SELECT file_id, count(*) FROM quarantine.record
                        WHERE file_id = ANY(%s) AND status = 'held' GROUP BY file_id""",
                    (list(parsed),),
                )
                held_counts = dict(cur.fetchall())
                rows = []
                for fid, (good, bad, _) in parsed.items():
                    rejected = max(bad, held_counts.get(fid, 0))
                    loaded = good - (rejected - bad)
                    rows.append((fid, loaded, rejected))
                    outcome.rows_loaded += loaded
                    outcome.rows_rejected += rejected
                    if rejected:
                        outcome.problems.append(
                            f"{self._path(batch, fid)}: {rejected} record(s) held in quarantine "
                            f"(see: minewatch status; first: {self._first_reject(cur, fid)})"
                        )
                execute_values(
                    cur,
                    """UPDATE ledger.file f SET status = 'loaded', rows_loaded = v.loaded, rows_rejected = v.rejected,
                              loaded_at = now(), error = NULL
                         FROM (VALUES %s) AS v (file_id, loaded, rejected) WHERE f.file_id = v.file_id""",
                    rows,
                    page_size=len(rows),
                )
                outcome.files["loaded"] += len(parsed)
                outcome.loaded_file_ids.extend(parsed)
            if after is not None:
                after(cur, outcome)
        return outcome

    def _copy_direct(self, cur, target: str, spool: Spool, seen: Seen | None) -> bool:
        """COPY a target's rows straight into its table when its check allows it; False: stage and merge them."""
        direct = DIRECT.get(target)
        if direct is None or seen is None or not seen.usable():
            return False
        mines, points = zip(*seen.scopes, strict=True) if seen.scopes else ((), ())
        cur.execute(f"SELECT {direct.check}(%s, %s, %s)", (list(mines), list(points), sorted(seen.times)))
        if not cur.fetchone()[0]:
            return False
        columns = [c for c in SCHEMAS[target].column_names if c != direct.dropped]
        cur.execute("SAVEPOINT direct_copy")
        try:
            spool.copy_into(cur, direct.table, ["file_id", "record_no", *columns],
                            drop_last=[_copy_text(v) for v in seen.tails])
        except psycopg2.errors.UniqueViolation:  # a key twice in the batch, or another loader was first
            cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
            return False
        cur.execute("RELEASE SAVEPOINT direct_copy")
        return True

    @staticmethod
    def _path(batch: list[Delivery], file_id: int) -> str:
        return next(d.path for d in batch if d.file_id == file_id)

    @staticmethod
    def _first_reject(cur, file_id: int) -> str:
        cur.execute(
            """SELECT record_no, reason, detail FROM quarantine.record
                WHERE file_id = %s AND status = 'held' ORDER BY record_no NULLS FIRST LIMIT 1""",
            (file_id,),
        )
        rec = cur.fetchone()
        return f"record {rec[0]}: {rec[1]}" + (f", {rec[2]}" if rec[2] else "") if rec else "none"

    def _hold_files(self, cur, held: list[tuple[Delivery, str, str]], outcome: Outcome) -> None:
        """Quarantine whole files (truncated, bad_encoding, hostile_xml, mine_mismatch, …)."""
        for d, reason, detail in held:
            m = d.match
            cur.execute(
                """INSERT INTO quarantine.record (file_id, record_no, feed, kind, mine_code, reason, detail)
                   VALUES (%s, NULL, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                (d.file_id, m.feed, m.kind, m.context.mine_code, reason, detail),
            )
            cur.execute(
                "UPDATE ledger.file SET status = 'quarantined', error = %s WHERE file_id = %s",
                (f"{reason}: {detail}", d.file_id),
            )
            outcome.files["quarantined"] += 1
            outcome.problems.append(f"{d.path}: whole file held in quarantine ({reason}: {detail})")

    def _pending_files(self, cur, pending: list[Delivery], outcome: Outcome) -> None:
        """A file without its trailer waits; once unchanged for too long it is held as truncated."""
        for d in pending:
            cur.execute(
                """SELECT extract(epoch FROM now() - coalesce(pending_since, received_at)) > %s
                     FROM ledger.file WHERE file_id = %s""",
                (self.settings.stale_after_s, d.file_id),
            )
            stale = cur.fetchone()[0]
            if stale:
                self._hold_files(cur, [(d, "truncated", "no '||' trailer and unchanged since first seen: "
                                        "the upload was cut off")], outcome)
            else:
                cur.execute(
                    "UPDATE ledger.file SET status = 'pending', error = %s WHERE file_id = %s",
                    ("no '||' trailer yet: waiting for the upload to complete", d.file_id),
                )
                outcome.files["pending"] += 1
