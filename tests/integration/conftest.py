"""Fixtures of the integration tests: SMTP on loopback, a registry landing folder, a registry breakage.

The SMTP server is aiosmtpd and keeps what it receives; the breakage is a field moved in
areas.csv, with the parser fix that reads it.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "registry"
USER, PASSWORD = "alerts", "s3cret-pw"


class Inbox:
    """The SMTP handler: every message received, parsed; and who logged in."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
                and auth_data.password.decode() == PASSWORD:
            self.logins.append(USER)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def bodies(self) -> list[str]:
        return [m.get_content() for m in self.messages]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """An SMTP server on 127.0.0.1 that wants a login; minewatch's settings point at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("MINEWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MINEWATCH_SMTP_PORT", str(port))
    monkeypatch.setenv("MINEWATCH_SMTP_TLS", "none")
    monkeypatch.setenv("MINEWATCH_SMTP_USER", USER)
    monkeypatch.setenv("MINEWATCH_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("MINEWATCH_ALERT_FROM", "minewatch@example.org")
    monkeypatch.setenv("MINEWATCH_ALERT_TO", "data-team@example.org, inspectors@example.org")
    yield inbox
    controller.stop()


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    (root / "registry").mkdir(parents=True)
    for name in ("mines.csv", "areas.csv", "points.csv", "seals.csv", "meters.csv"):
        shutil.copy(FIX / name, root / "registry" / name)
    return root


def swapped_areas(extra_rows: int = 0) -> str:
    """areas.csv as a vendor sends it after moving a field: kind and area_name change places, the header stays."""
    lines = (FIX / "areas.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        f = line.split(",")
        f[2], f[3] = f[3], f[2]
        out.append(",".join(f))
    for i in range(extra_rows):
        out.append(f"410403004688,41040300468801{i:02d},roadway,新巷道{i},false")
    return "\n".join(out) + "\n"


def fix_areas_parser(monkeypatch) -> None:
    """The fix a data engineer ships: the areas parser reads the vendor's new field order."""
    from connectors.registry import AreasStream

    real = AreasStream.convert

    def convert(r: dict[str, str]) -> tuple:
        if r["kind"] not in ("working_face", "heading", "roadway", "shaft", "sealed", "goaf"):
            r = {**r, "kind": r["area_name"], "area_name": r["kind"]}
        return real(r)

    monkeypatch.setattr(AreasStream, "convert", staticmethod(convert))
