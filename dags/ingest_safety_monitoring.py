"""
### ingest_safety_monitoring

Loads the safety monitoring system's exports (contract B: national `CDDY CDSS TJSJ YCBJ FZDY
FZSS`, provincial `AQMC AQKC AQSS AQKD AQMT`, daily `{mine}_safety_{yyyyMMdd}.csv`) found
anywhere under the landing folder into the warehouse, then publishes the `minewatch_safety`
Asset that detection is scheduled on.

Only files the ledger does not already hold are read: definitions first, then the facts
that refer to them. Bad records go to quarantine with a reason and the rest load; a reading
of a point with no definition yet is held (`unknown_point`) and loads after its definition.
A file still being uploaded (no `||` trailer) waits as `pending`. A run that finds nothing
new ends at once and publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

SAFETY = Asset(name="minewatch_safety", uri="minewatch://warehouse/safety")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_safety_monitoring",
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "safety"],
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
def ingest_safety_monitoring():
    @task(execution_timeout=timedelta(minutes=10))
    def find_new_files(params=None) -> list[str]:
        """Safety files not yet loaded (new, changed, pending or failed before)."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("safety", landing_folder(params))

    @task(outlets=[SAFETY])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, validate, stage and merge them; skipped (no Asset event) when none are new."""
        if not paths:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new safety monitoring files")
        from minewatch.dagkit import load_files

        return load_files(paths)

    load(find_new_files())


ingest_safety_monitoring()
