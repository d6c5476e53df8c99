"""Detection: the rules in `sql/detect/`, each a SELECT of findings, upserted into core.flag.

A finding's identity is (mine, flag code, subject, start): re-running a rule over the same
data updates the same rows (same flag_id) instead of adding new ones.
"""

from __future__ import annotations

from minewatch.warehouse import sql_dir

UPSERT = """
INSERT INTO core.flag (mine_code, flag_code, subject_kind, subject_code, area_code,
                       started_at, ended_at, severity, evidence)
SELECT mine_code, flag_code, subject_kind, subject_code, area_code, started_at, ended_at, severity, evidence
  FROM (
{rule}
) AS finding
ON CONFLICT (mine_code, flag_code, subject_kind, subject_code, started_at) DO UPDATE
   SET ended_at = EXCLUDED.ended_at, severity = EXCLUDED.severity, area_code = EXCLUDED.area_code,
       evidence = EXCLUDED.evidence, updated_at = now()
 WHERE (core.flag.ended_at, core.flag.severity, core.flag.area_code, core.flag.evidence)
       IS DISTINCT FROM (EXCLUDED.ended_at, EXCLUDED.severity, EXCLUDED.area_code, EXCLUDED.evidence)
"""


def rules() -> list[tuple[str, str]]:
    """(rule name, SELECT) for every file of sql/detect, in name order."""
    return [(p.stem, p.read_text().rstrip().rstrip(";")) for p in sorted((sql_dir() / "detect").glob("*.sql"))]


def run_detection(conn) -> dict[str, int]:
    """Run every rule in one transaction; return how many findings each added or changed."""
    changed = {}
    with conn, conn.cursor() as cur:
        # the rules' plans are estimated at millions of rows over a day of readings, where JIT
        # compiling them costs seconds and saves nothing (set-based scans, not per-row expressions)
        cur.execute("SET LOCAL jit = off")
        for name, rule in rules():
            cur.execute(UPSERT.format(rule=rule))
            changed[name] = cur.rowcount
    return changed
