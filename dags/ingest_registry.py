"""
### ingest_registry

Loads the regulator's registry (contract F.2: `mines.csv`, `areas.csv`, `points.csv`,
`seals.csv`, `meters.csv`, matched by base name anywhere under the landing folder) into
the warehouse's history tables, then publishes the `minewatch_registry` Asset.

Each file is a full snapshot of the mines it lists. Bad rows go to quarantine with a
reason; the rest load. A run that finds nothing new ends at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

REGISTRY = Asset(name="minewatch_registry", uri="minewatch://warehouse/registry")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_registry",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "registry"],
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
def ingest_registry():
    @task
    def find_new_files(params=None) -> list[str]:
        """Registry files not yet loaded."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("registry", landing_folder(params))

    @task(outlets=[REGISTRY])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, stage and merge them."""
        from minewatch.dagkit import load_files

        return load_files(paths) if paths else {"files": {}, "rows_loaded": 0, "rows_rejected": 0, "problems": []}

    load(find_new_files())


ingest_registry()
