"""The demo partnership has realistic sharing: answered on time, late, open and overdue."""

from __future__ import annotations

from tests.conftest import sign_in_as
from tracker import clock, demo
from tracker.extensions import db
from tracker.models import Case, ConcernResponse, Person, Role, Share, ShareRecipient
from tracker.services import notes, sharing, transparency


def test_demo_sharing(app, client):
    demo.load()
    shares = db.session.scalar(db.select(db.func.count(Share.id)))
    demo.load()
    assert db.session.scalar(db.select(db.func.count(Share.id))) == shares  # idempotent
    assert shares >= 30

    now = clock.now()
    concerns = db.session.scalars(
        db.select(ShareRecipient).where(ShareRecipient.due_at.is_not(None))
    ).all()
    answered = [r for r in concerns if r.responded_at]
    on_time = [r for r in answered if r.responded_at <= r.due_at]
    late = [r for r in answered if r.responded_at > r.due_at]
    overdue = db.session.scalars(sharing.unanswered_concerns(now)).all()
    assert on_time and late and overdue
    assert all(r.responded_at <= now for r in answered)
    assert all(len(r.responses) == 1 for r in answered)
    assert db.session.scalar(db.select(db.func.count(ConcernResponse.id))) == len(answered)
    assert any(s.amended for s in db.session.scalars(db.select(Share)))

    all_cases = db.session.scalars(db.select(Case)).all()
    stale = db.session.scalars(notes.stale_lived_experience_cases()).all()
    assert 0 < len(stale) < len(all_cases)
    assert any(notes.thresholds_disagree(case) for case in all_cases)
    assert transparency.verify().ok

    # The pages work on the demo data for a worker and a lead of the agency owing the concern,
    # and for the auditor.
    case_id, share_id = overdue[0].share.case_id, overdue[0].share_id
    people = [
        db.session.scalar(
            db.select(Person).where(
                Person.role == role.value, Person.agency_id == overdue[0].agency_id
            )
        )
        for role in (Role.WORKER, Role.LEAD)
    ]
    people.append(db.session.scalar(db.select(Person).where(Person.role == Role.AUDITOR.value)))
    for person in people:
        sign_in_as(client, person)
        assert client.get("/").status_code == 200
        for url in (f"/cases/{case_id}", f"/cases/{case_id}/chronology", f"/shares/{share_id}"):
            assert client.get(url).status_code == 200, url
    assert client.get("/concerns/unanswered").status_code == 200
