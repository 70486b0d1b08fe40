from tests.auth.test_sign_in import sign_in
from tests.helpers import current_code
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
    assert audit.verify().ok
