"""
### ingest_personnel_positioning

Loads the personnel positioning system's exports (contract C.1: `RYQY RYJZ RYXX RYSS JZSS`)
found anywhere under the landing folder, and pulls the positioning platform's REST API (C.2,
from the stored watermark) when one is set up, into the warehouse; then publishes the
`minewatch_positioning` Asset that detection is scheduled on.

Areas, stations and persons (full snapshots, kept as history) load before the snapshots of the
cards underground and the base-station reports. From the snapshots the warehouse derives which
observations are reads, presence per card and area, shaft stays per card with how long each card
went unread underground, and base-station state intervals; a late, older snapshot rebuilds them.
A snapshot that never came ends nothing; a card missing from one that came has left. Names and
birth dates stay out of the BI role's reach. A run that finds nothing new ends at once and
publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

POSITIONING = Asset(name="minewatch_positioning", uri="minewatch://warehouse/positioning")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_personnel_positioning",
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "positioning"],
    default_args={
        "owner": "minewatch",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=45),
        "on_failure_callback": notify_failure,
    },
    params={"landing": Param("", type="string", description="landing folder; empty = $MINEWATCH_LANDING")},
    doc_md=__doc__,
)
def ingest_personnel_positioning():
    @task(execution_timeout=timedelta(minutes=10))
    def find_new_files(params=None) -> list[str]:
        """Positioning files not yet loaded (new, changed, pending or failed before)."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("positioning", landing_folder(params))

    @task(outlets=[POSITIONING])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, validate, stage and merge them; skipped (no Asset event) when none are new."""
        if not paths:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new personnel positioning files")
        from minewatch.dagkit import load_files

        return load_files(paths)

    @task(outlets=[POSITIONING])
    def pull_vendor_api() -> dict:
        """Positions from the positioning platform's REST API (C.2), each page committed with its watermark.

        Skipped when no API is set up or nothing is new.
        """
        from airflow.sdk.exceptions import AirflowSkipException

        from minewatch.dagkit import pull_api

        result = pull_api("positioning")
        if result is None:
            raise AirflowSkipException("no positioning API is set up: MINEWATCH_POSITIONING_API_URL "
                                       "or the Airflow connection minewatch_positioning_api")
        if not result["files"].get("loaded"):
            raise AirflowSkipException("nothing new from the positioning API")
        return result

    load(find_new_files())
    pull_vendor_api()


ingest_personnel_positioning()
