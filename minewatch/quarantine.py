"""What is held back, and bringing it back: `minewatch quarantine list|show|release|discard`.

A held row is a record (record_no set) or a whole file (record_no NULL). Releasing
re-parses the file's archived bytes with the current code through the one load path, so
nothing has to be delivered again: whatever still fails is held again (a new row), the
rest loads (merges are idempotent, so records loaded before are not doubled). A file
held for failed expectations can be released after a fix (the parser or the suite
changed), or as it is with `accept=True` (`--accept`: the operator judges the data
right; the failures are still recorded, as outcome `accepted`). Discarding marks rows
`discarded`; the bytes stay in the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minewatch.config import Settings

COLUMNS = ("quarantine_id", "file_id", "record_no", "feed", "kind", "mine_code", "reason", "detail", "raw_text",
           "held_at", "status", "resolved_at", "name", "path", "file_status")


class QuarantineError(Exception):
    """A quarantine command cannot do what was asked; one line for the operator."""


def _select(where: list[str], params: list, limit: int | None = None) -> tuple[str, list]:
    clause = " AND ".join(where) or "true"
    sql = f"""SELECT q.quarantine_id, q.file_id, q.record_no, q.feed, q.kind, q.mine_code, q.reason, q.detail,
                     q.raw_text, q.held_at, q.status, q.resolved_at, f.name, f.path, f.status
                FROM quarantine.record q JOIN ledger.file f USING (file_id)
               WHERE {clause}
               ORDER BY q.held_at DESC, q.file_id, q.record_no NULLS FIRST"""  # noqa: S608 - clauses are constants
    if limit:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def rows(conn, feed: str | None = None, reason: str | None = None, status: str = "held",
         file_id: int | None = None, limit: int | None = 200) -> list[dict]:
    """Quarantine rows, newest first."""
    where, params = [], []
    if status != "all":
        where.append("q.status = %s")
        params.append(status)
    for col, value in (("q.feed", feed), ("q.reason", reason), ("q.file_id", file_id)):
        if value is not None:
            where.append(f"{col} = %s")
            params.append(value)
    sql, params = _select(where, params, limit)
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]


def show(conn, quarantine_id: int) -> dict:
    """One quarantine row, its file, and the failed expectations of the file's latest validation."""
    sql, params = _select(["q.quarantine_id = %s"], [quarantine_id])
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            raise QuarantineError(f"no quarantine row {quarantine_id}")
        item = dict(zip(COLUMNS, row, strict=True))
        item["failed_expectations"] = failed_expectations(cur, item["file_id"])
        cur.execute("SELECT count(*) FROM quarantine.record WHERE file_id = %s AND status = 'held'", (item["file_id"],))
        item["held_in_file"] = cur.fetchone()[0]
    return item


