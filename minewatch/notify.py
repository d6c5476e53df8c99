"""Mail when an Airflow task has failed for good (after its retries): the DAGs' on_failure_callback.

DAG files reference `task_failed` from a small function of their own that imports this
module only when a task fails, so parsing a DAG stays cheap. With the Airflow connection
`minewatch_smtp`, the provider's `SmtpNotifier` sends the mail; otherwise
`OutboxNotifier` sends it like every other minewatch alert: over the SMTP server of the
environment (MINEWATCH_SMTP_HOST …), or as an .eml file in the outbox.
"""

from __future__ import annotations

import html
import logging

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseNotifier

from minewatch.alerts import SMTP_CONNECTION, airflow_smtp, compose, deliver, smtp_settings
from minewatch.config import load_settings

log = logging.getLogger(__name__)


def describe(context) -> tuple[str, str]:
    """Subject and plain-text body for a failed task."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?")
    tries = getattr(ti, "try_number", None)
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", "?")
    exc = context.get("exception")
    why = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}" if exc else "unknown"
    log_url = getattr(ti, "log_url", None)
    subject = f"[minewatch] task {dag_id}.{task_id} failed" + (f" after {tries} tries" if tries else "")
    body = "\n".join([
        f"The Airflow task {task_id} of DAG {dag_id} failed and has no retries left.",
        "",
        f"  run:   {run_id}",
        f"  tries: {tries if tries is not None else '?'}",
        f"  error: {why}",
        *([f"  log:   {log_url}"] if log_url else []),
        "",
        "Nothing of a failed load is kept: its files are retried on the next run. If it keeps failing,",
        "`minewatch status` shows what is waiting and the task log says why.",
        "",
        "-- minewatch",
    ])
    return subject, body


class OutboxNotifier(BaseNotifier):
    """A failed task's mail over minewatch's own SMTP settings, or into the outbox."""

    def notify(self, context) -> None:
        settings = load_settings()
        subject, body = describe(context)
        smtp = smtp_settings(settings)
        sent = deliver(settings, smtp, compose(settings, smtp, subject, body, "task_failed"), "task-failed")
        log.warning("%s", sent.line(smtp.recipients if smtp else settings.alert_to))


class SmtpFailureNotifier(SmtpNotifier):
    """The SMTP provider's notifier, with minewatch's subject and body for the failed task."""

    def notify(self, context) -> None:
        self.subject, body = describe(context)
        self.html_content = f"<pre>{html.escape(body)}</pre>"
        super().notify(context)


def notifier() -> BaseNotifier:
    """SmtpNotifier over the `minewatch_smtp` connection when it exists (and no SMTP is set in the environment)."""
    settings = load_settings()
    conn = None if settings.smtp_host else airflow_smtp(settings)
    if conn is not None:
        return SmtpFailureNotifier(to=list(conn.recipients), from_email=conn.sender, smtp_conn_id=SMTP_CONNECTION,
                                   subject="minewatch task failed", html_content="")
    return OutboxNotifier()


def task_failed(context) -> None:
    """on_failure_callback: mail the failure; never raise (a failing callback would hide the task's own error)."""
    try:
        notifier()(context)
    except Exception:  # noqa: BLE001
        log.exception("could not send the task failure mail")
