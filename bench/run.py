"""`make bench`: minewatch's ingest against the PostgreSQL COPY floor, at two sizes.

For each size (points × cadence for one mine-day of national CDSS files, made by
`minewatch sample --scale`):

(b) ingest  — minewatch's full path from landing files: ledger, archive, parse,
              stage, merge, in a fresh warehouse database; timed in a child process
              whose peak RSS is read from the kernel.
(a) floor   — PostgreSQL COPY of the very rows (b) produced, into the same final
              readings table with its indexes and partitions, in a second fresh
              database; timed the same way.

It prints a table and writes bench/results/latest.json. The warehouse server is
MINEWATCH_WAREHOUSE_URL's (databases are created and dropped there) or, without it,
the embedded one. Nothing here is a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

READINGS = "core.safety_reading"
SIZES = {"half": "250:10", "full": "500:10"}


def server_url() -> str:
    from minewatch.warehouse import resolve_url

    url = resolve_url()
    return url


def with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_db(url: str) -> tuple[str, str]:
    name = f"mw_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return name, with_database(url, name)


def drop_db(url: str, name: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()


def child(step: str, *args: str, env: dict) -> dict:
    """Run one measured step in a fresh interpreter, so its peak RSS is its own."""
    proc = subprocess.run([sys.executable, __file__, "--step", step, *args], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench step {step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- steps, each in its own process ------------------------------------------------------


def step_ingest(landing: str) -> dict:
    from minewatch.config import load_settings
    from minewatch.pipeline import run_landing

    settings = load_settings()
    t0 = time.perf_counter()
    outcome = run_landing(Path(landing), settings=settings, detect=False)
    return {"seconds": time.perf_counter() - t0, "rows": outcome.rows_loaded, "files": dict(outcome.files),
            "problems": outcome.problems[:5], "peak_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def step_copy(rows_file: str, ledger_file: str) -> dict:
    from minewatch.warehouse import connect, resolve_url

    conn = connect(resolve_url())
    with conn, conn.cursor() as cur, open(ledger_file, "rb") as fh:
        cur.copy_expert("COPY ledger.file FROM STDIN", fh)
    with open(rows_file, "rb") as fh:
        first = fh.readline().decode().rstrip("\n")
    cols = first.split("\t")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT core.ensure_safety_reading_partitions(%s::timestamptz, %s::timestamptz)",
                    (os.environ["BENCH_FROM"], os.environ["BENCH_TO"]))
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur, open(rows_file, "rb") as fh:
        fh.readline()
        cur.copy_expert(f"COPY {READINGS} ({', '.join(cols)}) FROM STDIN", fh)
        n = cur.rowcount
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "rows": n, "peak_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --- the run -----------------------------------------------------------------------------


def dump(url: str, sql: str, path: Path, header: bool = False) -> None:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur, open(path, "wb") as fh:
        if header:
            cur.execute(f"SELECT * FROM ({sql}) q LIMIT 0")
            fh.write(("\t".join(d[0] for d in cur.description) + "\n").encode())
        cur.copy_expert(f"COPY ({sql}) TO STDOUT", fh)
    conn.close()


def measure(size: str, scale: str, work: Path, server: str) -> dict:
    landing = work / size / "landing"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "minewatch.cli", "sample", str(landing), "--mines", "1", "--scale", scale,
                    "--seed", "11"], check=True, capture_output=True)
    gen_s = time.perf_counter() - t0
    files = sum(1 for p in landing.rglob("*") if p.is_file())
    ingest_db, ingest_url = create_db(server)
    floor_db, floor_url = create_db(server)
    try:
        base_env = {**os.environ, "MINEWATCH_HOME": str(work / size / "home"), "PYTHONWARNINGS": "ignore"}
        ingest = child("ingest", str(landing), env={**base_env, "MINEWATCH_WAREHOUSE_URL": ingest_url})
        rows_file, ledger_file = work / size / "rows.tsv", work / size / "ledger.tsv"
        dump(ingest_url, f"SELECT * FROM {READINGS}", rows_file, header=True)
        dump(ingest_url, "SELECT * FROM ledger.file", ledger_file)
        conn = psycopg2.connect(ingest_url)
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*), min(sampled_at), max(sampled_at) FROM {READINGS}")
            n, lo, hi = cur.fetchone()
            # time spent in the expectation suites, as the validation step recorded it
            cur.execute("SELECT coalesce(sum(duration_ms), 0) / 1000.0 FROM quality.validation")
            validation_s = float(cur.fetchone()[0])
        conn.close()
        subprocess.run([sys.executable, "-m", "minewatch.cli", "db", "upgrade"], check=True, capture_output=True,
                       env={**base_env, "MINEWATCH_WAREHOUSE_URL": floor_url})
        floor = child("copy", str(rows_file), str(ledger_file),
                      env={**base_env, "MINEWATCH_WAREHOUSE_URL": floor_url, "BENCH_FROM": lo.isoformat(),
                           "BENCH_TO": hi.isoformat()})
    finally:
        drop_db(server, ingest_db)
        drop_db(server, floor_db)
    return {
        "size": size, "scale": scale, "files": files, "generate_s": round(gen_s, 2),
        "ingest_rows": n, "ingest_s": round(ingest["seconds"], 2),
        "ingest_peak_rss_mb": round(ingest["peak_rss_self_mb"], 1),
        "copy_floor_rows": floor["rows"], "copy_floor_s": round(floor["seconds"], 2),
        "copy_floor_peak_rss_mb": round(floor["peak_rss_self_mb"], 1),
        "ingest_ratio_vs_copy": round(ingest["seconds"] / floor["seconds"], 2) if floor["seconds"] else None,
        "validation_s": round(validation_s, 2),
        "validation_share": round(validation_s / ingest["seconds"], 3) if ingest["seconds"] else None,
        "ingest_rows_per_s": round(n / ingest["seconds"]) if ingest["seconds"] else None,
        "copy_floor_rows_per_s": round(floor["rows"] / floor["seconds"]) if floor["seconds"] else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--sizes", default="half,full", help="comma list of: " + ", ".join(SIZES))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    a = ap.parse_args()
    if a.step == "ingest":
        print(json.dumps(step_ingest(*a.args)))
        return 0
    if a.step == "copy":
        print(json.dumps(step_copy(*a.args)))
        return 0
    server = server_url()
    results = []
    with tempfile.TemporaryDirectory(prefix="mw_bench_") as tmp:
        for size in a.sizes.split(","):
            r = measure(size, SIZES[size], Path(tmp), server)
            results.append(r)
            print(f"{size}: {r['ingest_rows']} rows, ingest {r['ingest_s']} s, COPY floor {r['copy_floor_s']} s, "
                  f"ratio {r['ingest_ratio_vs_copy']}", flush=True)
    print()
    print(f"{'size':<6}{'rows':>10}{'files':>7}{'ingest s':>10}{'rows/s':>10}{'floor s':>9}{'rows/s':>10}"
          f"{'ratio':>7}{'RSS MB':>8}{'floor RSS':>10}")
    for r in results:
        print(f"{r['size']:<6}{r['ingest_rows']:>10}{r['files']:>7}{r['ingest_s']:>10}{r['ingest_rows_per_s']:>10}"
              f"{r['copy_floor_s']:>9}{r['copy_floor_rows_per_s']:>10}{r['ingest_ratio_vs_copy']:>7}"
              f"{r['ingest_peak_rss_mb']:>8}{r['copy_floor_peak_rss_mb']:>10}")
    growth = None
    if len(results) == 2 and results[0]["ingest_s"]:
        rows_x = results[1]["ingest_rows"] / results[0]["ingest_rows"]
        time_x = results[1]["ingest_s"] / results[0]["ingest_s"]
        growth = {"rows_factor": round(rows_x, 2), "time_factor": round(time_x, 2),
                  "linear": bool(0.75 * rows_x <= time_x <= 1.25 * rows_x)}
        print(f"\ngrowth: {rows_x:.2f}x rows took {time_x:.2f}x time ({'linear' if growth['linear'] else 'NOT linear'})")
    full = results[-1]
    summary = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "ingest_rows": full["ingest_rows"], "ingest_s": full["ingest_s"], "copy_floor_s": full["copy_floor_s"],
        "ingest_ratio_vs_copy": full["ingest_ratio_vs_copy"], "ingest_peak_rss_mb": full["ingest_peak_rss_mb"],
        "validation_share": full["validation_share"],
        "sizes": results, "growth": growth,
        "detection": None,  # room for detection timings
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
