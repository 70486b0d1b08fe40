"""An administrator cannot become anyone else: they may invite, deactivate and change roles, but
never set or learn an active person's password or second factor, and a new auditor or
administrator needs a second administrator. Every change is emailed to the person it is about."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.auth.test_sign_in import sign_in
from tests.auth.test_two_factor import code_at, enrol
from tests.conftest import PASSWORD, add_person, sign_in_as
from tests.helpers import emailed_link_token, page_text
from tracker.extensions import db
from tracker.models import Alert, AlertKind, ApiToken, AuditEvent, Person, Role
from tracker.services import agencies, api_tokens, approvals, delivery, people

START = datetime(2026, 11, 25, 10, 0)  # a Wednesday, in working hours


@pytest.fixture
def second_admin(world, password_hash):
    person = add_person("Second Admin", world.partnership, Role.ADMIN, password_hash)
    db.session.commit()
    return person


@pytest.fixture
def partnership_lead(world, password_hash):
    person = add_person("Partnership Lead", world.partnership, Role.LEAD, password_hash)
    db.session.commit()
    return person


def alerts_to(person, kind: AlertKind) -> list[Alert]:
    return db.session.scalars(
        db.select(Alert).where(Alert.recipient_id == person.id, Alert.kind == kind.value)
    ).all()


def actions() -> list[str]:
    return db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_the_takeover_path_fails_end_to_end(app, client, world, frozen):
    """The attack from issue 13: an administrator gets a set-password link for an active
    worker, sets the password, signs in as the worker and reads their cases. Each step now
    leads nowhere."""
    frozen(START)
    worker = world.worker_a
    sign_in_as(client, world.admin)
    # 1. Asking for a link puts nothing on the administrator's screen...
    response = client.post(f"/admin/people/{worker.id}/new-link")
    assert response.status_code == 302
    person_page = client.get(response.headers["Location"]).get_data(as_text=True)
    token = emailed_link_token(worker)  # ...it went to the worker's own email
    assert token not in response.get_data(as_text=True) and token not in person_page
    # 2. ...nor into the copies of alert emails administrators may read.
    assert delivery.deliver().sent >= 1
    mail_page = client.get("/admin/mail")
    assert mail_page.status_code == 200 and token not in mail_page.get_data(as_text=True)
    names = [f["name"] for f in delivery.mail_files()]
    link_files = [n for n in names if token in (delivery.mail_file(n) or "")]
    assert len(link_files) == 1  # the email really carries it (to the worker)
    assert client.get(f"/admin/mail/{link_files[0]}").status_code == 404
    # 3. The worker's password still works; the administrator has no other to try.
    db.session.refresh(worker)
    assert people.authenticate(worker.email, PASSWORD, "192.0.2.1").person is not None
    # 4. There is no page on which an administrator sets a password.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            assert "password" not in rule.rule or "new-link" in rule.rule
    # 5. And an administrator reads no case, whoever's link they asked for.
    assert client.get(f"/cases/{world.case.id}").status_code == 403
    # The worker was told, by email, that a link was sent to them.
    assert alerts_to(worker, AlertKind.ACCOUNT_LINK)


def test_an_admin_cannot_take_a_leads_second_factor(client, world, frozen):
    frozen(START)
    lead = world.lead_a
    enrol(client, lead, START)
    client.post("/sign-out")
    sign_in_as(client, world.admin)
    assert client.post(f"/admin/people/{lead.id}/reset-two-factor").status_code == 302
    db.session.refresh(lead)
    assert lead.has_two_factor  # unchanged until the lead uses the link in their email
    # The lead still signs in with their own authenticator.
    client.post("/sign-out")
    assert sign_in(client, lead.email).headers["Location"] == "/sign-in/security-code"
    later = datetime(2026, 11, 25, 10, 2)
    frozen(later)
    done = client.post("/sign-in/security-code", data={"code": code_at(lead.totp_secret, later)})
    assert done.status_code == 302 and done.headers["Location"] == "/"


def test_inviting_an_auditor_needs_a_second_admin(
    client, world, second_admin, partnership_lead, frozen
):
    frozen(START)
    sign_in_as(client, world.admin)
    response = client.post(
        "/admin/people/invite",
        data={
            "name": "Eve Auditor",
            "email": "eve@attacker.example",
            "agency_id": world.partnership.id,
            "role": "auditor",
        },
    )
    assert response.status_code == 302
    assert "once a second administrator approves" in page_text(
        client.get(response.headers["Location"])
    )
    eve = db.session.scalar(db.select(Person).where(Person.email == "eve@attacker.example"))
    assert not eve.active and eve.invite_token_hash is None  # no link, cannot sign in
    assert not alerts_to(eve, AlertKind.ACCOUNT_LINK)
    approval = approvals.pending_approval(eve)
    # The one who asked cannot approve, on the page or by posting.
    page = client.get("/admin/approvals")
    assert "Waits for a second administrator" in page_text(page)
    refused = client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"})
    assert refused.status_code == 409
    db.session.refresh(eve)
    assert not eve.active
    # The second administrator and the partnership's leads were alerted to the request.
    assert alerts_to(second_admin, AlertKind.ROLE_APPROVAL)
    assert alerts_to(partnership_lead, AlertKind.ROLE_APPROVAL)
    assert not alerts_to(world.admin, AlertKind.ROLE_APPROVAL)
    # A second administrator approves: now Eve is active and gets her link by email.
    client.post("/sign-out")
    sign_in_as(client, second_admin)
    assert "Eve Auditor" in page_text(client.get("/admin/approvals"))
    approved = client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"})
    assert approved.status_code == 302
    db.session.refresh(eve)
    assert eve.active and eve.role == "auditor"
    assert emailed_link_token(eve)
    assert len(alerts_to(partnership_lead, AlertKind.ROLE_APPROVAL)) == 2
    assert {"person.role_requested", "person.role_approved"} <= set(actions())
    # A twin click decides nothing twice.
    again = client.post(f"/admin/approvals/{approval.id}", data={"decision": "refuse"})
    assert again.status_code == 409


def test_promoting_to_admin_waits_and_can_be_refused(client, world, second_admin, frozen):
    frozen(START)
    worker = world.worker_c
    sign_in_as(client, world.admin)
    response = client.post(f"/admin/people/{worker.id}", data={"role": "admin", "active": "y"})
    assert response.status_code == 302
    db.session.refresh(worker)
    assert worker.role == "worker"
    approval = approvals.pending_approval(worker)
    assert approval.role == "admin" and approval.requested_by_id == world.admin.id
    # The person themselves cannot decide it either.
    with pytest.raises(people.ApprovalError):
        people.decide(worker, approval.id, approve=True)
    people.decide(second_admin, approval.id, approve=False)
    db.session.refresh(worker)
    assert worker.role == "worker" and "person.role_refused" in actions()


def test_reactivating_an_auditor_needs_a_second_admin(world, second_admin):
    people.update(world.admin, world.auditor, role="auditor", active=False, away=False)
    approval = people.update(world.admin, world.auditor, role="auditor", active=True, away=False)
    assert approval is not None and not world.auditor.active
    people.decide(second_admin, approval.id, approve=True)
    assert world.auditor.active


def test_a_change_to_the_person_replaces_a_pending_request(world, second_admin):
    approval = people.update(world.admin, world.worker_c, role="auditor", active=True, away=False)
    people.update(world.admin, world.worker_c, role="lead", active=True, away=False)
    with pytest.raises(people.ApprovalError):
        people.decide(second_admin, approval.id, approve=True)
    assert world.worker_c.role == "lead"


def test_the_person_is_emailed_about_every_change(client, world, frozen):
    frozen(START)
    worker = world.worker_b
    people.update(world.admin, worker, role="lead", active=True, away=False)
    people.update(world.admin, worker, role="lead", active=True, away=True)
    people.send_reset_link(world.admin, worker)
    token = emailed_link_token(worker)
    client.post(
        f"/set-password/{token}", data={"password": "a long new pass", "confirm": "a long new pass"}
    )
    people.update(world.admin, worker, role="lead", active=False, away=True)
    subjects = [a.subject for a in alerts_to(worker, AlertKind.ACCOUNT_CHANGED)]
    assert subjects == [
        "Your account: your role is now Named lead",
        "Your account: marked away",
        "Your account: your password was set",
        "Your account: you can no longer sign in",
    ]
    # Account emails are sent at once, even in quiet hours (a link expires in an hour).
    assert all(a.urgent for a in alerts_to(worker, AlertKind.ACCOUNT_LINK))


def test_a_reset_link_is_short_lived_and_single_use(client, world, frozen):
    from datetime import timedelta

    frozen(START)
    people.send_reset_link(world.admin, world.worker_b)
    token = emailed_link_token(world.worker_b)
    frozen(START + timedelta(minutes=61))
    assert client.get(f"/set-password/{token}").status_code == 404
    frozen(START)
    assert client.get(f"/set-password/{token}").status_code == 200


# --- API tokens and role changes ----------------------------------------------------------------


def test_a_role_change_revokes_the_persons_api_tokens(client, world, frozen):
    frozen(START)
    _, secret = api_tokens.create(world.worker_b, "system", datetime(2027, 1, 1).date())
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    people.update(world.admin, world.worker_b, role="lead", active=True, away=False)
    assert client.get("/api/v1/cases", headers=headers).status_code == 401
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.person_id == world.worker_b.id))
    assert token.revoked_at is not None  # kept, marked revoked


def test_live_tokens_are_capped(app, world, frozen):
    frozen(START)
    expiry = datetime(2027, 1, 1).date()
    for n in range(app.config["API_TOKEN_MAX_LIVE"]):
        api_tokens.create(world.worker_b, f"system {n}", expiry)
    with pytest.raises(api_tokens.TokenError, match="revoke one"):
        api_tokens.create(world.worker_b, "one too many", expiry)
    first = api_tokens.tokens_for(world.worker_b)[-1]
    api_tokens.revoke(world.worker_b, first.id)
    api_tokens.create(world.worker_b, "after revoking one", expiry)


def test_wrong_bearer_tokens_are_throttled_per_address(app, client, world, frozen):
    frozen(START)
    _, secret = api_tokens.create(world.worker_b, "system", datetime(2027, 1, 1).date())
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    for n in range(app.config["API_AUTH_MAX_FAILURES"]):
        response = client.get(
            "/api/v1/cases",
            headers={"Authorization": f"Bearer sct_guess{n}"},
            environ_base=guesser,
        )
        assert response.status_code == 401
    blocked = client.get(
        "/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}, environ_base=guesser
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    # Another address is not affected; and the block lifts after the window.
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    from datetime import timedelta

    frozen(START + timedelta(minutes=16))
    again = client.get(
        "/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}, environ_base=guesser
    )
    assert again.status_code == 200


# --- Sign-in throttling cannot lock anyone out --------------------------------------------------


def test_a_guesser_elsewhere_cannot_lock_the_person_out(client, world):
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(10):
        response = sign_in(
            client, world.worker_a.email, "wrong password here", environ_base=attacker
        )
    assert response.status_code == 429  # the guesser is stopped...
    # ...but the person, from an address with no failures, signs in.
    assert sign_in(client, world.worker_a.email).status_code == 302


def test_the_account_limit_still_holds_for_an_address_that_has_failed(client, world):
    for _ in range(5):
        sign_in(
            client,
            world.worker_a.email,
            "wrong password here",
            environ_base={"REMOTE_ADDR": "203.0.113.1"},
        )
    other = {"REMOTE_ADDR": "203.0.113.2"}
    assert (
        sign_in(client, world.worker_a.email, "still wrong", environ_base=other).status_code == 401
    )
    # This address has now failed too: the account's limit applies to it.
    assert sign_in(client, world.worker_a.email, environ_base=other).status_code == 429


def test_the_server_makes_two_administrators_and_no_more(world):
    # The world has one administrator: the server may add a second, so four eyes can work...
    second = people.create_first_admin(
        name="Server Admin",
        email="server@example.org",
        agency_name="Partnership Unit",
        password=PASSWORD,
    )
    assert second.role == "admin"
    # ...but a third must be invited in the app, and approved.
    with pytest.raises(people.PeopleError, match="already 2 administrators"):
        people.create_first_admin(
            name="Third",
            email="third@example.org",
            agency_name="Partnership Unit",
            password=PASSWORD,
        )


# --- Concurrent twins ---------------------------------------------------------------------------


def test_twin_approvals_decide_once(app, world, second_admin, frozen):
    from tests.api.test_concurrency import WORKERS, at_once

    frozen(START)
    approval_id = people.update(
        world.admin, world.worker_c, role="auditor", active=True, away=False
    ).id
    approver_id = second_admin.id

    def decide():
        try:
            people.decide(db.session.get(Person, approver_id), approval_id, approve=True)
        except people.ApprovalError:
            return "already decided"
        return "decided"

    outcomes = at_once(app, decide)
    assert sorted(outcomes) == ["already decided"] * (WORKERS - 1) + ["decided"]
    approved = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.role_approved")
    ).all()
    assert len(approved) == 1


def test_twin_token_creations_stop_at_the_cap(app, world, frozen):
    from tests.api.test_concurrency import at_once

    frozen(START)
    person_id = world.worker_b.id

    def create():
        try:
            api_tokens.create(
                db.session.get(Person, person_id), "twin", datetime(2027, 1, 1).date()
            )
        except api_tokens.TokenError:
            db.session.rollback()
            return "refused"
        return "created"

    outcomes = at_once(app, create)
    assert outcomes.count("created") == app.config["API_TOKEN_MAX_LIVE"]


def test_the_person_is_emailed_when_a_token_is_made_or_two_factor_set_up(client, world, frozen):
    frozen(START)
    api_tokens.create(world.worker_b, "system", datetime(2027, 1, 1).date())
    enrol(client, world.lead_a, START)
    assert [a.subject for a in alerts_to(world.worker_b, AlertKind.ACCOUNT_CHANGED)] == [
        "Your account: an API token was created (see API tokens)"
    ]
    assert [a.subject for a in alerts_to(world.lead_a, AlertKind.ACCOUNT_CHANGED)] == [
        "Your account: two-factor sign-in was set up"
    ]


# --- a new worker or lead: approved by someone who already reads the agency's cases -------------


def invite_mallory(client, agency_id: int, role: str = "worker"):
    """An administrator invites someone under an address they control (issue 13: the path left
    open after the set-password links went to the person's own email)."""
    response = client.post(
        "/admin/people/invite",
        data={
            "name": "Mallory Worker",
            "email": "mallory@attacker.example",
            "agency_id": agency_id,
            "role": role,
        },
    )
    assert response.status_code == 302
    return db.session.scalar(db.select(Person).where(Person.email == "mallory@attacker.example"))


def test_an_admin_cannot_invite_themselves_in_as_a_worker(client, world, second_admin, frozen):
    frozen(START)
    sign_in_as(client, world.admin)
    mallory = invite_mallory(client, world.agency_a.id)
    # No link went anywhere, and nobody can sign in as the invited person.
    assert not mallory.active and mallory.invite_token_hash is None
    assert not alerts_to(mallory, AlertKind.ACCOUNT_LINK)
    assert people.authenticate(mallory.email, PASSWORD, "192.0.2.9").person is None
    approval = approvals.pending_approval(mallory)
    assert approval.role == "worker"
    # Agency A has a named lead: only they decide. Neither the administrator who asked nor a
    # second administrator can let the new worker in.
    assert [p.id for p in approvals.approvers(approval)] == [world.lead_a.id]
    assert (
        client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"}).status_code
        == 409
    )
    assert "Waits for a named lead of Agency A Social Care" in page_text(
        client.get("/admin/approvals")
    )
    with pytest.raises(people.ApprovalError):
        people.decide(second_admin, approval.id, approve=True)
    db.session.refresh(mallory)
    assert not mallory.active and not alerts_to(mallory, AlertKind.ACCOUNT_LINK)
    # The lead was alerted, with a link to their own page (and no case detail).
    (alert,) = alerts_to(world.lead_a, AlertKind.ROLE_APPROVAL)
    assert alert.link == "/approvals/" and "Agency worker" in alert.subject
    assert not alerts_to(second_admin, AlertKind.ROLE_APPROVAL)
    # The lead does not know Mallory and refuses.
    client.post("/sign-out")
    sign_in_as(client, world.lead_a)
    page = client.get("/approvals/")
    assert page.status_code == 200 and "mallory@attacker.example" in page_text(page)
    refused = client.post(f"/approvals/{approval.id}", data={"decision": "refuse"})
    assert refused.status_code == 302
    db.session.refresh(mallory)
    assert not mallory.active and not alerts_to(mallory, AlertKind.ACCOUNT_LINK)
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.role_refused")
    ).one()
    assert event.person_id == world.lead_a.id and event.object_id == mallory.id
    assert "Nothing is waiting for your approval" in page_text(client.get("/approvals/"))