def failed_expectations(cur, file_id: int) -> list[dict]:
    """The failed expectations of the latest validation that covered the file."""
    cur.execute(
        """WITH latest AS (
               SELECT batch_id FROM quality.validation WHERE file_ids @> ARRAY[%s]::bigint[]
                ORDER BY validation_id DESC LIMIT 1)
           SELECT v.suite, r.check_name, r.severity, r.summary, r.sample, v.outcome, v.validated_at
             FROM quality.validation v JOIN quality.expectation_result r USING (validation_id)
            WHERE v.batch_id = (SELECT batch_id FROM latest) AND NOT r.success
            ORDER BY r.severity, v.suite, r.check_name""",
        (file_id,),
    )
    cols = ("suite", "check", "severity", "summary", "sample", "outcome", "validated_at")
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _targets(conn, ids: list[int] | None, file_id: int | None, reason: str | None, feed: str | None) -> list[dict]:
    if not ids and file_id is None and reason is None:
        raise QuarantineError("say what to act on: quarantine ids, --file FILE_ID or --reason REASON")
    where, params = ["q.status = 'held'"], []
    if ids:
        where.append("q.quarantine_id = ANY(%s)")
        params.append(list(ids))
    for col, value in (("q.file_id", file_id), ("q.reason", reason), ("q.feed", feed)):
        if value is not None:
            where.append(f"{col} = %s")
            params.append(value)
    sql, params = _select(where, params)
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        found = [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
    if ids:
        missing = sorted(set(ids) - {r["quarantine_id"] for r in found})
        if missing:
            raise QuarantineError(f"not held (unknown, released or discarded): {', '.join(map(str, missing))}")
    return found


@dataclass
class Released:
    """What a release did, file by file."""

    released: int = 0  # quarantine rows marked released
    files: list[dict] = field(default_factory=list)  # file_id, name, status, rows_loaded, held_again, problems
    mails: list[str] = field(default_factory=list)


def release(conn, settings: Settings, ids: list[int] | None = None, file_id: int | None = None,
            reason: str | None = None, feed: str | None = None, accept: bool = False) -> Released:
    """Re-parse the held rows' files from the archive and load them through the load path."""
    from connectors.catalog import match
    from minewatch.load import Delivery, LoadPath

    targets = _targets(conn, ids, file_id, reason, feed)
    report = Released()
    by_file: dict[int, list[dict]] = {}
    for t in targets:
        by_file.setdefault(t["file_id"], []).append(t)
    path = LoadPath(conn, settings, accept_failed_expectations=accept)
    for fid, held in sorted(by_file.items()):
        first = held[0]
        with conn, conn.cursor() as cur:
            cur.execute("SELECT path, name, sha256 FROM ledger.file WHERE file_id = %s FOR UPDATE", (fid,))
            file_path, name, sha256 = cur.fetchone()
            found = match(name)
            if found is None:
                report.files.append({"file_id": fid, "name": name, "status": "unrecognized", "rows_loaded": 0,
                                     "held_again": 0, "problems": [f"{name}: no connector reads it; not released"]})
                continue
            cur.execute(
                """UPDATE quarantine.record SET status = 'released', resolved_at = now()
                    WHERE quarantine_id = ANY(%s) AND status = 'held'""",
                ([h["quarantine_id"] for h in held],),
            )
            report.released += cur.rowcount
            cur.execute("UPDATE ledger.file SET status = 'loading', error = NULL WHERE file_id = %s", (fid,))
        outcome = path.load_batch([Delivery(fid, file_path, sha256, found)])
        with conn, conn.cursor() as cur:
            cur.execute("SELECT status, rows_loaded FROM ledger.file WHERE file_id = %s", (fid,))
            status, loaded = cur.fetchone()
            cur.execute("SELECT count(*) FROM quarantine.record WHERE file_id = %s AND status = 'held'", (fid,))
            again = cur.fetchone()[0]
        report.files.append({"file_id": fid, "name": first["name"], "status": status, "rows_loaded": loaded,
                             "held_again": again, "problems": outcome.problems})
    return report


def discard(conn, ids: list[int] | None = None, file_id: int | None = None, reason: str | None = None,
            feed: str | None = None) -> int:
    """Mark held rows discarded (a whole file's ledger entry too); the archived bytes stay."""
    targets = _targets(conn, ids, file_id, reason, feed)
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE quarantine.record SET status = 'discarded', resolved_at = now() WHERE quarantine_id = ANY(%s)",
            ([t["quarantine_id"] for t in targets],),
        )
        n = cur.rowcount
        whole = sorted({t["file_id"] for t in targets if t["record_no"] is None})
        if whole:
            cur.execute(
                """UPDATE ledger.file f SET status = 'discarded' WHERE file_id = ANY(%s) AND status = 'quarantined'
                      AND NOT EXISTS (SELECT 1 FROM quarantine.record q
                                       WHERE q.file_id = f.file_id AND q.status = 'held')""",
                (whole,),
            )
    return n
