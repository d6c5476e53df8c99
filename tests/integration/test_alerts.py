"""Alert mail over a real SMTP server on loopback (aiosmtpd), and the outbox without one."""

import email
import email.policy
import json
import os
from datetime import date

from minewatch import alerts, quarantine
from minewatch.config import load_settings
from minewatch.notify import task_failed
from minewatch.pipeline import run_landing
from tests.conftest import query
from tests.integration.conftest import USER, fix_areas_parser, swapped_areas


def test_incident_one_mail_then_digest_then_recovery(db, landing, smtp, monkeypatch):
    # a vendor moves a field: the file is held and exactly one readable mail goes out
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)
    assert len(smtp.messages) == 1, smtp.subjects()
    assert outcome.mails == [f"mail sent to data-team@example.org, inspectors@example.org: {smtp.subjects()[0]}"]
    msg = smtp.messages[0]
    assert msg["Subject"] == "[minewatch] registry data held: failed its data-quality checks"
    assert msg["From"] == "minewatch@example.org"
    assert smtp.envelopes[0].rcpt_tos == ["data-team@example.org", "inspectors@example.org"]
    assert smtp.logins == [USER]
    body = msg.get_content()
    (qid,) = query(db, "SELECT quarantine_id FROM quarantine.record WHERE status = 'held'")[0]
    for words in ("The registry data cannot be trusted right now",
                  "File areas.csv",
                  "[critical] at most half of a file's records are rejected by its parser",
                  "areas.csv: 8 of 8 records rejected (100%)",
                  "Sample of the offending records",
                  "kind '主井口' is not one of",
                  "raw: 410403004688,4104030046880001,shaft,主井口,false",
                  f"minewatch quarantine show {qid}",
                  f"minewatch quarantine release {qid}"):
        assert words in body, words
    assert "registry_" not in msg["Subject"]

    # the same breakage again, in another delivery: held, counted, no second mail
    second = landing / "410403004688" / "registry"
    second.mkdir(parents=True)
    (second / "areas.csv").write_text(swapped_areas(extra_rows=2), encoding="utf-8")
    again = run_landing(landing)
    assert again.files["quarantined"] == 1 and again.mails == []
    assert len(smtp.messages) == 1
    assert query(db, "SELECT failures, unreported, mails_sent, closed_at FROM quality.incident") == [(2, 1, 1, None)]

    # the repeat is told in the digest, once
    assert len(alerts.digest(db, load_settings())) == 1
    assert len(smtp.messages) == 2
    assert "1 more delivery held (2 in all; failing: areas)" in smtp.bodies()[1]
    assert alerts.digest(db, load_settings()) == []

    # the parser is fixed; releasing loads both from the archive; one recovery mail closes the incident
    fix_areas_parser(monkeypatch)
    report = quarantine.release(db, load_settings(), reason="expectation_failed", feed="registry")
    assert [f["status"] for f in report.files] == ["loaded", "loaded"]
    assert len(alerts.after_run(db, load_settings())) == 1
    assert len(smtp.messages) == 3
    assert smtp.subjects()[2] == "[minewatch] recovered: registry data passes its checks again"
    assert "Nothing of it is held any more." in smtp.bodies()[2]
    assert query(db, "SELECT closed_at IS NOT NULL, mails_sent FROM quality.incident") == [(True, 3)]
    assert query(db, "SELECT kind, transport FROM quality.mail ORDER BY mail_id") == [
        ("incident_opened", "smtp"), ("quality_digest", "smtp"), ("incident_recovered", "smtp")]
    # a later clean run sends nothing
    assert run_landing(landing).mails == [] and len(smtp.messages) == 3


def test_a_passing_file_of_another_kind_does_not_close_the_incident(db, landing, smtp):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    run_landing(landing)
    (landing / "registry" / "mines.csv").write_text(
        (landing / "registry" / "mines.csv").read_text(encoding="utf-8").replace("1.8", "2.0"), encoding="utf-8")
    run_landing(landing)  # a new mines.csv passes; areas still fail
    assert smtp.subjects() == ["[minewatch] registry data held: failed its data-quality checks"]
    assert query(db, "SELECT failing_kinds, closed_at FROM quality.incident") == [(["areas"], None)]


def test_without_smtp_mail_goes_to_the_outbox(db, landing):
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)
    outbox = load_settings().outbox_dir
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 1 and outcome.mails == [f"mail written to {files[0]}: {outcome.mails[0].split(': ', 1)[1]}"]
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "[minewatch] registry data held: failed its data-quality checks"
    assert "minewatch quarantine show" in msg.get_content()
    assert query(db, "SELECT transport, outbox_path FROM quality.mail") == [("outbox", str(files[0]))]


