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
from minewatch.quarantine import QuarantineError
from minewatch.warehouse import WarehouseError

EXIT_OK, EXIT_UNEXPECTED, EXIT_CANNOT_RUN, EXIT_PULL_STOPPED = 0, 1, 2, 3


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
    problems, not_yet = [], {}
    for line in outcome.problems:  # files of kinds without a loader yet: one line per kind
        if line.endswith("cannot load yet; left in place") and ": a " in line:
            kind = line.split(": a ", 1)[1].split(" ", 1)[0]
            not_yet[kind] = not_yet.get(kind, 0) + 1
        else:
            problems.append(line)
    problems += [f"{n} {k} file(s): a kind this minewatch cannot load yet; left in place" for k, n in not_yet.items()]
    outcome.problems = problems
    for line in outcome.problems[: args.max_problems]:
        print(f"  {line}")
    if len(outcome.problems) > args.max_problems:
        print(f"  … and {len(outcome.problems) - args.max_problems} more (minewatch status shows them by reason)")
    for line in outcome.mails:
        print(f"  {line}")
    return EXIT_OK


def cmd_pull(args) -> int:
    from minewatch.pull import API_FEEDS, PullError, api_settings, pull_api

    feeds = args.feed or [f for f in API_FEEDS if api_settings(f) is not None]
    if not feeds:
        raise ConfigError("no vendor API is set up: set MINEWATCH_POSITIONING_API_URL or MINEWATCH_VIDEO_API_URL "
                          "(and the token, MINEWATCH_<FEED>_TOKEN)")
    settings = load_settings()
    conn = _connect()
    stopped = False
    try:
        for feed in feeds:
            if api_settings(feed) is None:
                raise ConfigError(f"the {feed} API is not set up: set MINEWATCH_{feed.upper()}_API_URL")
            try:
                outcome = pull_api(conn, settings, feed)
            except PullError as exc:
                print(f"minewatch: {exc}", file=sys.stderr)
                return EXIT_CANNOT_RUN
            files = ", ".join(f"{n} {s}" for s, n in sorted(outcome.files.items())) or "nothing new"
            print(f"{feed} API: {files}; rows loaded: {outcome.rows_loaded}; "
                  f"records held in quarantine: {outcome.rows_rejected}")
            for line in outcome.problems[: args.max_problems]:
                print(f"  {line}")
            stopped = stopped or bool(outcome.files.get("api_failed"))
    finally:
        conn.close()
    return EXIT_PULL_STOPPED if stopped else EXIT_OK


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
        mail = _mail_summary(conn)
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
    if mail:
        print("  " + mail)
    if days:
        print("  mine-days to look at first:")
        for d in days:
            mark = "VERIFY BY UNSEALING" if d["verify_unsealing"] else ""
            print(f"    {d['mine_code']} {d['day']}  risk {d['risk_score']:>3}  {mark}")
            for reason in d["reasons"] or []:
                print(f"        - {reason}")
    return EXIT_OK


def _held_line(r: dict) -> str:
    where = "whole file" if r["record_no"] is None else f"record {r['record_no']}"
    detail = (r["detail"] or "").replace("\n", " ")
    detail = detail if len(detail) <= 90 else detail[:89] + "…"
    return (f"{r['quarantine_id']:>7}  {r['held_at'].astimezone().strftime('%Y-%m-%d %H:%M')}  {r['feed']:<10} "
            f"{r['kind']:<8} {r['mine_code'] or '-':<12} {r['reason']:<20} {r['name']} {where}"
            + (f"  [{r['status']}]" if r["status"] != "held" else "") + (f"\n{'':9}{detail}" if detail else ""))


def cmd_quarantine_list(args) -> int:
    from minewatch.quarantine import rows

    conn = _connect()
    try:
        found = rows(conn, args.feed, args.reason, args.status, limit=args.limit)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(found, default=_json_default, ensure_ascii=False))
        return EXIT_OK
    if not found:
        print("nothing " + ("held" if args.status == "held" else f"with status {args.status}"))
    for r in found:
        print(_held_line(r))
    if len(found) == args.limit:
        print(f"(the first {args.limit}; --limit shows more)")
    return EXIT_OK