def test_the_agencys_lead_approves_a_new_worker_who_then_signs_in(client, world, frozen):
    frozen(START)
    sign_in_as(client, world.admin)
    newcomer = invite_mallory(client, world.agency_a.id)
    approval = approvals.pending_approval(newcomer)
    client.post("/sign-out")
    # Another agency's lead neither sees nor decides it.
    sign_in_as(client, world.lead_b)
    assert "mallory" not in page_text(client.get("/approvals/"))
    assert client.post(f"/approvals/{approval.id}", data={"decision": "approve"}).status_code == 409
    client.post("/sign-out")
    sign_in_as(client, world.lead_a)
    assert client.post(f"/approvals/{approval.id}", data={"decision": "approve"}).status_code == 302
    db.session.refresh(newcomer)
    assert newcomer.active and newcomer.role == "worker"
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.role_approved")
    ).one()
    assert event.person_id == world.lead_a.id
    # Only now the set-password link goes to the person's own email; with it they sign in.
    token = emailed_link_token(newcomer)
    client.post("/sign-out")
    done = client.post(
        f"/set-password/{token}",
        data={"password": "a long password 1", "confirm": "a long password 1"},
    )
    assert done.status_code == 302
    assert sign_in(client, newcomer.email, "a long password 1").status_code == 302
    assert client.get(f"/cases/{world.case.id}").status_code == 200


