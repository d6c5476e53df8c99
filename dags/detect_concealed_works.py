"""
### detect_concealed_works

Runs the detection rules of `sql/detect/` over the warehouse's core tables and upserts
their findings into `core.flag` (read through `mart.flags` and `mart.mine_day_risk`).
Scheduled whenever an ingest DAG publishes new data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetAny, dag, task

# the Assets the ingest DAGs publish; a new event of any of them starts a run
FEEDS = [
    Asset(name="minewatch_registry", uri="minewatch://warehouse/registry"),
    Asset(name="minewatch_safety", uri="minewatch://warehouse/safety"),
    Asset(name="minewatch_positioning", uri="minewatch://warehouse/positioning"),
    Asset(name="minewatch_video", uri="minewatch://warehouse/video"),
    Asset(name="minewatch_meters", uri="minewatch://warehouse/meters"),
    Asset(name="minewatch_explosives", uri="minewatch://warehouse/explosives"),
]


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="detect_concealed_works",
    schedule=AssetAny(*FEEDS),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "detection"],
    default_args={
        "owner": "minewatch",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": notify_failure,
    },
    doc_md=__doc__,
)
def detect_concealed_works():
    @task
    def detect() -> dict:
        """Run every rule; findings are upserted, never duplicated."""
        from minewatch.dagkit import detect as run_rules

        return run_rules()

    detect()


detect_concealed_works()
