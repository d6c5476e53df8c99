"""Alert mail: data-quality incidents, digests and the daily risk digest, over SMTP or to the outbox.

An *incident* is a feed and mine whose data cannot be trusted: it opens when a batch is
held for a failed critical expectation and sends one mail, in plain words, with the
failed expectations, a sample of the offending records and the commands to inspect and
release them. Further held batches of the same feed and mine while it is open send no
mail; they are counted and told in a digest (at most one a day per incident, or on
`minewatch alerts digest`). It closes, with one recovery mail, when every file kind that
failed has passed again. Warnings (loaded, recorded) are told in the digest only.

Where mail goes (nothing is in code): `MINEWATCH_SMTP_HOST` and friends (see
`minewatch.config`), else, inside an Airflow task, the connection `minewatch_smtp`;
with neither, each message is written as an .eml file to `MINEWATCH_OUTBOX`. A message
that SMTP refuses is written to the outbox too, with the reason, so none is lost.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from minewatch.config import Settings
from minewatch.validation import sample_text

log = logging.getLogger(__name__)

ALERT_LOCK = 4_194_202  # pg_advisory lock id held while incidents are updated
CHINA = timezone(timedelta(hours=8))
DIGEST_EVERY = timedelta(days=1)
SMTP_CONNECTION = "minewatch_smtp"
SAMPLE_LINES = 5


# --- where mail goes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Smtp:
    """An SMTP server to send through, and who sends to whom."""

    host: str
    port: int
    tls: str  # none, starttls, ssl
    user: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]
    source: str  # where the settings came from, for messages


def _default_port(tls: str) -> int:
    return {"ssl": 465, "starttls": 587}.get(tls, 25)


def smtp_settings(settings: Settings) -> Smtp | None:
    """The SMTP server from the environment, else (inside an Airflow task) the `minewatch_smtp` connection."""
    if settings.smtp_host:
        return Smtp(settings.smtp_host, settings.smtp_port or _default_port(settings.smtp_tls), settings.smtp_tls,
                    settings.smtp_user, settings.smtp_password, settings.alert_from, settings.alert_to, "environment")
    if not os.environ.get("AIRFLOW_CTX_DAG_ID"):  # only task code may look up Airflow connections
        return None
    return airflow_smtp(settings)


def airflow_smtp(settings: Settings) -> Smtp | None:
    """The `minewatch_smtp` Airflow connection, or None when there is none."""
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(SMTP_CONNECTION)
    except Exception:  # noqa: BLE001 - no connection (or no Airflow): mail goes to the outbox
        return None
    extra = conn.extra_dejson or {}
    tls = str(extra.get("tls") or "").lower()
    if tls not in ("none", "starttls", "ssl"):  # the SMTP provider's own flags
        tls = "ssl" if not _truthy(extra.get("disable_ssl", False)) else \
            ("starttls" if not _truthy(extra.get("disable_tls", False)) else "none")
    to = extra.get("to") or settings.alert_to
    recipients = tuple(a.strip() for a in (to.split(",") if isinstance(to, str) else to) if a.strip())
    return Smtp(conn.host, int(conn.port or _default_port(tls)), tls, conn.login or None, conn.password or None,
                extra.get("from_email") or settings.alert_from, recipients, f"Airflow connection {SMTP_CONNECTION}")


def _truthy(v) -> bool:
    return v is True or str(v).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Sent:
    """How one message went out."""

    transport: str  # smtp or outbox
    path: Path | None
    error: str | None
    subject: str

    def line(self, recipients: tuple[str, ...]) -> str:
        if self.transport == "smtp":
            return f"mail sent to {', '.join(recipients)}: {self.subject}"
        why = f" (SMTP failed: {self.error})" if self.error else ""
        return f"mail written to {self.path}{why}: {self.subject}"


def compose(settings: Settings, smtp: Smtp | None, subject: str, body: str, kind: str,
            headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain-text UTF-8 message."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender if smtp else settings.alert_from
    msg["To"] = ", ".join(smtp.recipients if smtp else settings.alert_to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain="minewatch.local")
    msg["X-Minewatch-Kind"] = kind
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body, charset="utf-8")
    return msg


def deliver(settings: Settings, smtp: Smtp | None, msg: EmailMessage, slug: str) -> Sent:
    """Send over SMTP, or write to the outbox (also when SMTP fails)."""
    error = None
    if smtp is not None:
        try:
            _smtp_send(smtp, msg)
            return Sent("smtp", None, None, str(msg["Subject"]))
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
            log.warning("SMTP %s:%s failed (%s); writing the message to the outbox", smtp.host, smtp.port, error)
    outbox = settings.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = outbox / f"{stamp}-{slug}-{uuid.uuid4().hex[:6]}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msg.as_bytes())
    tmp.replace(path)
    return Sent("outbox", path, error, str(msg["Subject"]))


def _smtp_send(smtp: Smtp, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    if smtp.tls == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, context=context, timeout=30)
    else:
        server = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
    try:
        if smtp.tls == "starttls":
            server.starttls(context=context)
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
        server.send_message(msg)
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()


def _send(cur, settings: Settings, smtp: Smtp | None, kind: str, subject: str, body: str, slug: str,
          incident_id: int | None = None, digest_key: str | None = None) -> str:
    headers = {"X-Minewatch-Incident": str(incident_id)} if incident_id else {}
    msg = compose(settings, smtp, subject, body, kind, headers)
    sent = deliver(settings, smtp, msg, slug)
    recipients = smtp.recipients if smtp else settings.alert_to
    cur.execute(
        """INSERT INTO quality.mail (kind, incident_id, digest_key, subject, recipients, transport, outbox_path, error)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (kind, incident_id, digest_key, subject, list(recipients), sent.transport,
         str(sent.path) if sent.path else None, sent.error),
    )
    return sent.line(recipients)