def test_with_no_lead_in_the_agency_a_second_admin_approves(client, world, second_admin, frozen):
    frozen(START)
    sign_in_as(client, world.admin)
    newcomer = invite_mallory(client, world.agency_c.id, role="lead")  # agency C has no lead
    approval = approvals.pending_approval(newcomer)
    assert [p.id for p in approvals.approvers(approval)] == [second_admin.id]
    assert alerts_to(second_admin, AlertKind.ROLE_APPROVAL)[0].link == "/admin/approvals"
    assert (
        client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"}).status_code
        == 409
    )
    client.post("/sign-out")
    sign_in_as(client, second_admin)
    assert (
        client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"}).status_code
        == 302
    )
    db.session.refresh(newcomer)
    assert newcomer.active and newcomer.role == "lead" and emailed_link_token(newcomer)


def test_reactivation_and_a_move_from_admin_wait_for_the_lead(world, second_admin):
    worker = world.worker_a
    people.update(world.admin, worker, role="worker", active=False, away=False)
    approval = people.update(world.admin, worker, role="worker", active=True, away=False)
    assert approval is not None and not worker.active
    assert people.authenticate(worker.email, PASSWORD, "192.0.2.9").person is None
    people.decide(world.lead_a, approval.id, approve=True)
    assert worker.active
    assert people.authenticate(worker.email, PASSWORD, "192.0.2.9").person is not None
    # An administrator moved into agency A's work stays an administrator until its lead says so.
    admin_c = add_person("Admin In A", world.agency_a, Role.ADMIN, worker.password_hash)
    db.session.commit()
    move = people.update(world.admin, admin_c, role="worker", active=True, away=False)
    assert move is not None and admin_c.role == "admin"
    with pytest.raises(people.ApprovalError):
        people.decide(second_admin, move.id, approve=True)
    people.decide(world.lead_a, move.id, approve=True)
    assert admin_c.role == "worker"
    # A worker made a lead of the same agency already read its cases: nothing to approve.
    assert people.update(world.admin, worker, role="lead", active=True, away=False) is None
    assert worker.role == "lead"


