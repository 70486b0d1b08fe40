"""Two-factor sign-in, idle sign-out and the password rules."""

import re
from datetime import UTC, datetime, timedelta

import pyotp

from tests.auth.test_sign_in import sign_in
from tests.conftest import PASSWORD, make_app, sign_in_as
from tests.helpers import (
    approve_pending,
    assert_form_error,
    emailed_link_token,
    page_text,
    seconds_ago,
)
from tracker.extensions import db
from tracker.models import AuditEvent, RecoveryCode, Role
from tracker.services import people, two_factor

START = datetime(2026, 11, 25, 10, 0)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment.replace(tzinfo=UTC))


def actions() -> list[str]:
    return db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def enrol(client, person, moment: datetime) -> list[str]:
    """Password, then set up: returns the recovery codes shown."""
    assert sign_in(client, person.email).headers["Location"] == "/sign-in/set-up-two-factor"
    client.get("/sign-in/set-up-two-factor")
    db.session.refresh(person)
    page = client.post(
        "/sign-in/set-up-two-factor", data={"code": code_at(person.totp_secret, moment)}
    )
    assert page.status_code == 200, page_text(page)
    return re.findall(r"<code>([a-z0-9-]+)</code>", page.get_data(as_text=True))


def test_a_lead_is_taken_through_enrolment_after_the_password(client, world, frozen):
    frozen(START)
    response = sign_in(client, world.lead_a.email)
    assert response.headers["Location"] == "/sign-in/set-up-two-factor"
    # The password alone does not sign in.
    assert client.get("/cases/").status_code == 302
    assert client.get("/sign-in/set-up-two-factor").status_code == 200
    page = client.get("/sign-in/set-up-two-factor")  # a reload keeps the same key
    html = page.get_data(as_text=True)
    db.session.refresh(world.lead_a)
    secret = world.lead_a.totp_secret
    main = html.split("<main")[1].split("</main>")[0]
    assert (
        'src="data:image/svg+xml;base64,' in main and "<script" not in main and "style=" not in main
    )
    assert " ".join(re.findall(".{1,4}", secret)) in page_text(page)

    wrong = client.post("/sign-in/set-up-two-factor", data={"code": "123456"})
    assert_form_error(wrong, "Enter the 6-digit code your authenticator app shows now")
    done = client.post("/sign-in/set-up-two-factor", data={"code": code_at(secret, START)})
    codes = re.findall(r"<code>([a-z0-9-]+)</code>", done.get_data(as_text=True))
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert "only time these codes are shown" in page_text(done)
    assert client.get("/cases/").status_code == 200  # signed in now
    # Only hashes are stored.
    stored = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in codes}
    assert {"signin.password", "two_factor.enrolment_started", "two_factor.enrolled"} <= set(
        actions()
    )


def test_an_enrolled_lead_needs_a_fresh_code_and_a_code_works_once(client, world, frozen):
    frozen(START)
    enrol(client, world.lead_a, START)
    client.post("/sign-out")
    secret = world.lead_a.totp_secret

    frozen(START + timedelta(minutes=5))
    assert sign_in(client, world.lead_a.email).headers["Location"] == "/sign-in/security-code"
    assert client.get("/cases/").status_code == 302
    code = code_at(secret, START + timedelta(minutes=5))
    ok = client.post("/sign-in/security-code", data={"code": code})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/cases/").status_code == 200
    client.post("/sign-out")

    # The same code again, within its 30 seconds: refused as a replay.
    sign_in(client, world.lead_a.email)
    replay = client.post("/sign-in/security-code", data={"code": code})
    assert_form_error(replay, "each code works once", 401)
    assert "signin.code_replayed" in actions()
    later = START + timedelta(minutes=5, seconds=30)
    frozen(later)
    assert (
        client.post("/sign-in/security-code", data={"code": code_at(secret, later)}).status_code
        == 302
    )


def test_recovery_code_signs_in_once(client, world, frozen):
    frozen(START)
    codes = enrol(client, world.auditor, START)
    client.post("/sign-out")
    sign_in(client, world.auditor.email)
    assert client.post("/sign-in/security-code", data={"code": codes[0].upper()}).status_code == 302
    assert two_factor.recovery_codes_left(world.auditor) == 9
    client.post("/sign-out")
    sign_in(client, world.auditor.email)
    assert client.post("/sign-in/security-code", data={"code": codes[0]}).status_code == 401
    assert "signin.recovery_code" in actions()


def test_wrong_codes_are_throttled_like_passwords(client, world, frozen):
    frozen(START)
    enrol(client, world.lead_b, START)
    client.post("/sign-out")
    sign_in(client, world.lead_b.email)
    for _ in range(5):
        response = client.post("/sign-in/security-code", data={"code": "000000"})
        assert response.status_code == 401
    right = code_at(world.lead_b.totp_secret, START + timedelta(seconds=30))
    frozen(START + timedelta(seconds=30))
    assert_form_error(
        client.post("/sign-in/security-code", data={"code": right}),
        "Too many failed attempts",
        429,
    )
    # The password step is throttled too for that account.
    client.post("/sign-out")
    assert sign_in(client, world.lead_b.email).status_code == 429


