"""
### send_alert_digests

Once a day, mails the data-quality digest (held deliveries of open incidents not yet told
of, and the warnings since the last digest) and the risk digest of the latest scored day
of `mart.mine_day_risk`, over the configured SMTP server or into the outbox. A digest
with nothing to tell is not sent; a day's risk digest is sent once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


def notify_failure(context):
    """After the last retry: mail the failure (SMTP, or an .eml in the outbox)."""
    from minewatch.notify import task_failed

    task_failed(context)


@dag(
    dag_id="send_alert_digests",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["minewatch", "alerts"],
    default_args={
        "owner": "minewatch",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=10),
        "on_failure_callback": notify_failure,
    },
    doc_md=__doc__,
)
def send_alert_digests():
    @task
    def send() -> dict:
        """The quality digest and the risk digest, each only when there is something to tell."""
        from minewatch.dagkit import send_digests

        return send_digests()

    send()


send_alert_digests()
