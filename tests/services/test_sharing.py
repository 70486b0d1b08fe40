"""The sharing service: due times follow corrections, refusals save nothing, changes are audited."""

from __future__ import annotations

from datetime import datetime

import pytest

from tracker.extensions import db
from tracker.models import AuditEvent, Share, ShareVersion
from tracker.services import sharing, transparency


def details(shared_at: datetime, **overrides) -> sharing.ShareDetails:
    values = {
        "shared_at": shared_at,
        "method": "meeting",
        "summary": "Child disclosed being hit with a belt",
        "purpose": "Strategy discussion needed",
        "lawful_basis": "art6_1e_public_task",
        "consent": "refused",
        "consent_reason": "Risk of significant harm outweighs the refusal",
        "special_category": True,
        "special_category_circumstance": "consent_would_prejudice_protection",
        "themes": ["childs_lived_experience", "information_sharing"],
    }
    values.update(overrides)
    return sharing.ShareDetails(**values)


def record(world, shared_at: datetime, **kwargs) -> Share:
    return sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_b.id,  # ignored: a sent share is from the actor's agency
        recipients=[sharing.Recipient(world.agency_b.id, "DS Khan")],
        details=details(shared_at),
        needs_response=True,
        **kwargs,
    )


def test_a_share_and_its_audit_event_are_one_transaction(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    share = record(world, datetime(2026, 12, 24, 9, 0))
    assert share.from_agency_id == world.agency_a.id
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "share.record_sent"))
    assert event.object_id == share.id and event.case_id == world.case.id
    assert event.person_id == world.worker_a.id
    version = share.current
    assert version.special_category and version.consent == "refused"
    assert [t.value for t in version.theme_list] == [
        "information_sharing",
        "childs_lived_experience",
    ]
    assert transparency.verify().ok


def test_a_refusal_leaves_nothing_behind(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    before = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    with pytest.raises(sharing.ShareError) as error:
        sharing.record_share(
            world.worker_a,
            world.case,
            recorded_as=sharing.SENT,
            from_agency_id=world.agency_a.id,
            recipients=[sharing.Recipient(world.agency_b.id)],
            details=details(datetime(2026, 12, 24, 9, 0), consent_reason=" "),
            needs_response=True,
        )
    assert error.value.field == "consent_reason"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Share.id))) == 0
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == before


def test_amending_the_date_moves_open_concerns_only(app, world, frozen):
    frozen(datetime(2026, 12, 30, 10, 0))
    open_share = record(world, datetime(2026, 12, 24, 9, 0))
    answered = record(world, datetime(2026, 12, 24, 9, 0), priority="urgent")
    sharing.respond(world.worker_b, answered.recipients[0], action_taken="Strategy held")
    assert open_share.recipients[0].due_at == datetime(2026, 12, 31, 17, 0)
    for share in (open_share, answered):
        sharing.amend_share(
            world.worker_a,
            share,
            details(datetime(2026, 12, 29, 9, 0)),
            reason="Shared on the 29th, not the 24th",
        )
    # 29 December + 3 working days (1 January a bank holiday) = Monday 4 January 2027.
    assert open_share.recipients[0].due_at == datetime(2027, 1, 4, 17, 0)
    assert answered.recipients[0].due_at == datetime(2026, 12, 29, 17, 0)  # as it was answered
    versions = db.session.scalars(
        db.select(ShareVersion).where(ShareVersion.share_id == open_share.id)
    ).all()
    assert [v.shared_at for v in versions] == [
        datetime(2026, 12, 24, 9, 0),
        datetime(2026, 12, 29, 9, 0),
    ]
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "share.amend").limit(1)
    )
    assert event.reason == "Shared on the 29th, not the 24th" and "shared_at" in event.changes


def test_queries_for_each_side(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    share = record(world, datetime(2026, 12, 24, 9, 0))
    ours = db.session.scalars(sharing.awaiting_our_response(world.agency_b.id)).all()
    theirs = db.session.scalars(sharing.awaiting_their_response(world.agency_a.id)).all()
    assert ours == theirs == share.recipients
    assert db.session.scalars(sharing.awaiting_our_response(world.agency_a.id)).all() == []
    assert db.session.scalars(sharing.awaiting_their_response(world.agency_c.id)).all() == []
    assert db.session.scalars(sharing.open_concerns()).all() == share.recipients
    sharing.acknowledge(world.worker_b, share.recipients[0])
    assert db.session.scalars(sharing.awaiting_our_response(world.agency_b.id)).all()  # still open
    with pytest.raises(sharing.ShareError, match="already been acknowledged"):
        sharing.acknowledge(world.worker_b, share.recipients[0])