def cmd_quarantine_show(args) -> int:
    from minewatch.quarantine import show
    from minewatch.validation import sample_text

    conn = _connect()
    try:
        item = show(conn, args.id)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(item, default=_json_default, ensure_ascii=False))
        return EXIT_OK
    where = "the whole file" if item["record_no"] is None else f"record {item['record_no']}"
    print(f"quarantine {item['quarantine_id']}: {where} of {item['name']} ({item['status']})")
    print(f"  file      {item['file_id']}  {item['path']}  (ledger: {item['file_status']})")
    print(f"  feed      {item['feed']} / {item['kind']}, mine {item['mine_code'] or '-'}")
    print(f"  reason    {item['reason']}")
    print(f"  held at   {item['held_at'].astimezone().isoformat(timespec='seconds')}"
          + (f", {item['status']} at {item['resolved_at'].astimezone().isoformat(timespec='seconds')}"
             if item["resolved_at"] else ""))
    if item["detail"]:
        print(f"  detail    {item['detail']}")
    if item["raw_text"]:
        print(f"  raw       {item['raw_text']}")
    if item["failed_expectations"]:
        print("  failed expectations (latest validation of the file):")
        shown = []
        for e in item["failed_expectations"]:
            print(f"    [{e['severity']}] {e['summary']}  ({e['suite']}: {e['check']})")
            if e["sample"] in shown:  # the same records as above
                continue
            shown.append(e["sample"])
            for s in (e["sample"] or [])[:5]:
                rec = f"record {s.get('record_no')}"
                if "raw" in s:
                    print(f"        {rec}: {s.get('reason')} {s.get('detail') or ''}  raw: {s.get('raw')}")
                else:
                    print(f"        {rec}: {sample_text(s.get('values'))}")
    qid = item["quarantine_id"]
    print(f"  {item['held_in_file']} row(s) of this file held; release: minewatch quarantine release {qid} [--accept];"
          f" discard: minewatch quarantine discard {qid}")
    return EXIT_OK


def cmd_quarantine_release(args) -> int:
    from minewatch.alerts import after_run
    from minewatch.quarantine import release

    settings = load_settings()
    conn = _connect()
    try:
        report = release(conn, settings, args.ids, args.file, args.reason, args.feed, accept=args.accept)
        mails = after_run(conn, settings)
    finally:
        conn.close()
    print(f"released {report.released} quarantine row(s) of {len(report.files)} file(s)"
          + (" (accepting failed expectations)" if args.accept else ""))
    for f in report.files:
        again = f"; {f['held_again']} held again" if f["held_again"] else ""
        print(f"  {f['name']} (file {f['file_id']}): {f['status']}, {f['rows_loaded']} row(s) loaded{again}")
        for p in f["problems"][:5]:
            print(f"    {p}")
    for line in mails:
        print(f"  {line}")
    return EXIT_OK


def cmd_quarantine_discard(args) -> int:
    from minewatch.quarantine import discard

    conn = _connect()
    try:
        n = discard(conn, args.ids, args.file, args.reason, args.feed)
    finally:
        conn.close()
    print(f"discarded {n} quarantine row(s); the files stay in the archive")
    return EXIT_OK


def cmd_quality_docs(args) -> int:
    from minewatch.validation import build_docs

    settings = load_settings()
    conn = _connect()
    try:
        index = build_docs(conn, settings, days=args.days)
    finally:
        conn.close()
    print(f"Data Docs written: {index}")
    return EXIT_OK


def cmd_alerts_digest(args) -> int:
    from minewatch.alerts import digest

    settings = load_settings()
    conn = _connect()
    try:
        lines = digest(conn, settings)
    finally:
        conn.close()
    for line in lines or ["nothing to report: no held deliveries untold and no warnings since the last digest"]:
        print(line)
    return EXIT_OK


def cmd_alerts_risk_digest(args) -> int:
    from minewatch.alerts import risk_digest

    day = None
    if args.day:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise ConfigError(f"--day {args.day!r} is not a yyyy-mm-dd date") from None
    settings = load_settings()
    conn = _connect()
    try:
        lines = risk_digest(conn, settings, day, top=args.top, force=args.force)
    finally:
        conn.close()
    for line in lines or ["nothing to send: no mine-day with findings" + (" that day" if day else "")
                          + " (or its digest was sent already; --force sends it again)"]:
        print(line)
    return EXIT_OK


