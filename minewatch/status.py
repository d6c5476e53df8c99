"""What the warehouse holds: `minewatch status` and `minewatch flags`."""

from __future__ import annotations

from datetime import datetime

# contract I: rows held per feed, each fact once however often it was delivered
ROW_COUNTS = {
    "safety_readings": "core.safety_reading",
    "positioning_reads": "core.positioning_observation",
    "video_events": "core.video_event",
    "meter_intervals": "core.meter_interval",
    "explosives_issues": "core.explosives_issue",
}
REGISTRY_COUNTS = {
    "registry_mines": "core.mine_current",
    "registry_areas": "core.area_current",
    "registry_points": "core.point_placement_current",
    "registry_seals": "core.seal_current",
    "registry_meters": "core.meter_current",
}


def _count(cur, table: str) -> int:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    if not cur.fetchone()[0]:
        return 0
    cur.execute(f"SELECT count(*) FROM {table}")  # table names come from the constants above
    return cur.fetchone()[0]


def status(conn) -> dict:
    """The contract's `status --json` object."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT feed, kind, status, count(*) FROM ledger.file
                GROUP BY feed, kind, status ORDER BY feed, kind, status"""
        )
        files = [{"feed": f, "kind": k, "status": s, "count": n} for f, k, s, n in cur.fetchall()]
        cur.execute(
            """SELECT feed, reason, count(*) FROM quarantine.record WHERE status = 'held'
                GROUP BY feed, reason ORDER BY feed, reason"""
        )
        quarantine = [{"feed": f, "reason": r, "count": n} for f, r, n in cur.fetchall()]
        rows = {name: _count(cur, table) for name, table in {**ROW_COUNTS, **REGISTRY_COUNTS}.items()}
    return {"files": files, "quarantine": quarantine, "rows": rows}


FLAG_COLUMNS = ("flag_id", "mine_code", "flag_code", "subject_kind", "subject_code", "area_code",
                "started_at", "ended_at", "severity", "evidence")


def flags(conn, mine: str | None = None, since: datetime | None = None) -> list[dict]:
    """mart.flags, newest first, optionally for one mine and from a time on."""
    where, params = [], []
    if mine:
        where.append("mine_code = %s")
        params.append(mine)
    if since:
        where.append("coalesce(ended_at, 'infinity') >= %s")
        params.append(since)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(FLAG_COLUMNS)} FROM mart.flags {clause} ORDER BY started_at DESC, flag_id",  # noqa: S608
            params,
        )
        return [dict(zip(FLAG_COLUMNS, r, strict=True)) for r in cur.fetchall()]


def risk_days(conn, limit: int = 10) -> list[dict]:
    """The highest-risk mine-days of mart.mine_day_risk."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT mine_code, day, risk_score, verify_unsealing, reasons FROM mart.mine_day_risk
                ORDER BY risk_score DESC, day DESC, mine_code LIMIT %s""",
            (limit,),
        )
        cols = ("mine_code", "day", "risk_score", "verify_unsealing", "reasons")
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
