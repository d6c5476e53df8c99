"""The `minewatch` command (contract section I).

Exit codes: 0 when the command ran (even if some input went to quarantine);
2 when it could not run (bad configuration, unreachable warehouse, missing
landing folder), with one line on stderr saying why; 1 for an unexpected
error (one line; MINEWATCH_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from minewatch import __version__
from minewatch.config import ConfigError, load_settings
from minewatch.pipeline import LandingError
from minewatch.warehouse import WarehouseError

EXIT_OK, EXIT_UNEXPECTED, EXIT_CANNOT_RUN = 0, 1, 2


def _json_default(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    raise TypeError(type(v).__name__)


def _connect():
    from minewatch.warehouse import connect, ensure_upgraded, resolve_url

    settings = load_settings()
    conn = connect(resolve_url(settings), settings.statement_timeout_s)
    ensure_upgraded(conn)
    return conn


# --- commands -----------------------------------------------------------------------------


def cmd_db_upgrade(args) -> int:
    from minewatch.warehouse import applied_versions, connect, resolve_url, upgrade

    settings = load_settings()
    conn = connect(resolve_url(settings), settings.statement_timeout_s)
    try:
        applied = upgrade(conn)
        now = applied_versions(conn)
    finally:
        conn.close()
    if applied:
        print(f"applied {len(applied)} migration(s): " + ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
    else:
        print("the warehouse is up to date")
    print(f"warehouse at migration {max(now) if now else 0}")
    return EXIT_OK


def cmd_run(args) -> int:
    from minewatch.pipeline import run_landing

    landing = Path(args.landing)
    feeds = args.feed or None
    progress = None
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       TextColumn("{task.description}"), transient=True)
        bar.start()
        task_id = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task_id, completed=done, total=total, description=name)
    try:
        outcome = run_landing(landing, feeds, progress=progress)
    finally:
        if bar:
            bar.stop()
    files = ", ".join(f"{n} {s}" for s, n in sorted(outcome.files.items())) or "no files"
    print(f"files: {files}; rows loaded: {outcome.rows_loaded}; records held in quarantine: {outcome.rows_rejected}")
    for line in outcome.problems[: args.max_problems]:
        print(f"  {line}")
    if len(outcome.problems) > args.max_problems:
        print(f"  … and {len(outcome.problems) - args.max_problems} more (minewatch status shows them by reason)")
    return EXIT_OK


def cmd_status(args) -> int:
    from minewatch.status import status

    conn = _connect()
    try:
        report = status(conn)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return EXIT_OK
    print("files")
    for f in report["files"]:
        print(f"  {f['feed']:<12} {f['kind']:<14} {f['status']:<13} {f['count']:>8}")
    if not report["files"]:
        print("  none received yet")
    print("quarantine (held)")
    for q in report["quarantine"]:
        print(f"  {q['feed']:<12} {q['reason']:<26} {q['count']:>8}")
    if not report["quarantine"]:
        print("  nothing held")
    print("rows")
    for name, n in report["rows"].items():
        print(f"  {name:<28} {n:>10}")
    return EXIT_OK


def cmd_flags(args) -> int:
    from minewatch.status import FLAG_COLUMNS, flags

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise ConfigError(f"--since {args.since!r} is not an ISO 8601 time") from None
    conn = _connect()
    try:
        rows = flags(conn, args.mine, since)
    finally:
        conn.close()
    if args.format == "json":
        print(json.dumps(rows, default=_json_default, ensure_ascii=False))
    elif args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(FLAG_COLUMNS)
        for r in rows:
            w.writerow([json.dumps(r[c], ensure_ascii=False) if c == "evidence" else
                        (r[c].isoformat() if isinstance(r[c], datetime) else r[c]) for c in FLAG_COLUMNS])
    else:
        if not rows:
            print("no flags")
        for r in rows:
            end = r["ended_at"].isoformat() if r["ended_at"] else "ongoing"
            print(f"{r['flag_id']:>6}  {r['mine_code']}  {r['flag_code']:<26} {r['subject_kind']:<7} "
                  f"{r['subject_code']:<24} sev {r['severity']}  {r['started_at'].isoformat()} → {end}")
    return EXIT_OK


def cmd_summary(args) -> int:
    from minewatch.status import flags, risk_days, status

    conn = _connect()
    try:
        report = status(conn)
        found = flags(conn)
        days = risk_days(conn, limit=args.top)
    finally:
        conn.close()
    by_status: dict[str, int] = {}
    for f in report["files"]:
        by_status[f["status"]] = by_status.get(f["status"], 0) + f["count"]
    print("minewatch summary")
    print("  files received: " + (", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"))
    print("  rows held: " + ", ".join(f"{k} {v}" for k, v in report["rows"].items() if v))
    held = sum(q["count"] for q in report["quarantine"])
    reasons = ", ".join(f"{q['feed']}/{q['reason']} {q['count']}" for q in report["quarantine"])
    print(f"  quarantine: {held} held" + (f" ({reasons})" if reasons else ""))
    codes: dict[str, int] = {}
    for f in found:
        codes[f["flag_code"]] = codes.get(f["flag_code"], 0) + 1
    print(f"  findings: {len(found)}" + (" (" + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())) + ")" if codes else ""))
    if days:
        print("  mine-days to look at first:")
        for d in days:
            mark = "VERIFY BY UNSEALING" if d["verify_unsealing"] else ""
            print(f"    {d['mine_code']} {d['day']}  risk {d['risk_score']:>3}  {mark}")
            for reason in d["reasons"] or []:
                print(f"        - {reason}")
    return EXIT_OK


def cmd_airflow(args) -> int:
    from minewatch.airflow_local import run_dags

    return run_dags(Path(args.landing), args.dag or None)


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minewatch", description="Mine-safety feeds into a warehouse, and flags out.")
    p.add_argument("--version", action="version", version=f"minewatch {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the warehouse schema")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply the migrations the warehouse lacks (idempotent)")
    up.set_defaults(func=cmd_db_upgrade)

    run = sub.add_parser("run", help="ingest every file in a landing folder, validate, load, detect")
    run.add_argument("--landing", required=True, help="the landing folder (any sub-folders)")
    run.add_argument("--feed", action="append", choices=["registry", "safety", "positioning", "video", "meters",
                                                        "explosives"], help="only this feed (repeatable)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--max-problems", type=int, default=20, help="how many problem lines to print")
    run.set_defaults(func=cmd_run)

    st = sub.add_parser("status", help="files by feed, kind and status; quarantine by reason; rows held")
    st.add_argument("--json", action="store_true", help="one JSON object (contract I)")
    st.set_defaults(func=cmd_status)

    fl = sub.add_parser("flags", help="the findings (mart.flags)")
    fl.add_argument("--mine", help="only this mine code")
    fl.add_argument("--since", help="only findings going on at or after this ISO 8601 time")
    fl.add_argument("--format", choices=["table", "csv", "json"], default="table")
    fl.set_defaults(func=cmd_flags)

    sm = sub.add_parser("summary", help="what the warehouse holds and what was found, in a few lines")
    sm.add_argument("--top", type=int, default=5, help="how many mine-days to list")
    sm.set_defaults(func=cmd_summary)

    af = sub.add_parser("airflow", help="run the real Airflow DAGs locally over a landing folder (dag.test)")
    af.add_argument("--landing", required=True)
    af.add_argument("--dag", action="append", help="only this DAG id (repeatable)")
    af.set_defaults(func=cmd_airflow)

    try:
        from minewatch.sample.cli import configure as configure_sample
    except ImportError:
        configure_sample = None
    if configure_sample is not None:
        sp = sub.add_parser("sample", help="generate a sample province of vendor exports, or serve its REST APIs")
        configure_sample(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ConfigError, WarehouseError, LandingError) as exc:
        print(f"minewatch: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("minewatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the operator, the traceback on request
        if os.environ.get("MINEWATCH_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"minewatch: unexpected error: {type(exc).__name__}: {first} (MINEWATCH_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