def _mail_summary(conn) -> str:
    """One line on the alert mail sent: how many of each kind, and where the outbox is."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('quality.mail') IS NOT NULL")
        if not cur.fetchone()[0]:
            return ""
        cur.execute("SELECT kind, transport, count(*) FROM quality.mail GROUP BY 1, 2 ORDER BY 1, 2")
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM quality.incident WHERE closed_at IS NULL")
        open_incidents = cur.fetchone()[0]
    if not rows:
        return f"alert mail: none sent; open data-quality incidents: {open_incidents}"
    kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, _, n in rows)
    outbox = any(t == "outbox" for _, t, _ in rows)
    where = f" (in the outbox: {load_settings().outbox_dir})" if outbox else ""
    return f"alert mail: {kinds}{where}; open data-quality incidents: {open_incidents}"


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

    pl = sub.add_parser("pull", help="pull the vendor APIs (positions; cameras and events) into the warehouse")
    pl.add_argument("--feed", action="append", choices=["positioning", "video"],
                    help="only this API (repeatable); default: every API that is set up")
    pl.add_argument("--max-problems", type=int, default=20, help="how many problem lines to print")
    pl.set_defaults(func=cmd_pull)

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

    q = sub.add_parser("quarantine", help="what is held back: list, show, release (re-parse from the archive), discard")
    qsub = q.add_subparsers(dest="quarantine_command", required=True)
    ql = qsub.add_parser("list", help="held rows, newest first")
    ql.add_argument("--feed", help="only this feed")
    ql.add_argument("--reason", help="only this reason code (e.g. expectation_failed)")
    ql.add_argument("--status", choices=["held", "released", "discarded", "all"], default="held")
    ql.add_argument("--limit", type=int, default=200)
    ql.add_argument("--json", action="store_true")
    ql.set_defaults(func=cmd_quarantine_list)
    qs = qsub.add_parser("show", help="one row: its file, raw text and the failed expectations")
    qs.add_argument("id", type=int, help="quarantine id (minewatch quarantine list)")
    qs.add_argument("--json", action="store_true")
    qs.set_defaults(func=cmd_quarantine_show)
    for name, func, text in (("release", cmd_quarantine_release,
                              "re-parse the files from the archive with the current code and load them"),
                             ("discard", cmd_quarantine_discard, "keep them out for good (the bytes stay archived)")):
        qr = qsub.add_parser(name, help=text)
        qr.add_argument("ids", type=int, nargs="*", help="quarantine ids")
        qr.add_argument("--file", type=int, help="every held row of this file id")
        qr.add_argument("--reason", help="every held row with this reason")
        qr.add_argument("--feed", help="with --reason or --file: only this feed")
        if name == "release":
            qr.add_argument("--accept", action="store_true",
                            help="load even if critical expectations still fail (recorded as accepted)")
        qr.set_defaults(func=func)

    ql_ = sub.add_parser("quality", help="data-quality results")
    qlsub = ql_.add_subparsers(dest="quality_command", required=True)
    docs = qlsub.add_parser("docs", help="build Great Expectations Data Docs from the stored validations")
    docs.add_argument("--days", type=float, default=7.0, help="validations of the last DAYS days (default 7)")
    docs.set_defaults(func=cmd_quality_docs)

    al = sub.add_parser("alerts", help="alert mail that is sent on a schedule")
    alsub = al.add_subparsers(dest="alerts_command", required=True)
    dg = alsub.add_parser("digest", help="mail held deliveries not yet told of, and warnings, since the last digest")
    dg.set_defaults(func=cmd_alerts_digest)
    rd = alsub.add_parser("risk-digest", help="mail the riskiest mine-days of a day (mart.mine_day_risk)")
    rd.add_argument("--day", help="yyyy-mm-dd (default: the latest day with findings)")
    rd.add_argument("--top", type=int, default=10)
    rd.add_argument("--force", action="store_true", help="send even if that day's digest was sent")
    rd.set_defaults(func=cmd_alerts_risk_digest)

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
    except (ConfigError, WarehouseError, LandingError, QuarantineError) as exc:
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