# --- words ----------------------------------------------------------------------------------


def _local(t: datetime | None) -> str:
    return t.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") + " (China time)" if t else "-"


def _who(feed: str, mine: str | None) -> str:
    return f"{feed} data of mine {mine}" if mine else f"{feed} data"


def _slug(*parts) -> str:
    return "-".join(str(p) for p in parts if p).replace("/", "_")


def _sample_lines(sample) -> list[str]:
    out = []
    for s in (sample or [])[:SAMPLE_LINES]:
        where = f"{s.get('file', s.get('file_id'))} record {s.get('record_no')}"
        if "raw" in s:
            why = f"{s.get('reason')}" + (f" ({s['detail']})" if s.get("detail") else "")
            out.append(f"      {where}: {why}")
            if s.get("raw"):
                out.append(f"        raw: {_clip(s['raw'])}")
        else:
            out.append(f"      {where}: {_clip(sample_text(s.get('values')))}")
    return out


def _clip(text: str, width: int = 160) -> str:
    text = str(text).replace("\r", "").replace("\n", " ⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _batch_details(cur, batch_id: str) -> tuple[list[dict], list[tuple]]:
    """The failed checks of one batch, and its files with the quarantine rows that hold them."""
    cur.execute(
        """SELECT v.suite, r.check_name, r.severity, r.summary, r.sample, v.file_ids
             FROM quality.validation v JOIN quality.expectation_result r USING (validation_id)
            WHERE v.batch_id = %s AND NOT r.success
            ORDER BY r.severity, v.suite, r.check_name""",
        (batch_id,),
    )
    checks = [dict(zip(("suite", "check", "severity", "summary", "sample", "file_ids"), r, strict=True))
              for r in cur.fetchall()]
    cur.execute("SELECT file_ids FROM quality.validation WHERE batch_id = %s LIMIT 1", (batch_id,))
    row = cur.fetchone()
    cur.execute(
        """SELECT f.file_id, f.name, f.path, f.received_at, f.status,
                  (SELECT min(q.quarantine_id) FROM quarantine.record q
                    WHERE q.file_id = f.file_id AND q.status = 'held' AND q.record_no IS NULL) AS quarantine_id
             FROM ledger.file f WHERE f.file_id = ANY(%s) ORDER BY f.file_id""",
        (row[0] if row else [],),
    )
    return checks, cur.fetchall()


def _failure_text(cur, batch_id: str) -> tuple[list[str], list[int]]:
    checks, files = _batch_details(cur, batch_id)
    lines = []
    held_ids = [f[5] for f in files if f[5]]
    for fid, name, path, received, status, _ in files:
        lines.append(f"  File {name} (file {fid}, received {_local(received)}, {status})")
        lines.append(f"    {path}")
    lines.append("  Failed expectations:")
    for c in checks:
        lines.append(f"    - [{c['severity']}] {c['summary']}  ({c['suite']}: {c['check']})")
    samples = [c for c in checks if c["sample"]]
    if samples:
        lines.append("  Sample of the offending records:")
        seen = set()
        for c in samples:
            for line in _sample_lines(c["sample"]):
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
            if len(seen) >= SAMPLE_LINES * 2:
                break
    return lines, held_ids


def _inspect_text(feed: str, held_ids: list[int]) -> list[str]:
    lines = ["To inspect:"]
    for qid in held_ids[:5]:
        lines.append(f"  minewatch quarantine show {qid}")
    lines.append(f"  minewatch quarantine list --feed {feed} --reason expectation_failed")
    lines.append("After a fix (parser or suite), load it from the archive, without re-delivery:")
    ref = held_ids[0] if held_ids else "ID"
    lines.append(f"  minewatch quarantine release {ref}")
    lines.append(f"  minewatch quarantine release {ref} --accept    (load it as it is: the data is right after all)")
    lines.append(f"  minewatch quarantine discard {ref}             (keep it out; the bytes stay archived)")
    return lines


# --- incidents ------------------------------------------------------------------------------


def after_run(conn, settings: Settings) -> list[str]:
    """Turn the validations not yet looked at into incident mails; send due digests. One line per mail."""
    smtp = smtp_settings(settings)
    lines: list[str] = []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
        cur.execute(
            """UPDATE quality.validation SET alerted_at = now() WHERE alerted_at IS NULL
               RETURNING batch_id, feed, kind, mine_code, outcome, validation_id, validated_at"""
        )
        batches: dict[str, tuple] = {}
        for batch_id, feed, kind, mine, outcome, vid, at in cur.fetchall():
            prev = batches.get(batch_id)
            if prev is None or vid < prev[4]:
                batches[batch_id] = (feed, kind, mine, outcome, vid, at)
        groups: dict[tuple, list] = {}
        for batch_id, (feed, kind, mine, outcome, _, at) in sorted(batches.items(), key=lambda x: x[1][4]):
            groups.setdefault((feed, mine), []).append((str(batch_id), kind, outcome, at))
        for (feed, mine), events in groups.items():
            lines.extend(_incident_step(cur, settings, smtp, feed, mine, events))
        lines.extend(_digest(cur, settings, smtp, due_only=True))
    return lines


def _incident_step(cur, settings: Settings, smtp: Smtp | None, feed: str, mine: str | None,
                   events: list[tuple]) -> list[str]:
    cur.execute(
        """SELECT incident_id, failing_kinds, failures, unreported, opened_at FROM quality.incident
            WHERE feed = %s AND coalesce(mine_code, '') = coalesce(%s, '') AND closed_at IS NULL FOR UPDATE""",
        (feed, mine),
    )
    row = cur.fetchone()
    incident_id, failing, failures, unreported, opened_at = row if row else (None, [], 0, 0, None)
    failing = list(failing)
    opened_now: list[str] = []
    last_batch = None
    accepted = False  # a kind was cleared by an operator's --accept, not by a passing batch
    for batch_id, kind, outcome, at in events:
        if outcome == "held":
            if incident_id is None:
                cur.execute(
                    """INSERT INTO quality.incident (feed, mine_code, opened_at, last_seen_at, failing_kinds, failures,
                                                     first_batch_id, last_batch_id)
                       VALUES (%s, %s, %s, %s, %s, 0, %s, %s) RETURNING incident_id, opened_at""",
                    (feed, mine, at, at, [kind], batch_id, batch_id),
                )
                incident_id, opened_at = cur.fetchone()
            if opened_now or failures == 0:
                opened_now.append(batch_id)
            else:
                unreported += 1
            failures += 1
            if kind not in failing:
                failing.append(kind)
            last_batch = batch_id
        elif incident_id is not None and kind in failing:
            failing.remove(kind)
            accepted = accepted or outcome == "accepted"
    if incident_id is None:
        return []
    lines = []
    cur.execute(
        """UPDATE quality.incident SET failing_kinds = %s, failures = %s, unreported = %s,
                  last_seen_at = CASE WHEN %s IS NULL THEN last_seen_at ELSE now() END,
                  last_batch_id = coalesce(%s, last_batch_id)
            WHERE incident_id = %s""",
        (failing, failures, unreported, last_batch, last_batch, incident_id),
    )
    if opened_now:
        lines.append(_mail_opened(cur, settings, smtp, incident_id, feed, mine, opened_now))
    if not failing:
        lines.append(_mail_recovered(cur, settings, smtp, incident_id, feed, mine, accepted))
    return lines


def _mark_mailed(cur, incident_id: int, closed: bool = False) -> None:
    cur.execute(
        f"""UPDATE quality.incident SET mails_sent = mails_sent + 1, last_mailed_at = now(), unreported = 0
                   {", closed_at = now()" if closed else ""} WHERE incident_id = %s""",
        (incident_id,),
    )


def _mail_opened(cur, settings: Settings, smtp: Smtp | None, incident_id: int, feed: str, mine: str | None,
                 batch_ids: list[str]) -> str:
    who = _who(feed, mine)
    parts, held = [], []
    for b in batch_ids:
        text, ids = _failure_text(cur, b)
        parts.extend(text)
        parts.append("")
        held.extend(ids)
    n = len(batch_ids)
    subject = f"[minewatch] {who} held: failed its data-quality checks" + (f" ({n} deliveries)" if n > 1 else "")
    body = "\n".join([
        f"The {who} cannot be trusted right now: {'a delivery' if n == 1 else f'{n} deliveries'} failed "
        "critical data-quality checks and " + ("is" if n == 1 else "are") + " held in quarantine, not loaded.",
        "Nothing is lost: the files are archived and can be loaded after a fix, without re-delivery.",
        "A vendor that changed its export (fields moved, another unit, placeholder values) looks like this.",
        "",
        f"Incident {incident_id}, opened {_local(datetime.now(UTC))}.",
        "",
        *parts,
        *_inspect_text(feed, held),
        "",
        "Further held deliveries of this feed and mine are not mailed one by one: they are counted in a daily",
        "digest (or `minewatch alerts digest`). A recovery mail closes the incident once the data passes again.",
        "",
        "-- minewatch",
    ])
    line = _send(cur, settings, smtp, "incident_opened", subject, body, _slug("incident", incident_id, feed, mine),
                 incident_id=incident_id)
    _mark_mailed(cur, incident_id)
    return line


def _mail_recovered(cur, settings: Settings, smtp: Smtp | None, incident_id: int, feed: str,
                    mine: str | None, accepted: bool = False) -> str:
    who = _who(feed, mine)
    cur.execute("SELECT opened_at, failures FROM quality.incident WHERE incident_id = %s", (incident_id,))
    opened_at, failures = cur.fetchone()
    cur.execute(
        """SELECT q.quarantine_id, f.name FROM quarantine.record q JOIN ledger.file f USING (file_id)
            WHERE q.feed = %s AND coalesce(q.mine_code, '') = coalesce(%s, '') AND q.status = 'held'
              AND q.reason = 'expectation_failed' ORDER BY q.quarantine_id""",
        (feed, mine),
    )
    still = cur.fetchall()
    lines = [
        f"The {who} passes its data-quality checks again." if not accepted else
        f"The failing deliveries of the {who} were released by an operator as they are (--accept); "
        "the incident is closed.",
        "",
        f"Incident {incident_id}: opened {_local(opened_at)}, closed {_local(datetime.now(UTC))}; "
        f"{failures} deliver{'y was' if failures == 1 else 'ies were'} held while it was open.",
    ]
    if still:
        lines += ["", f"Still held from it ({len(still)}), to release after a fix or to discard:"]
        lines += [f"  minewatch quarantine show {qid}    ({name})" for qid, name in still[:10]]
        lines.append(f"  minewatch quarantine list --feed {feed} --reason expectation_failed")
    else:
        lines += ["", "Nothing of it is held any more."]
    lines += ["", "-- minewatch"]
    subject = f"[minewatch] recovered: {who} passes its checks again" if not accepted else \
        f"[minewatch] closed: {who} accepted as delivered"
    line = _send(cur, settings, smtp, "incident_recovered", subject, "\n".join(lines),
                 _slug("recovered", incident_id, feed, mine), incident_id=incident_id)
    _mark_mailed(cur, incident_id, closed=True)
    return line


# --- digests --------------------------------------------------------------------------------


def digest(conn, settings: Settings) -> list[str]:
    """`minewatch alerts digest`: held deliveries not yet told of, and warnings, since the last digest."""
    smtp = smtp_settings(settings)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
        return _digest(cur, settings, smtp, due_only=False)


def _digest(cur, settings: Settings, smtp: Smtp | None, due_only: bool) -> list[str]:
    cur.execute(
        """SELECT incident_id, feed, mine_code, opened_at, failing_kinds, failures, unreported FROM quality.incident
            WHERE closed_at IS NULL AND unreported > 0
              AND (NOT %s OR coalesce(last_mailed_at, opened_at) <= now() - %s)
            ORDER BY feed, mine_code""",
        (due_only, DIGEST_EVERY),
    )
    incidents = cur.fetchall()
    if due_only and not incidents:
        return []
    cur.execute("SELECT max(sent_at) FROM quality.mail WHERE kind = 'quality_digest'")
    since = cur.fetchone()[0] or datetime(1970, 1, 1, tzinfo=UTC)
    cur.execute(
        """SELECT v.feed, v.mine_code, v.suite, r.check_name, count(*), max(r.summary)
             FROM quality.validation v JOIN quality.expectation_result r USING (validation_id)
            WHERE v.validated_at > %s AND NOT r.success AND r.severity = 'warning'
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
        (since,),
    )
    warnings = cur.fetchall()
    if not incidents and not warnings:
        return []
    lines = [f"minewatch data-quality digest, {_local(datetime.now(UTC))}.", ""]
    if incidents:
        lines.append("Open incidents with deliveries held since the last mail:")
        for iid, feed, mine, opened, kinds, failures, unreported in incidents:
            lines.append(f"  Incident {iid}: {_who(feed, mine)}, open since {_local(opened)}; "
                         f"{unreported} more deliver{'y' if unreported == 1 else 'ies'} held "
                         f"({failures} in all; failing: {', '.join(kinds)})")
            lines.append(f"    minewatch quarantine list --feed {feed} --reason expectation_failed")
        lines.append("")
    if warnings:
        lines.append(f"Warnings since {_local(since) if since.year > 1970 else 'the start'} (loaded, recorded):")
        for feed, mine, suite, check, n, summary in warnings:
            lines.append(f"  {_who(feed, mine)}: {n} batch(es): {summary}  ({suite}: {check})")
        lines.append("")
    lines.append("-- minewatch")
    n = len(incidents)
    subject = "[minewatch] data-quality digest: " + ", ".join(
        p for p in (f"{n} open incident(s)" if n else "", f"{len(warnings)} kind(s) of warning" if warnings else "")
        if p)
    line = _send(cur, settings, smtp, "quality_digest", subject, "\n".join(lines), "digest",
                 digest_key=datetime.now(UTC).isoformat())
    for iid, *_ in incidents:
        _mark_mailed(cur, iid)
    return [line]


def risk_digest(conn, settings: Settings, day: date | None = None, top: int = 10, force: bool = False) -> list[str]:
    """Mail the riskiest mine-days of one day from mart.mine_day_risk (default: the latest day it holds)."""
    smtp = smtp_settings(settings)
    with conn, conn.cursor() as cur:
        if day is None:
            cur.execute("SELECT max(day) FROM mart.mine_day_risk")
            day = cur.fetchone()[0]
            if day is None:
                return []
        key = day.isoformat()
        if not force:
            cur.execute("SELECT 1 FROM quality.mail WHERE kind = 'risk_digest' AND digest_key = %s", (key,))
            if cur.fetchone():
                return []
        cur.execute(
            """SELECT r.mine_code, m.mine_name, r.risk_score, r.verify_unsealing, r.reasons, r.flags_by_code
                 FROM mart.mine_day_risk r LEFT JOIN core.mine_current m USING (mine_code)
                WHERE r.day = %s ORDER BY r.risk_score DESC, r.mine_code LIMIT %s""",
            (day, top),
        )
        rows = cur.fetchall()
        if not rows:
            return []
        unseal = [r for r in rows if r[3]]
        lines = [f"The mine-days of {key} (China time) where an inspector should look first, riskiest first.", ""]
        for i, (mine, name, score, verify, reasons, by_code) in enumerate(rows, 1):
            flags = ", ".join(f"{c} {n}" for c, n in sorted((by_code or {}).items()))
            lines.append(f"{i}. Mine {mine}{f' {name}' if name else ''}: risk {score} of 100"
                         + ("  — VERIFY BY UNSEALING (启封核查)" if verify else ""))
            lines += [f"     - {r}" for r in reasons or []]
            lines.append(f"     findings: {flags}")
            lines.append(f"     minewatch flags --mine {mine} --since {key}")
            lines.append("")
        lines += ["The score adds 30 per critical finding code, 10 per warning and 2 per information (at most 100).",
                  "", "-- minewatch"]
        subject = f"[minewatch] risk digest {key}: " + (
            f"{len(unseal)} mine(s) to verify by unsealing" if unseal else f"{len(rows)} mine(s) with findings")
        return [_send(cur, settings, smtp, "risk_digest", subject, "\n".join(lines), _slug("risk", key),
                      digest_key=key)]