def test_half_done_sign_in_expires(client, world):
    sign_in(client, world.lead_a.email)
    with client.session_transaction() as session:
        pending = session["pending_sign_in"]
        pending["at"] = seconds_ago(601)
        session["pending_sign_in"] = pending
    response = client.get("/sign-in/set-up-two-factor")
    assert response.headers["Location"] == "/sign-in"
    assert client.get("/sign-in/security-code").headers["Location"] == "/sign-in"


def test_who_must_use_two_factors(database_url, tmp_path, world):
    # Default "leads": workers sign in with a password alone, leads, auditors, admins do not.
    client = make_app(database_url, tmp_path / "a").test_client()
    assert sign_in(client, world.worker_c.email).headers["Location"] == "/"
    for person in (world.lead_a, world.auditor, world.admin):
        client = make_app(database_url, tmp_path / "b").test_client()
        assert sign_in(client, person.email).headers["Location"].startswith("/sign-in/set-up")
    everyone = make_app(database_url, tmp_path / "c", TWO_FACTOR_FOR="everyone").test_client()
    assert sign_in(everyone, world.worker_c.email).headers["Location"].startswith("/sign-in/set")
    nobody = make_app(database_url, tmp_path / "d", TWO_FACTOR_FOR="nobody").test_client()
    assert sign_in(nobody, world.lead_a.email).headers["Location"] == "/"


def test_a_lost_authenticator_is_reset_through_the_persons_own_email(client, world, frozen):
    frozen(START)
    enrol(client, world.lead_a, START)
    client.post("/sign-out")
    sign_in_as(client, world.admin)
    page = client.get(f"/admin/people/{world.lead_a.id}")
    assert "reset two-factor sign-in" in page_text(page)
    response = client.post(f"/admin/people/{world.lead_a.id}/reset-two-factor")
    assert response.status_code == 302
    # Nothing changes until the person uses the link emailed to them.
    db.session.refresh(world.lead_a)
    assert world.lead_a.has_two_factor
    token = emailed_link_token(world.lead_a)
    assert token not in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post("/sign-out")
    new_password = "a new and long passphrase"
    done = client.post(
        f"/set-password/{token}", data={"password": new_password, "confirm": new_password}
    )
    assert done.status_code == 302
    db.session.refresh(world.lead_a)
    assert not world.lead_a.has_two_factor and two_factor.recovery_codes_left(world.lead_a) == 0
    assert client.get(f"/set-password/{token}").status_code == 404  # once only
    first = sign_in(client, world.lead_a.email, new_password)
    assert first.headers["Location"].startswith("/sign-in/set-up")
    # Only admins may reset.
    sign_in_as(client, world.lead_b)
    assert client.post(f"/admin/people/{world.lead_a.id}/reset-two-factor").status_code == 403


def test_idle_session_is_signed_out_with_an_explanation(client, world):
    sign_in_as(client, world.worker_a)
    with client.session_transaction() as session:
        session["last_seen"] = seconds_ago(29 * 60)
    assert client.get("/cases/").status_code == 200  # still active, and the clock restarts
    with client.session_transaction() as session:
        session["last_seen"] = seconds_ago(31 * 60)
    response = client.get("/cases/")
    assert response.headers["Location"] == "/signed-out"
    page = client.get("/signed-out")
    assert page.status_code == 200
    assert "signed out because you had not used the service for 30 minutes" in page_text(page)
    assert client.get("/cases/").headers["Location"].startswith("/sign-in")
    assert "signout.inactive" in actions()


def test_idle_minutes_is_a_setting(database_url, tmp_path, world):
    client = make_app(database_url, tmp_path, IDLE_MINUTES=5).test_client()
    sign_in_as(client, world.worker_a)
    with client.session_transaction() as session:
        session["last_seen"] = seconds_ago(6 * 60)
    assert client.get("/cases/").headers["Location"] == "/signed-out"
    assert "for 5 minutes" in page_text(client.get("/signed-out"))


def test_passwords_need_length_and_must_not_be_common(world):
    assert people.password_problem("a" * 11) == "Password must be 12 characters or more"
    assert "most common passwords" in people.password_problem("Q1W2E3R4T5Y6")
    assert "most common passwords" in people.password_problem("1qaz2wsx3edc")
    assert len(people.common_passwords()) > 5000
    # No composition rules: a long phrase of lower-case words is fine.
    assert people.password_problem("purple kettle harbour") is None


def test_set_password_refuses_a_common_password(client, world):
    token = emailed_link_token(
        approve_pending(
            people.invite(
                world.admin,
                name="New",
                email="new@example.org",
                agency_id=world.agency_a.id,
                role="lead",
            )
        )
    )
    response = client.post(
        f"/set-password/{token}", data={"password": "q1w2e3r4t5y6", "confirm": "q1w2e3r4t5y6"}
    )
    assert_form_error(response, "one of the most common passwords")


def test_demo_password_and_fixture_password_are_allowed():
    assert people.password_problem(PASSWORD) is None
    assert Role.LEAD in two_factor.WIDE_REACH_ROLES
