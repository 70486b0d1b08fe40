"""Shared pieces of the sweep and delivery tests: a real SMTP server, concerns to chase, and
`flask tracker ...` as real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import worker_ports
from tracker.extensions import db
from tracker.models import Concern, Priority
from tracker.services import sharing

PORTS = range(8125, 8200)  # this feature's port range
ROOT = Path(__file__).resolve().parents[2]


def free_port(skip: frozenset[int] = frozenset()) -> int:
    for port in worker_ports(PORTS):
        if port in skip:
            continue
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
    recipients: list[list[str]] = field(default_factory=list)  # each message's envelope's
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None
    # A slow server: seconds between receiving a message and saying so (other connections
    # go on meanwhile). A sender killed in this gap has delivered a message it never saw accepted.
    delay: float = 0.0
    # Offer PIPELINING (RFC 2920), as most mail servers do; aiosmtpd does not by itself, though
    # it reads pipelined commands one after another as the RFC asks.
    pipelining: bool = False
    refused: frozenset[str] = frozenset()  # recipients this server says it has no mailbox for
    config: dict | None = None  # the app's, pointed at this server
    dead_end: socket.socket | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname  # what aiosmtpd leaves to a handler with this hook
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
            self.recipients.append(list(envelope.rcpt_tos))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def go_down(self) -> None:
        """The relay down: the app's mail goes to a port held bound but never listening, so
        every connection is refused. Stopping the server instead would free its port for
        another server (another worker's, another checkout's) to take, and with it our mail."""
        self.dead_end = socket.socket()
        self.dead_end.bind(("127.0.0.1", 0))
        self.config["MAIL_PORT"] = self.dead_end.getsockname()[1]

    def come_back(self) -> None:
        self.config["MAIL_PORT"] = self.port
        self.dead_end.close()
        self.dead_end = None

    def alert_ids(self) -> list[int]:
        with self.lock:
            return [int(m["X-Tracker-Alert"]) for m in self.messages]

    def received(self) -> int:
        with self.lock:
            return len(self.messages)

    def duplicates(self) -> int:
        """Messages received more than once: each extra copy counts."""
        return sum(n - 1 for n in Counter(self.alert_ids()).values())


@pytest.fixture(name="mailbox")
def mailbox_fixture(app):
    """A running SMTP server, with the app pointed at it (quiet hours off unless a test says)."""
    # The probe and the server's bind are two steps: another process (an xdist worker, another
    # checkout's tests) can take the port in between, so a failed start tries the next one.
    tried: set[int] = set()
    while True:
        box = Mailbox(port=free_port(frozenset(tried)))
        try:
            box.start()
            break
        except Exception:
            tried.add(box.port)
            if len(tried) >= 10:
                raise
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port, MAIL_QUIET_HOURS=False)
    box.config = app.config
    yield box
    box.stop()
    if box.dead_end is not None:
        box.dead_end.close()


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
    return db.session.get(Concern, share.recipients[0].id)


def tracker_process(
    command: list[str],
    database_url: str,
    instance: Path,
    mailbox: Mailbox,
    log: Path,
    **settings,
) -> subprocess.Popen:
    """`flask tracker <command>` in its own process group, on the test's database and mailbox,
    and on the test's clock (inherited from the environment, so every child agrees on "now")."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TRACKER_INSTANCE_DIR": str(instance),
        "SECRET_KEY": "fault-test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mailbox.port),
        "MAIL_QUIET_HOURS": "0",
        "FLASK_APP": "wsgi:app",
    }
    env.pop("TRACKER_SWEEP_TEST_PAUSE", None)
    env.update({key: str(value) for key, value in settings.items()})
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen(
        [flask, "tracker", *command],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and its group: no clean-up of any kind runs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
