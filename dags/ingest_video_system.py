"""
### ingest_video_system

Loads the video system's exports (contract D.2: daily event files `{mine}_video_{yyyyMMdd}.csv`)
found anywhere under the landing folder, and pulls the video platform's REST API (D.1: camera
inventory, then events by cursor from the stored watermark) when one is set up, into the
warehouse; then publishes the `minewatch_video` Asset that detection is scheduled on.

Each event is stored once per mine and event id, the later delivery winning. The camera states
(offline, video lost, occluded, scene changed) are rebuilt from the events of every camera a
file touches, so a late file or an ONLINE delivered before its OFFLINE gives the same intervals.
The registry's seals are reconciled with the cameras the platform knows (`mart.seal_camera`).
A run that finds nothing new ends at once and publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

VIDEO = Asset(name="minewatch_video", uri="minewatch://warehouse/video")


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="ingest_video_system",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "ingest", "video"],
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
def ingest_video_system():
    @task
    def find_new_files(params=None) -> list[str]:
        """Video files not yet loaded (new, changed or failed before)."""
        from minewatch.dagkit import landing_folder, new_files

        return new_files("video", landing_folder(params))

    @task(outlets=[VIDEO])
    def load(paths: list[str]) -> dict:
        """Ledger, archive, parse, validate, stage and merge them; skipped (no Asset event) when none are new."""
        if not paths:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no new video files")
        from minewatch.dagkit import load_files

        return load_files(paths)

    @task(outlets=[VIDEO])
    def pull_vendor_api() -> dict:
        """Camera inventories and events from the video platform's API (D.1), each page committed with its watermark.

        Skipped when no API is set up or nothing is new.
        """
        from airflow.sdk.exceptions import AirflowSkipException

        from minewatch.dagkit import pull_api

        result = pull_api("video")
        if result is None:
            raise AirflowSkipException("no video API is set up: MINEWATCH_VIDEO_API_URL "
                                       "or the Airflow connection minewatch_video_api")
        if not result["files"].get("loaded"):
            raise AirflowSkipException("nothing new from the video API")
        return result

    load(find_new_files())
    pull_vendor_api()


ingest_video_system()
