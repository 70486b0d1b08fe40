import pyotp

from tests.auth.test_sign_in import sign_in
from tracker import demo
from tracker.extensions import db
from tracker.models import Agency, AuditEvent, Case, Person, Role
from tracker.services import audit


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
    code = pyotp.TOTP(demo.DEMO_TOTP_SECRET).now()
    for person in logins:
        client.post("/sign-out")
        response = sign_in(client, person.email, demo.DEMO_PASSWORD)
        assert response.status_code == 302, person.email
        if person.has_role(Role.LEAD, Role.AUDITOR, Role.ADMIN):
            # Enrolled by the loader with the printed demo key: the second step, then in.
            assert response.headers["Location"] == "/sign-in/security-code"
            response = client.post("/sign-in/security-code", data={"code": code})
            assert response.status_code == 302, person.email
        assert response.headers["Location"] == "/", person.email
        assert client.get("/").status_code in (200, 302)  # home, or admin's redirect
    assert audit.verify().ok


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