def test_twin_decisions_by_two_leads_decide_once(world, password_hash):
    second_lead = add_person("Lead A Two", world.agency_a, Role.LEAD, password_hash)
    db.session.commit()
    person = people.invite(
        world.admin, name="New", email="new@example.org", agency_id=world.agency_a.id, role="worker"
    )
    approval = approvals.pending_approval(person)
    people.decide(world.lead_a, approval.id, approve=True)
    with pytest.raises(people.ApprovalError):
        people.decide(second_lead, approval.id, approve=False)
    assert person.active


def test_no_admin_alone_makes_a_partnership_wide_reader(client, world, second_admin):
    """A lead of the partnership's business unit reads every challenge: neither making their
    agency that unit nor making one of its workers a lead is one administrator's word."""
    from tests.helpers import assert_form_error
    from tracker import access

    agency = world.agency_c
    people.update(world.admin, world.worker_c, role="lead", active=True, away=False)
    assert world.worker_c.role == "lead" and not access.reads_partnership_wide(world.worker_c)
    sign_in_as(client, world.admin)
    data = {"name": agency.name, "kind": "partnership", "secure_mailbox": agency.secure_mailbox,
            "active": "y"}  # fmt: skip
    response = client.post(f"/admin/agencies/{agency.id}", data=data)
    assert_form_error(response, "This agency has active leads")
    db.session.refresh(agency)
    assert agency.kind != "partnership" and not access.reads_partnership_wide(world.worker_c)

    # The way through: its leads deactivated, the kind changed, each lead approved back.
    people.update(world.admin, world.worker_c, role="lead", active=False, away=False)
    assert client.post(f"/admin/agencies/{agency.id}", data=data).status_code == 302
    approval = people.update(world.admin, world.worker_c, role="lead", active=True, away=False)
    assert approval is not None and not world.worker_c.active
    people.decide(second_admin, approval.id, approve=True)
    assert world.worker_c.active and access.reads_partnership_wide(world.worker_c)

    # Another worker of the unit made a lead: approved by someone else too.
    colleague = add_person("Worker C2", agency, Role.WORKER, world.worker_c.password_hash)
    approval = people.update(world.admin, colleague, role="lead", active=True, away=False)
    assert approval is not None and colleague.role == "worker"


