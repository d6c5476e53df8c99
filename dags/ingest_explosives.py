"""
### ingest_explosives

Loads the mines' explosives ledgers (contract F.1: `{mine}_explosives_{yyyyMMdd}.csv`) found
anywhere under the landing folder into the warehouse, then publishes the `minewatch_explosives`
Asset that detection is scheduled on.

One row per mine and record id; a record sent again in a later ledger replaces the earlier
one. The area is kept as the ledger names it: an issue to an area that is no declared working
face, or that the registry does not know, is evidence for detection, not an error. Bad
records go to quarantine with a reason; the rest load. A run that finds nothing new ends at
once and publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

EXPLOSIVES = Asset(name="minewatch_explosives", uri="minewatch://warehouse/explosives")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_explosives",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "explosives"],
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
def ingest_explosives():
    @task
    def find_new_files(params=None) -> list[str]:
        """Explosives ledgers not yet loaded (new, changed or failed before)."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("explosives", landing_folder(params))

    @task(outlets=[EXPLOSIVES])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, validate, stage and merge them; skipped (no Asset event) when none are new."""
        if not paths:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new explosives ledgers")
        from minewatch.dagkit import load_files

        return load_files(paths)

    load(find_new_files())


ingest_explosives()
