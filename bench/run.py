"""`make bench`: minewatch's ingest against the PostgreSQL COPY floor, at two sizes, and the other feeds.

For each size (points × cadence for one mine-day of national CDSS files, made by
`minewatch sample --scale`):

(b) ingest  — minewatch's full path from landing files: ledger, archive, parse, validate,
              stage or COPY, merge, in a fresh warehouse database; then detection over it.
(a) floor   — PostgreSQL COPY of the very rows (b) stored, into the same final readings
              table with its indexes and partitions, in a second fresh database: once in
              the primary key's order (the fastest COPY, the floor the ratio is taken
              against) and once in delivery order (file by file, as the vendor sent them).
(c) feeds   — the other feeds of a province's day (`minewatch sample --mines N`): meter
              intervals (ESPI and register files), personnel positioning (RYSS snapshots
              and the rest of C.1) and camera events (the D.2 CSV), each ingested alone.

Every measured step runs in a fresh interpreter. Its peak memory is the largest sum, sampled
every 20 ms, of its own RSS and its children's (the checker process) — and, reported apart,
its own peak RSS from the kernel. It prints a table and writes bench/results/latest.json.
The server is MINEWATCH_WAREHOUSE_URL's (databases are created and dropped there) or, without
it, the embedded one. Nothing here is a test: it measures, it does not assert.
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
import threading
import time
import uuid
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

READINGS = "core.safety_reading"
COLUMNS = "file_id, record_no, mine_code, point_code, sampled_at, value, raw_status, conditions"
SIZES = {"half": "250:10", "full": "500:10"}
FEEDS = {  # feed -> the catalog kinds that must exist for it to be measured
    "meters": ("espi", "meter_readings"),
    "positioning": ("RYSS",),
    "video": ("video",),
}
PROVINCE_MINES = 30
DETECTION_TIMEOUT_S = 120
PAGE = os.sysconf("SC_PAGE_SIZE")


def server_url() -> str:
    from minewatch.warehouse import resolve_url

    return resolve_url()


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


def upgrade(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "minewatch.cli", "db", "upgrade"], check=True, capture_output=True, env=env)


def child(step: str, *args: str, env: dict) -> dict:
    """Run one measured step in a fresh interpreter, so its memory is its own."""
    proc = subprocess.run([sys.executable, __file__, "--step", step, *args], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench step {step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- in the step process ---------------------------------------------------------------------


class TreeMemory:
    """The peak of this process's RSS plus its children's, sampled every 20 ms in a thread.

    The children (the checker process) are looked for every half second, their RSS read at
    every sample: the sampling costs the measured process little.
    """

    def __init__(self) -> None:
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _rss(pid: int | str) -> int:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def _children(self) -> list[str]:
        pids = []
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            try:
                with open(f"/proc/{os.getpid()}/task/{task}/children") as fh:
                    pids += fh.read().split()
            except OSError:
                continue
        out = []
        for pid in pids:  # only children that are running their own program (not in the instant after fork)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"minewatch.pipeline" in fh.read():
                        out.append(pid)
            except OSError:
                continue
        return out

    RESCAN = 25  # samples between two looks for the children (a look lists every thread's children)

    def _run(self) -> None:
        children: list[str] = []
        n = 0
        while self.running:
            sizes = [self._rss(p) for p in children]
            if n % self.RESCAN == 0 or 0 in sizes:  # a child gone, or a new one perhaps
                children = self._children()
                sizes = [self._rss(p) for p in children]
            n += 1
            self.peak = max(self.peak, self._rss(os.getpid()) + sum(sizes))
            time.sleep(0.02)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return round(self.peak / 2**20, 1)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a local process (the server backend of a connection), or nan."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _stages() -> dict:
    """Wrap the load path's stages to add up their wall time (and the committer backend's CPU)."""
    from minewatch import archive, load, pipeline

    spent: dict[str, float] = {}

    def timed(owner, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, attr, wrapper)

    timed(pipeline, "archived", "archive_s (archive thread: read, hash, store the files, ahead of the loader)")
    timed(archive, "sync", "archive_sync_s (archive thread: one flush to disk per chunk of files)")
    timed(load.LoadPath, "enter", "enter_s (main thread: ledger rows of archived files)")
    timed(load.LoadPath, "validate", "validate_s (main thread: frames, expectation suites)")
    timed(load.LoadPath, "parse", "parse_and_validate_in_main_s (small runs: no checker process)")
    timed(pipeline, "parse_files", "parse_s (main thread: files into blocks in the key's order)")
    timed(load.LoadPath, "commit", "commit_s (committer thread: COPY or stage+merge, ledger, results)")
    timed(load.LoadPath, "_copy_direct", "copy_direct_s (within commit: readings COPYed straight in)")
    timed(pipeline.CheckedLater, "result", "wait_for_checker_s (main thread waiting for the checker process)")
    timed(pipeline.Committer, "submit", "wait_for_committer_s (main thread waiting to hand over a batch)")
    timed(pipeline.Committer, "wait", "wait_for_phase_s (main thread waiting at a phase's end)")
    backend_cpu: list[float] = []
    close = pipeline.Committer.close

    def committer_close(self):  # the server's CPU for the committer's connection, read before it ends
        with self.path.conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        self.path.conn.rollback()
        close_at = _cpu(pid)
        close(self)
        backend_cpu.append(close_at)

    pipeline.Committer.close = committer_close
    spent["_backend_cpu"] = backend_cpu  # type: ignore[assignment]
    return spent


def step_ingest(landing: str, feeds: str = "") -> dict:
    from minewatch.config import load_settings
    from minewatch.pipeline import run_landing
    from minewatch.warehouse import connect, resolve_url

    settings = load_settings()
    spent = _stages()
    memory = TreeMemory()
    cpu0, t0 = time.process_time(), time.perf_counter()
    outcome = run_landing(Path(landing), feeds=feeds.split(",") if feeds else None, settings=settings, detect=False)
    seconds = time.perf_counter() - t0
    main_cpu = time.process_time() - cpu0
    peak_tree = memory.stop()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    backend_cpu = spent.pop("_backend_cpu")
    result = {
        "seconds": seconds, "rows": outcome.rows_loaded, "rejected": outcome.rows_rejected,
        "files": dict(outcome.files), "problems": outcome.problems[:5],
        "peak_rss_mb": peak_tree,
        "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_s": {"main_process": round(main_cpu, 2),
                  "checker_process": round(children.ru_utime + children.ru_stime, 2),
                  "committer_backend": round(sum(backend_cpu), 2) if backend_cpu else None},
        "stages_s": {k: round(v, 2) for k, v in sorted(spent.items())},
    }
    if not feeds:  # detection over the mine-day just loaded, rule by rule (each given up after DETECTION_TIMEOUT_S)
        from minewatch.detect import UPSERT, rules

        conn = connect(resolve_url(settings), DETECTION_TIMEOUT_S)
        with conn, conn.cursor() as cur:
            cur.execute("SET jit = off")  # as run_detection does
        per_rule: dict[str, float | str] = {}
        try:
            for name, rule in rules():
                t = time.perf_counter()
                try:
                    with conn, conn.cursor() as cur:
                        cur.execute(UPSERT.format(rule=rule))
                    per_rule[name] = round(time.perf_counter() - t, 2)
                except Exception as exc:  # noqa: BLE001 - measured when it runs, reported when it does not
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    per_rule[name] = f"{type(exc).__name__}: {first}"
        finally:
            conn.close()
        timed_out = [n for n, v in per_rule.items() if isinstance(v, str)]
        result["detection_s"] = None if timed_out else round(sum(per_rule.values()), 2)
        result["detection_rules_s"] = per_rule
    return result


def step_copy(rows_file: str, ledger_file: str) -> dict:
    from minewatch.warehouse import connect, resolve_url

    conn = connect(resolve_url())
    with conn, conn.cursor() as cur, open(ledger_file, "rb") as fh:
        cur.copy_expert("COPY ledger.file FROM STDIN", fh)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT core.ensure_safety_reading_partitions(%s::timestamptz, %s::timestamptz)",
                    (os.environ["BENCH_FROM"], os.environ["BENCH_TO"]))
    memory = TreeMemory()
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur, open(rows_file, "rb") as fh:
        cur.copy_expert(f"COPY {READINGS} ({COLUMNS}) FROM STDIN", fh, size=1024 * 1024)
        n = cur.rowcount
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "rows": n, "peak_rss_mb": memory.stop()}


# --- the run -----------------------------------------------------------------------------


def dump(url: str, sql: str, path: Path) -> None:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur, open(path, "wb") as fh:
        cur.copy_expert(f"COPY ({sql}) TO STDOUT", fh)
    conn.close()


def machine(server: str) -> dict:
    cpu = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout  # noqa: S607
        cpu = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except OSError:
        pass
    mem_mb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_mb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration, ValueError):
        pass
    conn = psycopg2.connect(server)
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                    "current_setting('max_wal_size'), current_setting('synchronous_commit')")
        version, shared_buffers, max_wal, sync = cur.fetchone()
    conn.close()
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_mb": mem_mb, "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": {"version": version, "shared_buffers": shared_buffers, "max_wal_size": max_wal,
                           "synchronous_commit": sync}}


def measure_readings(size: str, scale: str, work: Path, server: str) -> dict:
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
        upgrade({**base_env, "MINEWATCH_WAREHOUSE_URL": ingest_url})
        ingest = child("ingest", str(landing), env={**base_env, "MINEWATCH_WAREHOUSE_URL": ingest_url})
        by_key, by_delivery = work / size / "by_key.tsv", work / size / "by_delivery.tsv"
        ledger = work / size / "ledger.tsv"
        dump(ingest_url, f"SELECT {COLUMNS} FROM {READINGS} ORDER BY mine_code, sampled_at, point_code", by_key)
        dump(ingest_url, f"SELECT {COLUMNS} FROM {READINGS} ORDER BY file_id, record_no", by_delivery)
        dump(ingest_url, "SELECT * FROM ledger.file", ledger)
        conn = psycopg2.connect(ingest_url)
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*), min(sampled_at), max(sampled_at) FROM {READINGS}")
            n, lo, hi = cur.fetchone()
            cur.execute("SELECT coalesce(sum(duration_ms), 0) / 1000.0 FROM quality.validation")
            validation_s = float(cur.fetchone()[0])
        conn.close()
        floor_env = {**base_env, "MINEWATCH_WAREHOUSE_URL": floor_url, "BENCH_FROM": lo.isoformat(),
                     "BENCH_TO": hi.isoformat()}
        upgrade(floor_env)
        floor = child("copy", str(by_key), str(ledger), env=floor_env)
        drop_db(server, floor_db)
        floor_db, floor_url = create_db(server)
        floor_env["MINEWATCH_WAREHOUSE_URL"] = floor_url
        upgrade(floor_env)
        delivery = child("copy", str(by_delivery), str(ledger), env=floor_env)
    finally:
        drop_db(server, ingest_db)
        drop_db(server, floor_db)
        for f in ("by_key.tsv", "by_delivery.tsv", "ledger.tsv"):
            (work / size / f).unlink(missing_ok=True)
    s, fs = ingest["seconds"], floor["seconds"]
    return {
        "size": size, "scale": scale, "files": files, "generate_s": round(gen_s, 2),
        "ingest_rows": n, "ingest_s": round(s, 2), "ingest_rows_per_s": round(n / s) if s else None,
        "ingest_peak_rss_mb": ingest["peak_rss_mb"], "ingest_peak_rss_main_mb": ingest["peak_rss_main_mb"],
        "ingest_files": ingest["files"], "ingest_problems": ingest["problems"],
        "copy_floor_rows": floor["rows"], "copy_floor_s": round(fs, 2),
        "copy_floor_rows_per_s": round(floor["rows"] / fs) if fs else None,
        "copy_floor_peak_rss_mb": floor["peak_rss_mb"],
        "copy_delivery_order_s": round(delivery["seconds"], 2),
        "ingest_ratio_vs_copy": round(s / fs, 2) if fs else None,
        "ingest_ratio_vs_delivery_order_copy": round(s / delivery["seconds"], 2) if delivery["seconds"] else None,
        "validation_s": round(validation_s, 2), "validation_share": round(validation_s / s, 3) if s else None,
        "cpu_s": ingest["cpu_s"], "stages_s": ingest["stages_s"],
        "detection_s": ingest.get("detection_s"), "detection_rules_s": ingest.get("detection_rules_s"),
    }


def measure_feeds(mines: int, work: Path, server: str) -> list[dict]:
    from connectors.catalog import KINDS

    wanted = [f for f, kinds in FEEDS.items() if all(k in KINDS for k in kinds)]
    if not wanted:
        return []
    landing = work / "province" / "landing"
    subprocess.run([sys.executable, "-m", "minewatch.cli", "sample", str(landing), "--mines", str(mines), "--days", "1",
                    "--seed", "5"], check=True, capture_output=True)
    db, url = create_db(server)
    out = []
    try:
        env = {**os.environ, "MINEWATCH_HOME": str(work / "province" / "home"), "PYTHONWARNINGS": "ignore",
               "MINEWATCH_WAREHOUSE_URL": url}
        upgrade(env)
        child("ingest", str(landing), "registry", env=env)  # reference data first, not measured
        for feed in wanted:
            r = child("ingest", str(landing), feed, env=env)
            s = r["seconds"]
            out.append({"feed": feed, "mines": mines, "files": sum(r["files"].values()), "rows": r["rows"],
                        "rejected": r["rejected"], "seconds": round(s, 2),
                        "rows_per_s": round(r["rows"] / s) if s else None, "peak_rss_mb": r["peak_rss_mb"],
                        "peak_rss_main_mb": r["peak_rss_main_mb"], "problems": r["problems"],
                        "detection_s": None})
    finally:
        drop_db(server, db)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--sizes", default="half,full", help="comma list of: " + ", ".join(SIZES))
    ap.add_argument("--province-mines", type=int, default=PROVINCE_MINES, help="mines of the province for (c); 0: skip")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    a = ap.parse_args()
    if a.step == "ingest":
        print(json.dumps(step_ingest(*a.args)))
        return 0
    if a.step == "copy":
        print(json.dumps(step_copy(*a.args)))
        return 0
    server = server_url()
    results, feeds = [], []
    with tempfile.TemporaryDirectory(prefix="mw_bench_") as tmp:
        for size in a.sizes.split(","):
            r = measure_readings(size, SIZES[size], Path(tmp), server)
            results.append(r)
            print(f"{size}: {r['ingest_rows']} rows, ingest {r['ingest_s']} s, COPY floor {r['copy_floor_s']} s "
                  f"(delivery order {r['copy_delivery_order_s']} s), ratio {r['ingest_ratio_vs_copy']}", flush=True)
        if a.province_mines:
            feeds = measure_feeds(a.province_mines, Path(tmp), server)
    print()
    print(f"{'size':<6}{'rows':>10}{'files':>7}{'ingest s':>10}{'rows/s':>9}{'floor s':>9}{'rows/s':>9}"
          f"{'ratio':>7}{'RSS MB':>8}{'floor RSS':>10}{'detect s':>9}")
    for r in results:
        print(f"{r['size']:<6}{r['ingest_rows']:>10}{r['files']:>7}{r['ingest_s']:>10}{r['ingest_rows_per_s']:>9}"
              f"{r['copy_floor_s']:>9}{r['copy_floor_rows_per_s']:>9}{r['ingest_ratio_vs_copy']:>7}"
              f"{r['ingest_peak_rss_mb']:>8}{r['copy_floor_peak_rss_mb']:>10}{r['detection_s'] or '-':>9}")
    if feeds:
        print(f"\n{'feed':<12}{'mines':>6}{'files':>7}{'rows':>10}{'s':>8}{'rows/s':>9}{'RSS MB':>8}")
        for f in feeds:
            print(f"{f['feed']:<12}{f['mines']:>6}{f['files']:>7}{f['rows']:>10}{f['seconds']:>8}{f['rows_per_s']:>9}"
                  f"{f['peak_rss_mb']:>8}")
    growth = None
    if len(results) == 2 and results[0]["ingest_s"]:
        rows_x = results[1]["ingest_rows"] / results[0]["ingest_rows"]
        time_x = results[1]["ingest_s"] / results[0]["ingest_s"]
        floor_x = results[1]["copy_floor_s"] / results[0]["copy_floor_s"] if results[0]["copy_floor_s"] else None
        growth = {"rows_factor": round(rows_x, 2), "time_factor": round(time_x, 2),
                  "floor_time_factor": round(floor_x, 2) if floor_x else None,
                  "linear": bool(0.75 * rows_x <= time_x <= 1.25 * rows_x),
                  "grows": "linear" if 0.75 * rows_x <= time_x <= 1.25 * rows_x
                  else "less than linear" if time_x < rows_x else "MORE than linear"}
        print(f"\ngrowth: {rows_x:.2f}x rows took {time_x:.2f}x time (floor {floor_x:.2f}x): {growth['grows']}"
              + (" (a fixed cost per run weighs more on the smaller size)" if growth["grows"] == "less than linear" else ""))
    full = results[-1]
    summary = {
        "machine": machine(server),
        "ingest_rows": full["ingest_rows"], "ingest_s": full["ingest_s"], "copy_floor_s": full["copy_floor_s"],
        "ingest_ratio_vs_copy": full["ingest_ratio_vs_copy"], "ingest_peak_rss_mb": full["ingest_peak_rss_mb"],
        "copy_delivery_order_s": full["copy_delivery_order_s"],
        "ingest_ratio_vs_delivery_order_copy": full["ingest_ratio_vs_delivery_order_copy"],
        "validation_share": full["validation_share"],
        "sizes": results, "growth": growth, "feeds": feeds,
        "detection": {r["size"]: {"total_s": r["detection_s"], "rules_s": r["detection_rules_s"]} for r in results},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
