"""What the ingest DAGs call: find a feed's new landing files, load them, run detection.

DAG files stay wiring; everything here is the same code `minewatch run` uses.
Task code talks to the warehouse only, never to Airflow's metadata database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minewatch.config import load_settings
from minewatch.pipeline import ingest, landing_files, send_alerts
from minewatch.warehouse import connect, ensure_upgraded, resolve_url

DEFAULT_LANDING = "/srv/minewatch/landing"


@contextmanager
def _warehouse() -> Iterator[tuple]:
    """(connection, settings) of the configured warehouse, upgraded if the code is newer; closed afterwards."""
    settings = load_settings()
    conn = connect(resolve_url(settings), settings.statement_timeout_s)
    try:
        ensure_upgraded(conn)
        yield conn, settings
    finally:
        conn.close()


def _summary(outcome) -> dict:
    """What a load or pull did, small enough for XCom."""
    return {"files": dict(outcome.files), "rows_loaded": outcome.rows_loaded,
            "rows_rejected": outcome.rows_rejected, "problems": outcome.problems[:20], "mails": outcome.mails}


def landing_folder(params: dict | None) -> Path:
    """The landing folder a run reads: the DAG param, else MINEWATCH_LANDING."""
    value = (params or {}).get("landing") or os.environ.get("MINEWATCH_LANDING") or DEFAULT_LANDING
    return Path(value)


def new_files(feed: str, landing: Path) -> list[str]:
    """Paths of the feed's files that the ledger does not hold in a final state (new, changed, pending, failed)."""
    from minewatch import archive
    from minewatch.load import FINAL_STATUSES

    paths = landing_files(landing, [feed])
    if not paths:
        return []
    with _warehouse() as (conn, _), conn, conn.cursor() as cur:
        cur.execute("SELECT path, sha256 FROM ledger.file WHERE status = ANY(%s)", (list(FINAL_STATUSES),))
        done = set(cur.fetchall())
    return [str(p) for p in paths if (str(p), archive.sha256_of(p.read_bytes())) not in done]


def load_files(paths: list[str]) -> dict:
    """Load the given landing files through the load path; a summary small enough for XCom."""
    with _warehouse() as (conn, settings):
        outcome = ingest(conn, settings, [Path(p) for p in paths])
        outcome.mails.extend(send_alerts(conn, settings, outcome))
    return _summary(outcome)


def send_digests() -> dict:
    """The daily mails: the data-quality digest and the risk digest of the latest scored day."""
    from minewatch.alerts import digest, risk_digest

    with _warehouse() as (conn, settings):
        return {"mails": digest(conn, settings) + risk_digest(conn, settings)}


def detect() -> dict:
    """Run every detection rule; how many findings each added or changed."""
    from minewatch.detect import run_detection

    with _warehouse() as (conn, _):
        return run_detection(conn)


def pull_api(feed: str) -> dict | None:
    """Pull a feed's vendor API (positions, or cameras and events) into the warehouse; None when none is set up.

    Raises when the pull of any mine stopped early (API down, token refused, a page that
    would not load), so Airflow retries the task and mails its failure; what was committed
    before stays, and the next try resumes from the stored watermark.
    """
    from minewatch.pull import PullError, api_settings
    from minewatch.pull import pull_api as pull

    api = api_settings(feed)
    if api is None:
        return None
    with _warehouse() as (conn, settings):
        outcome = pull(conn, settings, feed, api)
        outcome.mails.extend(send_alerts(conn, settings, outcome))
    if outcome.files.get("api_failed"):
        raise PullError(f"the {feed} API pull stopped early for {outcome.files['api_failed']} mine(s): "
                        f"{outcome.problems[-1]}")
    return _summary(outcome)
