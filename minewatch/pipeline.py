"""Landing folder to warehouse: the functions that the CLI and the DAGs both call."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import pickle
import queue
import selectors
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from connectors.catalog import match
from minewatch.config import Settings, load_settings
from minewatch import archive
from minewatch.load import Delivery, LoadPath, Outcome, ParsedBatch, apply_verdict, archived, parse_files
from minewatch.warehouse import connect, ensure_upgraded, resolve_url

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (files done, files in all, what is being done)
REGISTER_FILES = 1000  # landing files archived and entered in the ledger per transaction (one flush to disk each)
ANALYZE_AFTER_ROWS = 10_000  # a load that changed a core table by this many rows refreshes its statistics
REGISTER_AHEAD = 2  # chunks registered ahead of the one being loaded, in a large run (see ingest)
ARCHIVE_AHEAD = 2  # chunks archived (read, hashed, stored, flushed) ahead of the last one registered (Archiver)
CHECKING = 2  # batches parsed and with the checker process at most (each holds its rows in memory)
# how long the main thread waits for the checker's next verdict at a phase's end before it registers a
# chunk of files meanwhile (a chunk takes a few tenths of a second; a small batch's verdict less)
VERDICT_WAIT_S = 0.1


class LandingError(Exception):
    """The landing folder cannot be read; one line for the operator."""


def landing_files(landing: Path, feeds: Iterable[str] | None = None) -> list[Path]:
    """Every file under the landing folder, in load order: reference data, definitions, facts.

    With `feeds`, only files of those feeds; without, every file, recognised or not.
    """
    if not landing.exists():
        raise LandingError(f"landing folder {landing} does not exist")
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} is not a folder")
    wanted = set(feeds) if feeds else None
    ordered = []
    for path in landing.rglob("*"):
        if not path.is_file():
            continue
        found = match(path.name)
        if wanted is not None and (found is None or found.feed not in wanted):
            continue
        phase = found.phase if found else 9
        stamp = (found.context.stamp if found else None) or datetime.min
        ordered.append(((phase, stamp, str(path)), path))
    ordered.sort(key=lambda x: x[0])
    return [p for _, p in ordered]


def _batch_key(d: Delivery) -> tuple:
    return (d.match.feed, d.match.kind, d.match.context.mine_code)


def ingest(conn, settings: Settings, paths: list[Path], progress: Progress | None = None) -> Outcome:
    """Register and load the given landing files through the one load path.

    Files are batched by feed, kind and mine (up to MINEWATCH_BATCH_FILES files and about
    MINEWATCH_BATCH_MB megabytes each: a batch of real-time files holds a few hundred thousand
    readings whatever a file's size), whatever order the mines' files interleave in; every batch
    of a phase (reference data, definitions, facts) is loaded before the first file of the next phase.

    With MINEWATCH_OVERLAP (the default), a second connection commits each batch (COPY, merge,
    ledger) while this thread parses the next ones, a thread archives the next chunks of files
    (`Archiver`: read, hash, store, flush) while this one enters the chunks before in the ledger,
    and for a run of more than two batches' worth of bytes a worker process (Checker) runs the
    expectation suites over every batch: Python's work and the server's are spread over the
    machine's cores. Batches commit in the same order either way, one transaction each.
    """
    path_ = LoadPath(conn, settings)
    committer = Committer.start(conn, settings) if settings.overlap else None
    checker = (Checker.start(settings) if committer and settings.validate and _bytes(paths) > 2 * settings.batch_bytes
               else None)
    parts: list[Outcome] = []  # what each step did (registering a chunk, loading a batch), in the order done
    waiting: deque[tuple[Outcome, list[Delivery], ParsedBatch, CheckedLater]] = deque()  # with the checker
    total = len(paths)
    queues: dict[tuple, list[Delivery]] = {}  # batch key -> its deliveries, in landing order
    sizes: dict[tuple, int] = {}  # batch key -> bytes queued
    phase: int | None = None
    barrier = False  # a phase ended: its batches must be committed before the next phase's are checked

    def hand_over(done: Outcome, batch: list[Delivery], work: ParsedBatch | None,
                  failure: BaseException | None) -> None:
        conn.rollback()  # end the read-only transaction of validation's lookups
        committer.submit(done, work=work, batch=batch, failure=failure)

    def finish(done: Outcome, batch: list[Delivery], work: ParsedBatch, checked: CheckedLater) -> None:
        """Take what the checker process did with a batch, and hand the batch to the committer."""
        try:
            apply_verdict(work, checked.result())
        except Exception as exc:  # noqa: BLE001 - a bad batch, or the process died: retried in halves
            work.close()
            hand_over(done, batch, None, exc)
            return
        hand_over(done, batch, work, None)

    def flush(key: tuple) -> None:
        nonlocal checker, barrier
        sizes.pop(key, None)
        batch = queues.pop(key)
        if committer is None:
            parts.append(path_.load_batch(batch))
            return
        done = Outcome()
        parts.append(done)
        try:  # parsed here (in bulk where the stream can), validated by the checker process if there is one
            work = parse_files(batch, settings.archive_dir) if checker else path_.parse(batch)
            give_back_memory()
        except Exception as exc:  # noqa: BLE001 - e.g. a bad batch of several files: retried in halves
            hand_over(done, batch, None, exc)
            return
        if checker is None:
            hand_over(done, batch, work, None)
            return
        if barrier:
            settle()
            barrier = False
        try:
            checked = checker.submit(batch, work)
            work.blocks = {}  # the checker has them now; the commit needs the COPY text only
            waiting.append((done, batch, work, checked))
        except Exception as exc:  # noqa: BLE001 - the process is gone: work here from now on
            log.warning("checker process unavailable (%s); validating in this process", exc)
            checker.close()
            checker = None
            try:
                work = path_.validate(work)
            except Exception as failure:  # noqa: BLE001 - retried in halves
                hand_over(done, batch, None, failure)
                return
            hand_over(done, batch, work, None)
            return
        while len(waiting) > CHECKING:  # at most CHECKING batches wait for the checker: memory stays bounded
            finish_oldest()
        pass_on()

    def finish_oldest() -> None:
        """Finish the oldest batch with the checker; while its verdict is not in, register the next chunks meanwhile.

        (The checker's first verdict waits for Great Expectations to be imported: seconds in
        which this thread registers files instead of waiting.)
        """
        while not waiting[0][3].ready(timeout=VERDICT_WAIT_S) and register_next(wait=False):
            pass
        finish(*waiting.popleft())

    def pass_on() -> None:
        """Hand each batch whose verdict is in to the committer while it has room (it never waits for work)."""
        while waiting and waiting[0][3].ready() and committer.has_room():
            finish(*waiting.popleft())

    def settle() -> None:
        """Wait until every batch handed over is committed: the next phase's files may refer to them."""
        while waiting:
            finish_oldest()
        if committer is not None:
            committer.wait()

    def flush_all(phase_ends: bool = False) -> None:
        nonlocal barrier
        for key in list(queues):
            flush(key)
        if checker is not None and phase_ends:
            barrier = True  # settled when the next phase's first batch is parsed, before it is checked
        else:
            settle()

    chunk = max(1, min(settings.batch_files, REGISTER_FILES))
    chunks = [paths[start:start + chunk] for start in range(0, total, chunk)]
    # with the checker process starting up (Great Expectations takes seconds to import), register a few
    # chunks ahead: that work is done while the first phase waits for its first verdicts
    ahead = REGISTER_AHEAD if checker is not None else 0
    ready: deque[tuple[list[Path], list[Delivery]]] = deque()  # chunks registered, not yet batched
    registered_chunks = 0

    archiver = Archiver(settings.archive_dir, chunks)

    def register_next(wait: bool = True) -> bool:
        """Enter the next chunk of files in the ledger; False when none is left (or, unless `wait`, none archived yet)."""
        nonlocal registered_chunks
        if registered_chunks >= len(chunks) or not (wait or archiver.has(registered_chunks)):
            return False
        part = chunks[registered_chunks]
        seen, registered = archiver.take(registered_chunks)
        parts.append(registered)
        ready.append((part, path_.enter(seen, registered, synced=True)))
        registered_chunks += 1
        return True

    try:
        done_files = 0
        for _ in chunks:
            while len(ready) <= ahead and register_next(wait=not ready):
                pass_on()
            part, deliveries = ready.popleft()
            for delivery in deliveries:
                if phase is not None and delivery.match.phase != phase:
                    flush_all(phase_ends=True)
                phase = delivery.match.phase
                key = _batch_key(delivery)
                queues.setdefault(key, []).append(delivery)
                sizes[key] = sizes.get(key, 0) + delivery.size
                if len(queues[key]) >= settings.batch_files or sizes[key] >= settings.batch_bytes:
                    flush(key)
            done_files += len(part)
            if progress:
                progress(done_files, total, part[-1].name)
        flush_all()
    finally:
        archiver.close()
        while waiting:  # the run failed: nothing more is committed
            pending = waiting.popleft()[2]
            if pending is not None:
                pending.close()
        if checker is not None:
            checker.close()
        if committer is not None:
            committer.close()
    outcome = Outcome()
    for done in parts:
        outcome.merge(done)
    apply_retention(conn, settings)
    if outcome.rows_loaded:
        refresh_statistics(conn)
    return outcome


def _bytes(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def _second_connection(conn, settings: Settings, name: str):
    """Another connection to the database `conn` is on (the configured warehouse), or None."""
    try:
        other = connect(resolve_url(settings), settings.statement_timeout_s, application_name=name)
    except Exception as exc:  # noqa: BLE001 - overlap is an optimisation: without it the load is the same
        log.info("no second connection (%s): working in one thread", exc)
        return None
    if (other.info.dbname, other.info.host, other.info.port) != (conn.info.dbname, conn.info.host, conn.info.port):
        other.close()  # the caller's connection is not the configured warehouse's
        return None
    return other


class Archiver:
    """Archives the run's chunks of landing files in a thread, in order, ahead of the loader.

    For each chunk: every file read, hashed and kept in the archive, then one flush to disk
    (`archive.sync`); `take` hands the chunk over for its ledger rows (`LoadPath.enter`). The
    reading, hashing and waiting for the disk happen while the loader parses and commits the
    chunks before; at most ARCHIVE_AHEAD chunks are archived beyond the last one taken.
    """

    def __init__(self, archive_dir: Path, chunks: list[list[Path]]):
        self.archive_dir, self.chunks = archive_dir, chunks
        self.done: dict[int, tuple[list, Outcome, BaseException | None]] = {}
        self.taken = 0
        self.stopped = False
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="minewatch-archive", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for k, part in enumerate(self.chunks):
            with self.changed:
                while k > self.taken + ARCHIVE_AHEAD and not self.stopped:
                    self.changed.wait()
                if self.stopped:
                    return
            outcome, seen, failure = Outcome(), [], None
            try:
                seen = archived(self.archive_dir, part, outcome)
                if seen:
                    archive.sync()
            except BaseException as exc:  # noqa: BLE001 - raised in the loader's thread by take()
                failure = exc
            with self.changed:
                self.done[k] = (seen, outcome, failure)
                self.changed.notify_all()
            if failure is not None:
                return

    def has(self, k: int) -> bool:
        """Whether chunk k is archived (or failed): `take` would not wait."""
        with self.changed:
            return k in self.done

    def take(self, k: int) -> tuple[list, Outcome]:
        """Chunk k archived and durable: its (place, name, size, sha256, match) list, and its unreadable files."""
        with self.changed:
            while k not in self.done:
                self.changed.wait()
            seen, outcome, failure = self.done.pop(k)
            self.taken = k + 1
            self.changed.notify_all()
        if failure is not None:
            raise failure
        return seen, outcome

    def close(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()
        self.thread.join()


class CheckFailed(Exception):
    """The checker process could not validate a batch (the batch is retried here, in halves)."""


class Checker:
    """A worker process (`python -m minewatch.pipeline --check`) that runs the expectation suites.

    It validates batches while this process registers and parses the next, so Python's work is
    shared between two processes (Great Expectations' fixed cost per suite run is most of it).

    A job is a batch's deliveries, the names of the spool files it needs (`Spool.handed`: the
    targets with no block, and the rejects; still owned by this process), what each file gave
    and the blocks of a bulk read; the answer is the
    validation verdict. Both travel as pickle files in the temporary folder, their names one line
    each over the process's stdin and stdout, so neither side can block the other on a full pipe.
    Answers come in job order.
    """

    def __init__(self, settings: Settings) -> None:
        # the warehouse this process uses, by URL: the checker never starts an embedded server of its own
        env = {**os.environ, "MINEWATCH_WAREHOUSE_URL": resolve_url(settings)}
        self.proc = subprocess.Popen([sys.executable, "-m", "minewatch.pipeline", "--check"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.answers = selectors.DefaultSelector()  # to ask whether an answer is there without waiting
        self.answers.register(self.proc.stdout, selectors.EVENT_READ)

    def ready(self, timeout: float = 0) -> bool:
        """Whether the next answer can be read without waiting (after waiting up to `timeout` seconds for it)."""
        return bool(self.answers.select(timeout=timeout))

    @classmethod
    def start(cls, settings: Settings) -> Checker | None:
        try:
            return cls(settings)
        except Exception as exc:  # noqa: BLE001 - a worker is an optimisation: without it the load is the same
            log.info("no checker process (%s): batches are validated in this one", exc)
            return None

    def submit(self, batch: list[Delivery], work: ParsedBatch) -> CheckedLater:
        """Validate a parsed batch."""
        # a target the batch's blocks hold, or a spool with no rows, needs no text: no file is written for it
        spools = {t: s.handed() if t not in work.blocks and s.rows else (None, s.rows) for t, s in work.spools.items()}
        rejects = work.rejects.handed() if work.rejects.rows else (None, 0)
        job = (batch, spools, rejects, work.parsed, work.blocks)
        self.proc.stdin.write(_dump(job) + "\n")
        self.proc.stdin.flush()
        return CheckedLater(self)

    def _next(self):
        line = self.proc.stdout.readline()
        if not line:
            raise CheckFailed(f"the checker process ended (exit code {self.proc.poll()})")
        status, value = _load(line.strip())
        if status != "ok":
            raise CheckFailed(value)
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pending in self.proc.stdout:  # answers never collected (the run failed): remove their files
            with contextlib.suppress(Exception):
                _load(pending.strip())
        self.answers.close()
        self.proc.stdout.close()


class CheckedLater:
    """A verdict the checker process owes; `result()` waits for it (answers are read in submission order)."""

    def __init__(self, checker: Checker):
        self.checker = checker

    def ready(self, timeout: float = 0) -> bool:
        """Whether the answer is there (asked of the oldest job only: answers come in order)."""
        return self.checker.ready(timeout)

    def result(self):
        return self.checker._next()


def _dump(obj) -> str:
    fd, name = tempfile.mkstemp(prefix="minewatch-check-", suffix=".pickle")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return name


def _load(name: str):
    try:
        with open(name, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own files, written by our own process
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


class _CheckerPath:
    """What validation needs of a LoadPath, in the checker process.

    Settings, and a connection of its own, opened when a suite first looks something up.
    """

    accept_failed_expectations = False  # an ingest: an operator's --accept is for releases

    def __init__(self) -> None:
        self.settings = load_settings()
        self._conn = None

    @property
    def conn(self):
        if self._conn is None:
            self._conn = connect(resolve_url(self.settings), self.settings.statement_timeout_s,
                                 application_name="minewatch check")
        return self._conn

    def done(self) -> None:
        if self._conn is not None:
            self._conn.rollback()  # end the read-only transaction of the lookups

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _check_worker() -> None:
    """The checker process: one job file name per line in, one answer file name per line out."""
    from minewatch import validation
    from minewatch.load import Spool

    path = _CheckerPath()
    validation._Gx.get()  # Great Expectations' context, ready while the caller parses the first batches
    for line in sys.stdin:
        job = _load(line.strip())
        try:
            batch, spools, rejects, parsed, blocks = job
            opened = {t: Spool.reading(*handed) for t, handed in spools.items()}
            opened[""] = Spool.reading(*rejects)
            try:
                answer = ("ok", validation.validate_batch(path, batch, {t: s for t, s in opened.items() if t},
                                                          opened[""], parsed, blocks))
            finally:
                for s in opened.values():
                    s.close()
        except Exception as exc:  # noqa: BLE001 - handed back as one line; the batch is retried by the caller
            answer = ("error", f"{type(exc).__name__}: {exc}")
        finally:
            path.done()
            del job
            give_back_memory()
        sys.stdout.write(_dump(answer) + "\n")
        sys.stdout.flush()
    path.close()
    sys.stderr.flush()
    # every answer is written and flushed: end here, without the interpreter's teardown (with pandas and
    # Great Expectations loaded it takes about a second, which the loader would spend waiting for it)
    os._exit(0)


def give_back_memory() -> None:
    """Return the C heap's free pages to the system (glibc keeps a batch's freed frames otherwise)."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


class Committer:
    """A thread with its own warehouse connection that commits parsed batches, one at a time, in order."""

    def __init__(self, conn2, settings: Settings):
        self.path = LoadPath(conn2, settings)
        self.jobs: queue.Queue = queue.Queue(maxsize=1)  # one batch waits while another commits: memory stays bounded
        self.crash: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="minewatch-commit", daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, conn, settings: Settings) -> Committer | None:
        """A committer on a second connection to the same database, or None (then batches commit in this thread)."""
        conn2 = _second_connection(conn, settings, "minewatch commit")
        return cls(conn2, settings) if conn2 is not None else None

    def submit(self, done: Outcome, work: ParsedBatch | None = None, batch: list[Delivery] | None = None,
               failure: BaseException | None = None) -> None:
        """Commit a parsed batch (or retry a batch whose parse failed) and put what happened into `done`."""
        self._check()
        self.jobs.put((done, work, batch, failure))

    def has_room(self) -> bool:
        """Whether `submit` would return at once."""
        return not self.jobs.full()

    def wait(self) -> None:
        """Return when every submitted batch is committed."""
        self.jobs.join()
        self._check()

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join()
        with contextlib.suppress(Exception):  # what it wrote counts in pg_stat_user_tables now (refresh_statistics)
            flush_statistics(self.path.conn)
        self.path.conn.close()
        self._check()

    def _check(self) -> None:
        if self.crash is not None:
            crash, self.crash = self.crash, None
            raise crash

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                done, work, batch, failure = job
                if self.crash is not None:  # the run is failing: leave the rest for the next run
                    if work is not None:
                        work.close()
                    continue
                try:
                    if work is None:
                        done.merge(self.path.retry(batch, failure))
                    else:
                        try:
                            done.merge(self.path.commit(work))
                        except Exception as exc:  # noqa: BLE001 - as LoadPath.load_batch: retried in halves
                            done.merge(self.path.retry(work.batch, exc))
                        finally:
                            work.close()
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                    self.crash = exc
            finally:
                self.jobs.task_done()


def send_alerts(conn, settings: Settings, outcome: Outcome | None = None) -> list[str]:
    """Incident mails for the validations of this run (and due digests); a failure is a problem line, not a crash."""
    from minewatch.alerts import after_run

    try:
        return after_run(conn, settings)
    except Exception as exc:  # noqa: BLE001 - mail must never take a load down
        conn.rollback()
        log.warning("alert mail failed: %s", exc)
        if outcome is not None:
            outcome.problems.append(f"alert mail could not be sent ({type(exc).__name__}: {exc}); retried next run")
        return []


def refresh_statistics(conn) -> list[str]:
    """ANALYZE the core tables a load changed by at least ANALYZE_AFTER_ROWS rows; the names analyzed.

    Detection runs right after a load; without fresh statistics the planner takes a new day's
    partition of millions of readings for an empty table. Autovacuum would get there, later.
    """
    flush_statistics(conn)
    with conn, conn.cursor() as cur:
        cur.execute("""SELECT format('%%I.%%I', schemaname, relname) FROM pg_stat_user_tables
                        WHERE schemaname = 'core' AND n_mod_since_analyze >= %s ORDER BY 1""", (ANALYZE_AFTER_ROWS,))
        tables = [r[0] for r in cur.fetchall()]
        for table in tables:
            cur.execute(f"ANALYZE {table}")
    return tables


def flush_statistics(conn) -> None:
    """Make this session's table counters visible to others now (PostgreSQL 15+; before, they go by UDP)."""
    with conn, conn.cursor() as cur:
        if conn.server_version >= 150000:
            cur.execute("SELECT pg_stat_force_next_flush()")  # done as the session goes idle, before the answer
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1")


def apply_retention(conn, settings: Settings) -> list[str]:
    """Drop the readings partitions older than MINEWATCH_RETENTION_DAYS; the names dropped."""
    if not settings.retention_days:
        return []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT core.drop_safety_reading_partitions_before(now() - %s * interval '1 day')",
                    (settings.retention_days,))
        dropped = [r[0] for r in cur.fetchall()]
    if dropped:
        log.info("retention: dropped %s", ", ".join(dropped))
    return dropped


def run_landing(landing: Path, feeds: Iterable[str] | None = None, settings: Settings | None = None,
                progress: Progress | None = None, detect: bool = True) -> Outcome:
    """Ingest a landing folder (all feeds, or some), then run detection: `minewatch run`."""
    settings = settings or load_settings()
    paths = landing_files(landing, feeds)
    conn = connect(resolve_url(settings), settings.statement_timeout_s)
    try:
        ensure_upgraded(conn)
        outcome = ingest(conn, settings, paths, progress)
        if detect:
            from minewatch.detect import run_detection

            run_detection(conn)
        outcome.mails.extend(send_alerts(conn, settings, outcome))
        return outcome
    finally:
        conn.close()


if __name__ == "__main__" and sys.argv[1:] == ["--check"]:
    _check_worker()
