"""Shared pieces of the sweep and delivery tests: a real SMTP server and concerns to chase."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tracker.extensions import db
from tracker.models import Priority, ShareRecipient
from tracker.services import sharing

PORTS = range(8125, 8200)  # this feature's port range


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8125-8199")


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd, in this process) received."""

    port: int
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def alert_ids(self) -> list[int]:
        with self.lock:
            return [int(m["X-Tracker-Alert"]) for m in self.messages]


@pytest.fixture(name="mailbox")
def mailbox_fixture(app):
    """A running SMTP server, with the app pointed at it (quiet hours off unless a test says)."""
    box = Mailbox(port=free_port())
    box.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port, MAIL_QUIET_HOURS=False)
    yield box
    box.stop()


SUMMARY = "Mother disclosed a new partner with a history of violence"


def share_concern(world, shared_at: datetime, *, priority: str = Priority.STANDARD.value):
    """Worker A shares with agency B asking for a response; returns the concern (B's recipient)."""
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(agency_id=world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=shared_at,
            method="phone",
            summary=SUMMARY,
            purpose="So the police can check for call-outs to the address",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Seeking consent could place the child at risk",
        ),
        needs_response=True,
        priority=priority,
    )
    db.session.commit()
    return db.session.get(ShareRecipient, share.recipients[0].id)
