from tests.auth.test_sign_in import sign_in
from tests.helpers import current_code
from tracker import clock, demo
from tracker.extensions import db
from tracker.models import Agency, AuditEvent, Case, Person, Role
from tracker.services import transparency


def counts():
    return tuple(
        db.session.scalar(db.select(db.func.count()).select_from(m))
        for m in (Agency, Person, Case, AuditEvent)
    )


def test_demo_loads_once_and_every_login_works(app, client):
    logins = demo.load()
    first = counts()
    assert first[0] >= 10 and first[2] >= 30
    assert {p.role for p in logins} == {r.value for r in Role}
    demo.load()
    assert counts() == first  # twice changes nothing
    for case in db.session.scalars(db.select(Case)):
        assert len(case.current_involvements) >= 2
    for person in logins:
        client.post("/sign-out")
        response = sign_in(client, person.email, demo.DEMO_PASSWORD)
        assert response.status_code == 302, person.email
        if person.has_role(Role.LEAD, Role.AUDITOR, Role.ADMIN):
            # Enrolled by the loader with the printed demo key: the second step, then in.
            assert response.headers["Location"] == "/sign-in/security-code"
            response = client.post(
                "/sign-in/security-code", data={"code": current_code(demo.DEMO_TOTP_SECRET)}
            )
            assert response.status_code == 302, person.email
        assert response.headers["Location"] == "/", person.email
        assert client.get("/").status_code in (200, 302)  # home, or admin's redirect
    assert transparency.verify().ok


def test_the_demo_has_one_of_each_golden_rule(app):
    """A decision not to share, a viewed-but-unanswered share, a red concern, a linked sibling
    and a closure day (issue 15), all recorded through the services."""
    from sqlalchemy import select

    from tracker.models import CaseLink, ClosureDay, NoShareDecision, Share, ShareRecipient

    demo.load()
    decisions = db.session.scalars(select(NoShareDecision)).all()
    assert {d.reason_code for d in decisions} >= {"more_detrimental_to_child"}
    assert any(d.revisited for d in decisions)
    viewed_open = db.session.scalars(
        select(ShareRecipient).where(
            ShareRecipient.viewed_at.is_not(None), ShareRecipient.state == "awaiting_response"
        )
    ).all()
    assert viewed_open
    assert db.session.scalar(select(Share).where(Share.rating == "red")) is not None
    links = db.session.scalars(select(CaseLink)).all()
    assert {(link.case_id, link.linked_case_id) for link in links} >= {
        (link.linked_case_id, link.case_id) for link in links
    } and links
    closure = db.session.scalar(select(ClosureDay))
    assert closure is not None and closure.day > clock.now().date()
    assert db.session.scalar(select(ShareRecipient).where(ShareRecipient.outcome.is_not(None)))
    assert transparency.verify().ok


def test_demo_cases_open_before_anything_is_recorded_on_them(app):
    from tracker.models import Challenge, ConcernResponse, Share, ShareVersion

    demo.load()
    for case in db.session.scalars(db.select(Case)):
        first_share = db.session.scalar(
            db.select(db.func.min(ShareVersion.shared_at))
            .join(Share, ShareVersion.share_id == Share.id)
            .where(Share.case_id == case.id)
        )
        first_challenge = db.session.scalar(
            db.select(db.func.min(Challenge.raised_at)).where(Challenge.case_id == case.id)
        )
        for moment in (first_share, first_challenge):
            assert moment is None or case.created_at <= moment, case.reference
    # Each answer talks about the agency giving it: no school's watch list from housing.
    for response in db.session.scalars(db.select(ConcernResponse)):
        kind = response.recipient.agency.kind
        text = response.action_taken.lower()
        if "school" in text or "attendance" in text:
            assert kind == "education", (kind, text)
        if "officers" in text or "police records" in text:
            assert kind == "police", (kind, text)
        if "health visitor" in text or "gp records" in text:
            assert kind == "health", (kind, text)
