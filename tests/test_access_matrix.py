"""The access matrix: every route, GET and POST, for every role, against another agency's objects.

Each row is written down once: the status each role gets. Roles (columns), against world.case
(agencies A and B involved) and agency B's objects on it (see url_args):

    worker_a  a worker of an involved agency      lead_a   a lead of an involved agency
    worker_c  a worker of an agency not involved  auditor  reads everything, changes nothing
    admin     manages agencies and people, no case content
    anon      signed out

POSTs are sent empty (CSRF off): allowed gets the form's 400, refused gets 403/404, signed out is
sent to sign in (302). A route with no row fails the test, so every new route is decided here.
Each cell is a fresh sign-in as the role (sign_in_as), so no cell depends on another's session.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import sign_in_as
from tracker.extensions import db

ROLES = ("worker_a", "lead_a", "worker_c", "auditor", "admin", "anon")

# Rule shorthands, in the order of ROLES.
CASE_READ = (200, 200, 404, 200, 403, 302)  # involved read; outsider 404; auditor reads
CASE_CHANGE_GET = (200, 200, 404, 403, 403, 302)  # the form: only involved workers and leads
CASE_CHANGE_POST = (400, 400, 404, 403, 403, 302)  # empty post: validation for the allowed
CASE_LIST = (200, 200, 200, 200, 403, 302)  # lists are scoped, not refused
ADMIN_GET = (403, 403, 403, 403, 200, 302)
ADMIN_POST = (403, 403, 403, 403, 400, 302)
ANYONE = (200, 200, 200, 200, 200, 200)
PARTNERSHIP_LIST = (403, 200, 403, 200, 403, 302)  # unanswered concerns, open challenges
AUDITOR_ONLY = (403, 403, 403, 200, 403, 302)
API = (401, 401, 401, 401, 401, 401)
STAGE_1_NAMED_GET = (200, 403, 404, 403, 403, 302)  # only the person named for the stage acts
STAGE_1_NAMED_POST = (400, 403, 404, 403, 403, 302)

MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    # Sign-in and the account
    ("auth.sign_in", "GET"): (302, 302, 302, 302, 302, 200),  # signed in: home
    ("auth.sign_in", "POST"): (302, 302, 302, 302, 302, 400),
    ("auth.sign_out", "POST"): (302, 302, 302, 302, 302, 302),
    ("auth.set_password", "GET"): (404, 404, 404, 404, 404, 404),  # an unknown token
    ("auth.set_password", "POST"): (404, 404, 404, 404, 404, 404),
    # No half-done sign-in in this session: back to the start.
    ("auth.second_factor", "GET"): (302, 302, 302, 302, 302, 302),
    ("auth.second_factor", "POST"): (302, 302, 302, 302, 302, 302),
    ("auth.set_up_two_factor", "GET"): (302, 302, 302, 302, 302, 302),
    ("auth.set_up_two_factor", "POST"): (302, 302, 302, 302, 302, 302),
    ("auth.signed_out_inactive", "GET"): ANYONE,
    # The idle warning's "Stay signed in": any signed-in person; nothing to read.
    ("auth.keep_alive", "POST"): (204, 204, 204, 204, 204, 302),
    # Identity providers (agency B's, whose server is not running): signed in, home; signed out,
    # the provider cannot be reached (502), or the callback has no sign-in under way (400).
    ("identity.start", "GET"): (302, 302, 302, 302, 302, 502),
    ("identity.callback", "GET"): (302, 302, 302, 302, 302, 400),
    # The password step of a first provider sign-in: signed in, home; none under way, sign in.
    ("identity.confirm_link", "GET"): (302, 302, 302, 302, 302, 302),
    ("identity.confirm_link", "POST"): (302, 302, 302, 302, 302, 302),
    # Server to server: no session counts, an empty logout token is refused.
    ("identity.backchannel_logout", "POST"): (400, 400, 400, 400, 400, 400),
    ("identity.signed_out", "GET"): ANYONE,
    ("main.home", "GET"): (200, 200, 200, 200, 302, 302),  # admin: to administration
    ("main.health", "GET"): ANYONE,  # the deployment's probe: no session needed
    # Cases
    ("cases.index", "GET"): CASE_LIST,
    ("cases.new", "GET"): (200, 200, 200, 403, 403, 302),
    ("cases.new", "POST"): (400, 400, 400, 403, 403, 302),
    ("cases.show", "GET"): CASE_READ,
    ("cases.add_agency", "GET"): CASE_CHANGE_GET,
    ("cases.add_agency", "POST"): CASE_CHANGE_POST,
    ("cases.remove_agency", "GET"): CASE_CHANGE_GET,
    ("cases.remove_agency", "POST"): CASE_CHANGE_POST,
    ("cases.link_sibling", "GET"): CASE_CHANGE_GET,
    ("cases.link_sibling", "POST"): CASE_CHANGE_POST,
    ("cases.status", "GET"): CASE_CHANGE_GET,
    ("cases.status", "POST"): CASE_CHANGE_POST,
    # Administration
    ("admin.index", "GET"): ADMIN_GET,
    ("admin.new_agency", "GET"): ADMIN_GET,
    ("admin.new_agency", "POST"): ADMIN_POST,
    ("admin.edit_agency", "GET"): ADMIN_GET,
    ("admin.edit_agency", "POST"): ADMIN_POST,
    ("admin.people_list", "GET"): ADMIN_GET,
    ("admin.invite", "GET"): ADMIN_GET,
    ("admin.invite", "POST"): ADMIN_POST,
    ("admin.person", "GET"): ADMIN_GET,
    ("admin.person", "POST"): ADMIN_POST,
    ("admin.renew_link", "POST"): (403, 403, 403, 403, 302, 302),  # emailed to the person
    ("admin.reset_two_factor", "POST"): ADMIN_POST,  # worker B never set it up: 400
    ("admin.approvals", "GET"): ADMIN_GET,
    ("admin.decide", "POST"): ADMIN_POST,  # no decision given: 400
    # A named lead's approvals of their own agency's new people.
    ("approvals.index", "GET"): (403, 200, 403, 403, 403, 302),
    ("approvals.decide", "POST"): (403, 400, 403, 403, 403, 302),
    ("admin.mail", "GET"): ADMIN_GET,
    ("admin.identity_providers", "GET"): ADMIN_GET,
    ("admin.new_identity_provider", "GET"): ADMIN_GET,
    ("admin.new_identity_provider", "POST"): ADMIN_POST,
    ("admin.edit_identity_provider", "GET"): ADMIN_GET,
    ("admin.edit_identity_provider", "POST"): ADMIN_POST,
    ("admin.closure_days", "GET"): ADMIN_GET,
    ("admin.closure_days", "POST"): ADMIN_POST,
    ("admin.mail_message", "GET"): (403, 403, 403, 403, 404, 302),  # no such message
    # Sharing, notes, threshold views: B's share asks A for a response, so A may answer it.
    ("shares.record_sent", "GET"): CASE_CHANGE_GET,
    ("shares.record_sent", "POST"): CASE_CHANGE_POST,
    ("shares.record_received", "GET"): CASE_CHANGE_GET,
    ("shares.record_received", "POST"): CASE_CHANGE_POST,
    ("shares.show", "GET"): CASE_READ,
    # Any involved agency may correct a share or note (a new version with a reason).
    ("shares.amend", "GET"): CASE_CHANGE_GET,
    ("shares.amend", "POST"): CASE_CHANGE_POST,
    ("shares.acknowledge", "POST"): (302, 302, 404, 403, 403, 302),  # A acknowledges, done
    ("shares.record_no_share", "GET"): CASE_CHANGE_GET,
    ("shares.record_no_share", "POST"): CASE_CHANGE_POST,
    ("shares.record_outcome", "POST"): CASE_CHANGE_POST,  # A's outcome on B's share to it
    ("shares.change_rating", "POST"): CASE_CHANGE_POST,  # any agency on the share
    ("shares.respond", "GET"): CASE_CHANGE_GET,
    ("shares.respond", "POST"): CASE_CHANGE_POST,
    ("notes.record_note", "GET"): CASE_CHANGE_GET,
    ("notes.record_note", "POST"): CASE_CHANGE_POST,
    ("notes.note", "GET"): CASE_READ,
    ("notes.amend_note", "GET"): CASE_CHANGE_GET,
    ("notes.amend_note", "POST"): CASE_CHANGE_POST,
    ("thresholds.threshold", "GET"): CASE_CHANGE_GET,
    ("thresholds.threshold", "POST"): CASE_CHANGE_POST,
    ("chronology.case_chronology", "GET"): CASE_READ,
    ("chronology.chronology_csv", "GET"): CASE_READ,
    ("concerns.unanswered", "GET"): PARTNERSHIP_LIST,
    # The agency's own lists of open concerns (the home page's "see all"): scoped, not refused.
    ("concerns.agency_concerns", "GET"): (200, 200, 200, 403, 403, 302),
    # Challenges: B's challenge about A at stage 1, so A's people act on it.
    ("challenges.raise_challenge", "GET"): CASE_CHANGE_GET,
    ("challenges.raise_challenge", "POST"): CASE_CHANGE_POST,
    # Later steps opened out of order go back to the start.
    ("challenges.immediate_risk", "GET"): (302, 302, 404, 403, 403, 302),
    ("challenges.details", "GET"): (302, 302, 404, 403, 403, 302),
    ("challenges.details", "POST"): (302, 302, 404, 403, 403, 302),
    ("challenges.check", "GET"): (302, 302, 404, 403, 403, 302),
    ("challenges.check", "POST"): (302, 302, 404, 403, 403, 302),
    ("challenges.show", "GET"): CASE_READ,
    # At stage 1, A (the agency it is about) names Worker A: she acts, not A's other people.
    ("challenges.discussion", "GET"): STAGE_1_NAMED_GET,
    ("challenges.discussion", "POST"): STAGE_1_NAMED_POST,
    ("challenges.escalate", "GET"): STAGE_1_NAMED_GET,
    ("challenges.escalate", "POST"): STAGE_1_NAMED_POST,
    ("challenges.resolve", "GET"): STAGE_1_NAMED_GET,
    ("challenges.resolve", "POST"): STAGE_1_NAMED_POST,
    # Only the raising agency withdraws its challenge.
    ("challenges.withdraw", "GET"): (403, 403, 404, 403, 403, 302),
    ("challenges.withdraw", "POST"): (403, 403, 404, 403, 403, 302),
    ("challenges.index", "GET"): PARTNERSHIP_LIST,
    ("challenges.awaiting", "GET"): (200, 200, 200, 403, 403, 302),  # one's own, scoped
    # Named leads: admins, and each agency's leads (lists; B's entries only for admins).
    ("leads.named_leads", "GET"): (403, 200, 403, 403, 200, 302),
    ("leads.edit_named_lead", "GET"): ADMIN_GET,
    ("leads.edit_named_lead", "POST"): ADMIN_POST,
    # Inbox: one's own alerts; someone else's is not found.
    ("inbox.index", "GET"): (200, 200, 200, 200, 200, 302),
    ("inbox.digest", "GET"): (200, 200, 200, 200, 403, 302),
    ("inbox.read", "POST"): (404, 404, 404, 404, 404, 302),
    ("inbox.read_all", "POST"): (302, 302, 302, 302, 302, 302),  # one's own alerts only
    # Audit trail, evidence packs and reports: auditors.
    ("audit.index", "GET"): AUDITOR_ONLY,
    ("audit.case_history", "GET"): AUDITOR_ONLY,
    ("audit.event", "GET"): AUDITOR_ONLY,
    ("audit.evidence_pack", "GET"): AUDITOR_ONLY,
    ("audit.evidence_archive", "GET"): AUDITOR_ONLY,
    ("audit.checkpoint", "GET"): AUDITOR_ONLY,
    ("audit.checkpoint_download", "GET"): AUDITOR_ONLY,  # the world's log is sealed first
    ("audit.verifier_key_download", "GET"): AUDITOR_ONLY,
    ("reports.index", "GET"): AUDITOR_ONLY,
    ("reports.export", "GET"): AUDITOR_ONLY,
    # Records governance: auditors review disposal and hold records; the people working on a
    # case say whether the child is looked after (which retention rule applies).
    ("retention.queue", "GET"): AUDITOR_ONLY,
    ("retention.report", "GET"): AUDITOR_ONLY,
    ("retention.decide", "GET"): AUDITOR_ONLY,
    ("retention.decide", "POST"): (403, 403, 403, 400, 403, 302),
    ("retention.hold", "GET"): AUDITOR_ONLY,
    ("retention.hold", "POST"): (403, 403, 403, 400, 403, 302),
    # No hold stands on the case: back to it.
    ("retention.lift_hold", "GET"): (403, 403, 403, 302, 403, 302),
    ("retention.lift_hold", "POST"): (403, 403, 403, 302, 403, 302),
    ("retention.looked_after", "GET"): CASE_CHANGE_GET,
    ("retention.looked_after", "POST"): CASE_CHANGE_POST,
    # API tokens: one's own; revoking B's token is refused with a message on the list page.
    # Break-glass: workers and leads ask (auditors read all already; admins never read cases);
    # auditors review each use and read who looked at a case in full.
    ("break_glass.request_access", "GET"): (200, 200, 200, 403, 403, 302),
    ("break_glass.request_access", "POST"): (400, 400, 400, 403, 403, 302),
    ("break_glass.reviews", "GET"): AUDITOR_ONLY,
    ("break_glass.review", "GET"): AUDITOR_ONLY,
    ("break_glass.review", "POST"): (403, 403, 403, 400, 403, 302),
    ("break_glass.who_looked", "GET"): AUDITOR_ONLY,
    ("api_tokens.guide", "GET"): ANYONE,
    ("api_tokens.index", "GET"): (200, 200, 200, 200, 403, 302),
    ("api_tokens.index", "POST"): (400, 400, 400, 400, 403, 302),
    ("api_tokens.revoke", "POST"): (302, 302, 302, 302, 302, 302),
    # The API takes bearer tokens only: a browser session, any role, is refused.
    ("api.openapi_document", "GET"): ANYONE,
    ("api.list_cases", "GET"): API,
    ("api.get_case", "GET"): API,
    ("api.case_chronology", "GET"): API,
    ("api.list_shares", "GET"): API,
    ("api.create_share", "POST"): API,
    ("api.concerns_awaiting_us", "GET"): API,
    ("api.concerns_awaiting_them", "GET"): API,
    ("api.respond", "POST"): API,
    ("api.get_share", "GET"): API,
    ("api.change_rating", "POST"): API,
    ("api.acknowledge", "POST"): API,
    ("api.record_share_outcome", "POST"): API,
    ("api.list_no_share_decisions", "GET"): API,
    ("api.record_no_share_decision", "POST"): API,
    ("api.list_challenges", "GET"): API,
    ("api.raise_challenge", "POST"): API,
    ("api.record_outcome", "POST"): API,
    # Protected sources: only the agency that recorded the words marks someone in them. B
    # recorded the share and the note; A owes the concern but has not answered (nothing to mark).
    ("protected_sources.mark_share", "GET"): (403, 403, 404, 403, 403, 302),
    ("protected_sources.mark_share", "POST"): (403, 403, 404, 403, 403, 302),
    ("protected_sources.mark_note", "GET"): (403, 403, 404, 403, 403, 302),
    ("protected_sources.mark_note", "POST"): (403, 403, 404, 403, 403, 302),
    ("protected_sources.mark_response", "GET"): (404, 404, 404, 403, 403, 302),
    ("protected_sources.mark_response", "POST"): (404, 404, 404, 403, 403, 302),
    # Subject access requests: auditors (information governance). The world's request is
    # gathered with every item still to review: producing its pack is refused (400) and its zip
    # sends the auditor back to the request (302).
    ("subject_access.index", "GET"): AUDITOR_ONLY,
    ("subject_access.new", "GET"): AUDITOR_ONLY,
    ("subject_access.new", "POST"): (403, 403, 403, 400, 403, 302),
    ("subject_access.show", "GET"): AUDITOR_ONLY,
    ("subject_access.assemble", "POST"): (403, 403, 403, 302, 403, 302),
    ("subject_access.complete", "POST"): (403, 403, 403, 400, 403, 302),
    ("subject_access.extend", "GET"): AUDITOR_ONLY,
    ("subject_access.extend", "POST"): (403, 403, 403, 400, 403, 302),
    ("subject_access.review", "GET"): AUDITOR_ONLY,
    ("subject_access.review", "POST"): (403, 403, 403, 400, 403, 302),
    ("subject_access.pack", "GET"): AUDITOR_ONLY,
    ("subject_access.pack_archive", "GET"): (403, 403, 403, 302, 403, 302),
}


def url_args(world, password_hash) -> dict[str, object]:
    """Another agency's objects, by URL argument name: agency B's share asking A for a response,
    B's note, B's challenge about A, B's lead's alert, B's worker's API token."""
    from datetime import datetime

    from tests.challenges.support import name_leads
    from tests.conftest import add_person
    from tracker.models import Concern, DisposalReview, Role
    from tracker.services import (
        alerts,
        api_tokens,
        approvals,
        break_glass,
        challenges,
        identity,
        notes,
        people,
        sharing,
        subject_access,
        transparency,
    )

    name_leads(world, password_hash)
    share = sharing.record_share(
        world.worker_b,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_b.id,
        recipients=[sharing.Recipient(agency_id=world.agency_a.id)],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 11, 2, 10, 0),
            method="phone",
            summary="Police attended the address overnight",
            purpose="So social care knows of the call-out",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Seeking consent could place the child at risk",
        ),
        needs_response=True,
    )
    db.session.commit()
    concern = db.session.get(Concern, share.recipients[0].id)
    note = notes.record_note(
        world.worker_b,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 11, 2),
        text="Child said she likes football.",
        themes=[],
    )
    challenge = challenges.raise_challenge(
        world.worker_b,
        world.case,
        about_agency_id=world.agency_a.id,
        kind="threshold",
        what_happened="Social care closed the referral.",
        outcome_wanted="A strategy discussion.",
        urgent=False,
    )
    alert = alerts.raise_alert(
        event="matrix",
        recipients=[world.lead_b],
        kind="challenge_raised",
        subject="A challenge",
        link="/",
    )[0]
    token, _ = api_tokens.create(world.worker_b, "B token", date(2027, 1, 31))
    provider = identity.create_provider(
        world.admin,
        identity.ProviderSettings(
            agency_id=world.agency_b.id,
            name="Agency B account",
            issuer="http://127.0.0.1:9",  # the discard port: refused at once, no network
            client_id="tracker",
            client_secret="not-a-real-secret",
            email_domains="agency-b.example.org",
            mfa_satisfies=False,
            mfa_acr_values="",
        ),
    )
    # A new provider is in use once a second administrator approves it.
    second_admin = add_person("Second Admin", world.partnership, Role.ADMIN, password_hash)
    people.decide(second_admin, identity.pending_approval(provider).id, approve=True)
    people.invite(
        world.admin,
        name="New Auditor",
        email="new.auditor@example.org",
        agency_id=world.partnership.id,
        role="auditor",
    )
    approval = approvals.pending_approvals()[0]
    db.session.commit()
    involvement = next(
        i for i in world.case.current_involvements if i.agency_id == world.agency_b.id
    )
    # Another worker of C's emergency access, for its review page (Worker C has none).
    outsider = add_person("Worker C Two", world.agency_c, Role.WORKER, password_hash)
    grant, _ = break_glass.request_access(outsider, world.case, "Told of a call-out tonight")
    sar = subject_access.record_request(
        world.auditor,
        requester_name="Parent One",
        requester_relationship="Parent",
        case=world.case,
        person_named=None,
        received_on=date(2026, 11, 2),
    )
    subject_access.assemble(world.auditor, sar)
    transparency.seal()  # a checkpoint to download
    item = DisposalReview(
        case_id=world.case.id,
        rule="default",
        rule_label="Everything else",
        retain_until=date(2026, 1, 1),
    )
    db.session.add(item)
    db.session.commit()
    return {
        "case_id": world.case.id,
        "agency_id": world.agency_b.id,
        "person_id": world.worker_b.id,
        "involvement_id": involvement.id,
        "token": "not-a-real-token",
        "name": "no-such-message.eml",
        "share_id": share.id,
        "recipient_id": concern.id,
        "concern_id": concern.id,
        "note_id": note.id,
        "challenge_id": challenge.id,
        "alert_id": alert.id,
        "token_id": token.id,
        "stage": 2,
        "provider_id": provider.id,
        "approval_id": approval.id,
        "which": "ours",
        "event_id": 1,
        "grant_id": grant.id,
        "review_id": item.id,
        "request_id": sar.id,
        "item_id": sar.items[0].id,
    }


# A few arguments mean different things on different routes.
ARGS_BY_ENDPOINT = {"reports.export": {"name": "sharing"}}


def cells(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if rule.endpoint == "static":
            continue
        for method in ("GET", "POST"):
            if method in (rule.methods or ()):
                yield rule, method


def test_every_route_has_a_row(app):
    missing = [
        f"{rule.endpoint} {method}"
        for rule, method in cells(app)
        if (rule.endpoint, method) not in MATRIX
    ]
    assert not missing, f"Routes with no row in the access matrix: {missing}"
    stale = set(MATRIX) - {(rule.endpoint, method) for rule, method in cells(app)}
    assert not stale, f"Rows for routes that no longer exist: {stale}"
    assert all(len(row) == len(ROLES) for row in MATRIX.values())


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, client, world, password_hash, frozen, role):
    from datetime import datetime

    frozen(datetime(2026, 11, 3, 10, 0))
    objects = url_args(world, password_hash)
    column = ROLES.index(role)
    wrong = []
    # GETs first: an allowed POST may change what later cells see.
    for rule, method in sorted(cells(app), key=lambda cell: cell[1]):
        if role != "anon":
            sign_in_as(client, getattr(world, role))
        args = {**objects, **ARGS_BY_ENDPOINT.get(rule.endpoint, {})}
        url = rule.build({name: args[name] for name in rule.arguments}, append_unknown=False)[1]
        response = client.open(url, method=method, data={})
        expected = MATRIX[(rule.endpoint, method)][column]
        if response.status_code != expected:
            wrong.append(
                f"{method} {url} ({rule.endpoint}): {response.status_code}, not {expected}"
            )
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
