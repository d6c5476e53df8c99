"""
### ingest_utility_meters

Loads the utility's electricity meter exports (contract E: Green Button ESPI `*.xml` feeds and
register readings `meter_readings_{yyyyMMdd}.csv`) found anywhere under the landing folder into
the warehouse, then publishes the `minewatch_meters` Asset that detection is scheduled on.

Readings take their mine, meter and area from the registry (`registry/meters.csv`); energy per
meter and interval is built from them in kWh, marked measured, gap_total (a missing reading:
the total of the gap, not invented per interval) or reset. A reading of a meter the registry
does not list is held (`unknown_point`) and bound when the registry lists it. Hostile XML is
held whole. A run that finds nothing new ends at once and publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

METERS = Asset(name="minewatch_meters", uri="minewatch://warehouse/meters")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_utility_meters",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "meters"],
    default_args={
        "owner": "minewatch",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": notify_failure,
    },
    params={"landing": Param("", type="string", description="landing folder; empty = $MINEWATCH_LANDING")},
    doc_md=__doc__,
)
def ingest_utility_meters():
    @task
    def find_new_files(params=None) -> list[str]:
        """Meter files not yet loaded (new, changed or failed before)."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("meters", landing_folder(params))

    @task(outlets=[METERS])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, validate, stage and merge them; skipped (no Asset event) when none are new."""
        if not paths:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new utility meter files")
        from minewatch.dagkit import load_files

        return load_files(paths)

    load(find_new_files())


ingest_utility_meters()
