"""Landing folder to warehouse: the functions that the CLI and the DAGs both call."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from connectors.catalog import match
from minewatch.config import Settings, load_settings
from minewatch.load import Delivery, LoadPath, Outcome
from minewatch.warehouse import connect, ensure_upgraded, resolve_url

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (files done, files in all, what is being done)


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

    Files are batched by feed, kind and mine (up to MINEWATCH_BATCH_FILES each), whatever order
    the mines' files interleave in; every batch of a phase (reference data, definitions, facts)
    is loaded before the first file of the next phase.
    """
    path_ = LoadPath(conn, settings)
    outcome = Outcome()
    total = len(paths)
    queues: dict[tuple, list[Delivery]] = {}  # batch key -> its deliveries, in landing order
    phase: int | None = None

    def flush(key: tuple) -> None:
        outcome.merge(path_.load_batch(queues.pop(key)))

    def flush_all() -> None:
        for key in list(queues):
            flush(key)

    chunk = max(1, settings.batch_files)
    for start in range(0, total, chunk):
        part = paths[start:start + chunk]
        for delivery in path_.register(part, outcome):
            if phase is not None and delivery.match.phase != phase:
                flush_all()
            phase = delivery.match.phase
            key = _batch_key(delivery)
            queues.setdefault(key, []).append(delivery)
            if len(queues[key]) >= settings.batch_files:
                flush(key)
        if progress:
            progress(min(start + chunk, total), total, part[-1].name)
    flush_all()
    apply_retention(conn, settings)
    return outcome


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