def test_an_agency_made_inactive_has_left_the_partnership(client, world, frozen, second_admin):
    """Its people are deactivated: signed out, their tokens revoked, none alerted or asked to
    approve; making it active again brings nobody back, each person's return is approved."""
    frozen(START)
    _, secret = api_tokens.create(world.worker_b, "police system", date(2027, 1, 31))
    bearer = {"Authorization": f"Bearer {secret}"}
    sign_in_as(client, world.worker_b)
    assert client.get(f"/cases/{world.case.id}").status_code == 200
    police = world.agency_b
    details = {"name": police.name, "kind": police.kind, "secure_mailbox": police.secure_mailbox}
    agencies.update(world.admin, police, **details, active=False)
    assert client.get(f"/cases/{world.case.id}").status_code == 302  # to sign in
    assert client.get(f"/api/v1/cases/{world.case.id}", headers=bearer).status_code == 401
    assert sign_in(client, world.worker_b.email).status_code == 401

    assert not world.worker_b.active and not world.lead_b.active

    with pytest.raises(people.PeopleError, match="is inactive"):  # nobody back before it is
        people.update(world.admin, world.worker_b, role="worker", active=True, away=False)
    agencies.update(world.admin, police, **details, active=True)
    assert client.get(f"/api/v1/cases/{world.case.id}", headers=bearer).status_code == 401
    assert sign_in(client, world.worker_b.email).status_code == 401
    approval = people.update(world.admin, world.worker_b, role="worker", active=True, away=False)
    people.decide(second_admin, approval.id, approve=True)
    assert sign_in(client, world.worker_b.email).status_code == 302

    # Nor does an administrator make their own agency inactive: it would shut them out too.
    own = world.admin.agency
    with pytest.raises(agencies.AgencyError, match="your own agency"):
        agencies.update(
            world.admin, own, name=own.name, kind=own.kind, secure_mailbox=own.secure_mailbox,
            active=False,
        )  # fmt: skip
