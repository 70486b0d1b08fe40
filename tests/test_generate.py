"""`flask tracker generate`: the spread of generated data, the audit chain, and the refusal to
touch a database that already holds anything. Small numbers here; scale belongs in bench/."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import (
    OPEN_CONCERN_STATES,
    Agency,
    AgencyKind,
    AuditEvent,
    Case,
    CaseAgency,
    CaseNote,
    Challenge,
    ChallengeStatus,
    ConcernResponse,
    ConcernState,
    Person,
    Role,
    Share,
    ShareRecipient,
    ThresholdView,
)
from tracker.services import chronology, transparency

NOW = "2026-11-25 12:00"
ARGS = [
    "tracker",
    "generate",
    "--cases",
    "60",
    "--shares",
    "400",
    "--now",
    NOW,
    "--open-concerns",
    "30",
    "--open-challenges",
    "12",
    "--chronology-entries",
    "40",
]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_generate_fills_an_empty_database_with_a_realistic_spread(app):
    result = app.test_cli_runner().invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    now = datetime(2026, 11, 25, 12, 0)

    kinds = set(db.session.scalars(select(Agency.kind)))
    assert kinds == {k.value for k in AgencyKind}
    roles = set(db.session.scalars(select(Person.role)))
    assert roles == {r.value for r in Role}

    assert _count(Case) == 60
    per_case = Counter(
        db.session.scalars(select(CaseAgency.case_id).where(CaseAgency.removed_at.is_(None)))
    )
    assert min(per_case.values()) >= 2 and max(per_case.values()) <= 8
    assert len(set(per_case.values())) > 2  # a spread, not one size

    assert _count(Share) == 400
    first = db.session.scalar(select(func.min(Share.recorded_at)))
    assert (now - first).days > 4 * 365  # five years of history
    answered = _count(ShareRecipient, ShareRecipient.state == ConcernState.RESPONDED.value)
    late = _count(
        ShareRecipient,
        ShareRecipient.state == ConcernState.RESPONDED.value,
        ShareRecipient.responded_at > ShareRecipient.due_at,
    )
    assert answered > 0 and 0 < late < answered / 4  # most on time, some late
    assert _count(ConcernResponse) == answered
    open_now = _count(ShareRecipient, ShareRecipient.state.in_(OPEN_CONCERN_STATES))
    assert open_now == 30
    overdue = _count(
        ShareRecipient,
        ShareRecipient.state.in_(OPEN_CONCERN_STATES),
        ShareRecipient.due_at < now,
    )
    assert 0 < overdue < open_now  # some overdue, some not yet due
    assert db.session.scalar(select(func.max(Share.recorded_at))) <= now

    open_stages = set(
        db.session.scalars(
            select(Challenge.stage).where(Challenge.status == ChallengeStatus.OPEN.value)
        )
    )
    assert open_stages >= {1, 2}
    statuses = set(db.session.scalars(select(Challenge.status)))
    assert statuses >= {ChallengeStatus.OPEN.value, ChallengeStatus.RESOLVED.value}
    assert _count(CaseNote) > 0 and _count(ThresholdView) > 0

    # The first case carries the chronology the benchmark reads, exactly as long as asked.
    first_case = db.session.scalar(select(Case.id).order_by(Case.id).limit(1))
    assert len(chronology.entries_for(first_case)) == 40

    # One audit event per kind of record (plus the run), and the chain holds.
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[0] == "generate.run"
    assert "generate.share" in actions and "generate.child_case" in actions
    assert len(actions) == len(set(actions)) < 25
    assert transparency.verify().ok
    verify = app.test_cli_runner().invoke(args=["tracker", "audit", "verify"])
    assert verify.exit_code == 0 and verify.output.startswith("ok")


def test_generate_refuses_a_database_that_is_not_empty(app, world):
    cases_before = _count(Case)
    result = app.test_cli_runner().invoke(args=ARGS)
    assert result.exit_code != 0
    assert "not empty" in result.output
    assert _count(Case) == cases_before


def test_generate_refuses_numbers_that_cannot_hold_the_open_set(app):
    result = app.test_cli_runner().invoke(
        args=["tracker", "generate", "--cases", "20", "--shares", "10"]
    )
    assert result.exit_code != 0
    assert "--shares must be at least" in result.output
    assert _count(Case) == 0
