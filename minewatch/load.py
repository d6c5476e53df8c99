"""The one load path every feed goes through.

    landing file ─► ledger row + archived bytes ─► connector.read ─► records ─► COPY to staging ─► merge SQL
                                                                  └► rejects ─► quarantine

1. `register` enters a landing file in the ledger and archives its bytes under
   their sha256 before anything is parsed. The same path with the same content
   is a replay: nothing happens. The same content under another name is
   recorded as a duplicate and not loaded again.
2. `load_batch` parses whole files of one feed, kind and mine, COPYs their
   records into temporary staging tables `stage_<target>`, runs
   `sql/merge/<target>.sql` for each target, stores the rejects in quarantine
   and marks the files loaded, all in one transaction. If the batch fails it is
   retried file by file, so one bad file cannot hold back the others, and a
   file that fails alone is marked `failed` with a one-line error and retried
   on the next run. A failure leaves the warehouse as it was.
3. Between parsing and staging, `minewatch.validation` runs the batch's
   expectation suites: a critical failure of a batch of several files is a
   failure (retried file by file); of one file, it holds the file whole in
   quarantine (`expectation_failed`). Results are kept in schema `quality`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg2 import sql
from psycopg2.extras import execute_values

from connectors.base import FileIncomplete, FileRejected
from connectors.catalog import Match, identify, match
from minewatch import archive, validation
from minewatch.config import Settings
from minewatch.warehouse import sql_dir
from schemas import SCHEMAS, FileInfo, Record, Reject

log = logging.getLogger(__name__)

# a replay of a delivery in one of these states is a no-op; an unrecognized file is looked at
# again on every run (a newer minewatch may know its pattern) and reported again
FINAL_STATUSES = ("loaded", "duplicate", "quarantined", "discarded")
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # bytes of COPY text kept in memory before spilling to disk


AfterLoad = Callable[[Any, "Outcome"], None]  # (cursor in the batch's transaction, its outcome)


@dataclass
class Delivery:
    """A ledger row that is to be loaded."""

    file_id: int
    path: str
    sha256: str
    match: Match


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


class Spool:
    """COPY text for one staging table, in memory up to a bound and on disk beyond it."""

    def __init__(self) -> None:
        self.buf = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+b")
        self.rows = 0

    def write(self, prefix: str, values: Iterable) -> None:
        self.buf.write((prefix + "\t".join(map(_copy_text, values)) + "\n").encode("utf-8", "replace"))
        self.rows += 1

    def mark(self) -> tuple[int, int]:
        return self.buf.tell(), self.rows

    def rewind_to(self, mark: tuple[int, int]) -> None:
        self.buf.seek(mark[0])
        self.buf.truncate()
        self.rows = mark[1]

    def copy_into(self, cur, table: str, columns: list[str]) -> None:
        self.buf.seek(0)
        cols = sql.SQL(", ").join(map(sql.Identifier, columns))
        cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), cols).as_string(cur), self.buf)

    def close(self) -> None:
        self.buf.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def merge_sql(target: str) -> str:
    path = sql_dir() / "merge" / f"{target}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no merge SQL for {target} (expected {path})")
    return path.read_text()


class LoadPath:
    """Ledger, archive, staging, merge and quarantine over one warehouse connection."""

    def __init__(self, conn, settings: Settings, accept_failed_expectations: bool = False):
        self.conn = conn
        self.settings = settings
        # an operator's release with --accept: failed expectations are recorded, nothing is held for them
        self.accept_failed_expectations = accept_failed_expectations
        conn.set_client_encoding("UTF8")

    # --- 1. ledger and archive ---------------------------------------------------------------

    def register(self, paths: list[Path], outcome: Outcome) -> list[Delivery]:
        """Enter landing files in the ledger and archive them; return those to be loaded.

        One transaction and one durable flush of the archive for the whole list: the
        bytes are safe before the ledger says they were received.
        """
        seen = []  # (where found, base name, size, sha256, match)
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                outcome.files["unreadable"] += 1
                outcome.problems.append(f"{path}: cannot be read ({exc.strerror or exc}); left in place")
                continue
            sha256, _ = archive.store(self.settings.archive_dir, data, durable=False)
            seen.append((str(path), path.name, len(data), sha256, match(path.name)))
        return self._enter(seen, outcome)

    def register_bytes(self, origin: str, name: str, data: bytes, outcome: Outcome) -> Delivery | None:
        """Enter bytes that came from elsewhere than a landing folder (a vendor API page) like a file.

        `origin` says where they came from (the request URL) and plays the part of the path:
        the same origin with the same bytes is a replay; `name` must match a pattern of
        `connectors.catalog`, which says how to read them (and lets quarantine re-read them).
        """
        sha256, _ = archive.store(self.settings.archive_dir, data, durable=False)
        deliveries = self._enter([(origin, name, len(data), sha256, match(name))], outcome)
        return deliveries[0] if deliveries else None

    def _enter(self, seen: list[tuple[str, str, int, str, Match | None]], outcome: Outcome) -> list[Delivery]:
        """Ledger rows for archived deliveries (made durable first); the ones to be loaded."""
        if not seen:
            return []
        archive.sync()
        deliveries = []
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT path, sha256, file_id, status FROM ledger.file WHERE path = ANY(%s)",
                ([key for key, _, _, _, _ in seen],),
            )
            known: dict[tuple[str, str], tuple[int, str]] = {}
            pending: dict[str, int] = {}
            for path, sha256, file_id, status in cur.fetchall():
                known[(path, sha256)] = (file_id, status)
                if status == "pending":
                    pending[path] = file_id
            cur.execute(
                """SELECT sha256, min(file_id) FROM ledger.file
                    WHERE sha256 = ANY(%s) AND status IN ('loaded', 'quarantined', 'loading') GROUP BY sha256""",
                (list({sha for _, _, _, sha, _ in seen}),),
            )
            originals: dict[str, int] = dict(cur.fetchall())
            for key, name, size, sha256, found in seen:
                delivery = self._register_one(cur, key, name, size, sha256, found, known, pending, originals, outcome)
                if delivery is not None:
                    deliveries.append(delivery)
        return deliveries

    def _register_one(self, cur, key: str, name: str, size: int, sha256: str, found: Match | None,
                      known: dict, pending: dict, originals: dict, outcome: Outcome) -> Delivery | None:
        path = key  # where it was found: a landing path, or the URL an API page came from
        feed, kind = (found.feed, found.kind) if found else ("unknown", "unrecognized")
        ctx = found.context if found else None
        row = known.get((key, sha256))
        fresh = False
        if row and row[1] in FINAL_STATUSES:
            outcome.files["unchanged"] += 1
            return None
        if row:
            file_id = row[0]
        elif key in pending:  # the file grew since it was first seen: same delivery, first-seen time kept
            file_id = pending.pop(key)
            cur.execute(
                "UPDATE ledger.file SET sha256 = %s, size_bytes = %s, pending_since = now() WHERE file_id = %s",
                (sha256, size, file_id),
            )
        else:
            cur.execute(
                """INSERT INTO ledger.file (path, name, size_bytes, sha256, feed, kind, mine_code, name_stamp, status)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'loading')
                   ON CONFLICT (path, sha256) DO NOTHING RETURNING file_id""",
                (key, name, size, sha256, feed, kind, ctx.mine_code if ctx else None, ctx.stamp if ctx else None),
            )
            inserted = cur.fetchone()
            if inserted is None:  # another worker entered it a moment ago
                outcome.files["unchanged"] += 1
                return None
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
        if original is not None and original != file_id:
            cur.execute(
                "UPDATE ledger.file SET status = 'duplicate', duplicate_of = %s, error = NULL WHERE file_id = %s",
                (original, file_id),
            )
            outcome.files["duplicate"] += 1
            return None
        originals.setdefault(sha256, file_id)
        if not fresh:
            cur.execute(
                """UPDATE ledger.file SET status = 'loading', feed = %s, kind = %s,
                          mine_code = coalesce(mine_code, %s), name_stamp = %s WHERE file_id = %s AND status <> 'loading'""",
                (feed, kind, ctx.mine_code, ctx.stamp, file_id),
            )
        return Delivery(file_id, key, sha256, found)

    # --- 2. parse, stage, merge ----------------------------------------------------------------

    def load_batch(self, batch: list[Delivery], after: AfterLoad | None = None) -> Outcome:
        """Load whole files in one transaction; on failure retry them one by one.

        `after(cur, outcome)`, when given, runs last inside the batch's transaction (a REST
        pull advances its watermark there): it commits with the rows or not at all. It is
        only for one-file batches, so a failed batch is never retried without it.
        """
        if after is not None and len(batch) != 1:
            raise ValueError("an after-load step needs a batch of exactly one delivery")
        try:
            return self._load(batch, after)
        except Exception as exc:  # noqa: BLE001 - a failed load must never take the run down
            self.conn.rollback()
            if len(batch) > 1:
                log.warning("batch of %d %s files failed (%s); retrying file by file", len(batch), batch[0].match.kind, exc)
                outcome = Outcome()
                for d in batch:
                    outcome.merge(self.load_batch([d]))
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
        outcome = Outcome()
        stream = batch[0].match.stream
        targets = [s.name for s in stream.outputs]
        spools = {t: Spool() for t in targets}
        rejects = Spool()
        parsed: dict[int, tuple[int, int, FileInfo | None]] = {}  # file_id -> good, rejected, header
        held: list[tuple[Delivery, str, str]] = []  # whole files: delivery, reason, detail
        pending: list[Delivery] = []
        try:
            for d in batch:
                data = archive.fetch(self.settings.archive_dir, d.sha256)
                marks = {t: s.mark() for t, s in spools.items()}
                reject_mark = rejects.mark()
                good = bad = 0
                info: FileInfo | None = None
                prefix = f"{d.file_id}\t"
                feed, kind, ctx = d.match.feed, d.match.kind, d.match.context
                mine = ctx.mine_code
                try:
                    for item in d.match.stream.read(data, ctx):
                        if type(item) is Record:
                            spools[item.target].write(f"{prefix}{item.record_no}\t", item.values)
                            good += 1
                        elif type(item) is Reject:
                            rejects.write(prefix, (item.record_no, feed, kind, mine, item.reason,
                                                   item.detail or None, item.raw))
                            bad += 1
                        elif type(item) is FileInfo:
                            info = item
                            mine = item.mine_code or mine
                        else:
                            raise TypeError(f"connector {kind} yielded {type(item).__name__}")
                except FileIncomplete:
                    for t, s in spools.items():
                        s.rewind_to(marks[t])
                    rejects.rewind_to(reject_mark)
                    pending.append(d)
                    continue
                except FileRejected as exc:
                    for t, s in spools.items():
                        s.rewind_to(marks[t])
                    rejects.rewind_to(reject_mark)
                    held.append((d, exc.reason, exc.detail))
                    continue
                parsed[d.file_id] = (good, bad, info)

            # --- validation: the batch against its suites (raises for a bad batch of several files) ---
            verdict = validation.validate_batch(self, batch, spools, rejects, parsed)
            if verdict is not None and verdict.held:  # one file failed a critical expectation: hold it whole
                for s in (*spools.values(), rejects):
                    s.rewind_to((0, 0))
                held.append((next(d for d in batch if d.file_id in parsed), "expectation_failed", verdict.detail()))
                parsed.clear()
            # ---------------------------------------------------------------------------------------------

            with self.conn, self.conn.cursor() as cur:
                if parsed:
                    execute_values(
                        cur,
                        """UPDATE ledger.file f SET mine_code = coalesce(v.mine_code, f.mine_code),
                                  produced_at = v.produced_at::timestamptz
                             FROM (VALUES %s) AS v (file_id, mine_code, produced_at)
                            WHERE f.file_id = v.file_id""",
                        [(fid, info.mine_code if info else None, info.produced_at if info else None)
                         for fid, (_, _, info) in parsed.items()],
                    )
                for target in targets:
                    spool = spools[target]
                    if spool.rows == 0:
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
                self._hold_files(cur, held, outcome)
                self._pending_files(cur, pending, outcome)
                validation.record(cur, verdict)
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
                    )
                    outcome.files["loaded"] += len(parsed)
                    outcome.loaded_file_ids.extend(parsed)
                if after is not None:
                    after(cur, outcome)
        finally:
            for s in spools.values():
                s.close()
            rejects.close()
        return outcome

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
