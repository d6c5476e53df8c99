"""Landing folder to warehouse: the functions that the CLI and the DAGs both call."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import groupby
from pathlib import Path

from connectors.catalog import identify, match
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
    """Register and load the given landing files through the one load path."""
    path_ = LoadPath(conn, settings)
    outcome = Outcome()
    total = len(paths)
    queue: list[Delivery] = []

    def flush() -> None:
        for _, group in groupby(queue, key=_batch_key):
            outcome.merge(path_.load_batch(list(group)))
        queue.clear()

    chunk = max(1, settings.batch_files)
    for start in range(0, total, chunk):
        part = paths[start:start + chunk]
        for delivery in path_.register(part, outcome):
            if queue and (_batch_key(queue[-1]) != _batch_key(delivery) or len(queue) >= settings.batch_files):
                flush()
            queue.append(delivery)
        if progress:
            progress(min(start + chunk, total), total, part[-1].name)
    flush()
    return outcome


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
        return outcome
    finally:
        conn.close()