def test_smtp_that_refuses_leaves_the_mail_in_the_outbox(db, landing, monkeypatch):
    from tests.integration.conftest import free_port

    monkeypatch.setenv("MINEWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MINEWATCH_SMTP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("MINEWATCH_SMTP_TLS", "none")
    (landing / "registry" / "areas.csv").write_text(swapped_areas(), encoding="utf-8")
    outcome = run_landing(landing)
    assert len(list(load_settings().outbox_dir.glob("*.eml"))) == 1
    assert "SMTP failed: ConnectionRefusedError" in outcome.mails[0]
    assert query(db, "SELECT transport, error IS NOT NULL FROM quality.mail") == [("outbox", True)]


def test_risk_digest_mails_the_riskiest_mine_days_once(db, landing, smtp):
    run_landing(landing)  # the registry names no camera for seal M-08: SEAL_UNWATCHED, critical
    (day,) = query(db, "SELECT max(day) FROM mart.mine_day_risk")[0]
    lines = alerts.risk_digest(db, load_settings())
    assert len(lines) == 1 and len(smtp.messages) == 1
    assert smtp.subjects()[0] == f"[minewatch] risk digest {day}: 1 mine(s) with findings"
    body = smtp.bodies()[0]
    assert "1. Mine 410403004688 平煤十矿: risk 30 of 100" in body
    assert "monitoring gaps or shielding: SEAL_UNWATCHED" in body
    assert f"minewatch flags --mine 410403004688 --since {day}" in body
    assert alerts.risk_digest(db, load_settings()) == []  # that day's digest went out already
    assert alerts.risk_digest(db, load_settings(), day=date(2001, 1, 1), force=True) == []  # nothing that day


class _Ti:
    dag_id, task_id, try_number, log_url = "ingest_registry", "load", 3, "http://airflow.local/log"


def test_task_failure_after_retries_sends_a_mail(smtp):
    task_failed({"ti": _Ti(), "run_id": "scheduled__2026-03-18", "exception": RuntimeError("warehouse gone\nmore")})
    assert smtp.subjects() == ["[minewatch] task ingest_registry.load failed after 3 tries"]
    body = smtp.bodies()[0]
    assert "error: RuntimeError: warehouse gone" in body and "http://airflow.local/log" in body


def test_task_failure_without_smtp_is_an_eml(warehouse_url):
    task_failed({"ti": _Ti(), "run_id": "manual__1", "exception": ValueError("boom")})
    (eml,) = load_settings().outbox_dir.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["X-Minewatch-Kind"] == "task_failed" and "ValueError: boom" in msg.get_content()


def test_dags_mail_their_task_failures():
    from pathlib import Path

    dags = sorted((Path(__file__).resolve().parent.parent.parent / "dags").glob("[!_]*.py"))
    assert len(dags) >= 3
    for path in dags:
        text = path.read_text(encoding="utf-8")
        assert '"on_failure_callback": notify_failure' in text, path.name
        assert "    from minewatch.notify import task_failed" in text, path.name


def test_inside_airflow_the_minewatch_smtp_connection_is_used(smtp, monkeypatch):
    port = os.environ["MINEWATCH_SMTP_PORT"]
    for name in ("MINEWATCH_SMTP_HOST", "MINEWATCH_SMTP_PORT", "MINEWATCH_SMTP_USER", "MINEWATCH_SMTP_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_CONN_MINEWATCH_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": int(port), "login": USER, "password": "s3cret-pw",
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.org",
                  "to": "ops@example.org"}}))
    assert alerts.smtp_settings(load_settings()) is None  # outside task code: never looked up
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "ingest_registry")
    found = alerts.smtp_settings(load_settings())
    assert (found.host, found.port, found.tls, found.sender, found.recipients) == (
        "127.0.0.1", int(port), "none", "airflow@example.org", ("ops@example.org",))
    # a failed task's mail goes through the SMTP provider's notifier over that connection
    task_failed({"ti": _Ti(), "run_id": "scheduled__1", "exception": RuntimeError("boom")})
    assert smtp.subjects() == ["[minewatch] task ingest_registry.load failed after 3 tries"]
    assert smtp.envelopes[0].rcpt_tos == ["ops@example.org"] and smtp.logins == [USER]
