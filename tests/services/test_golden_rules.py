"""What the law and the golden rules ask of a share, at the service: lawful bases that fit the
agency, decisions not to share, the child's identifier, and the loop closed back to the sender."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import add_agency, add_person
from tracker.extensions import db
from tracker.models import (
    AgencyKind,
    Alert,
    AuditEvent,
    Case,
    NoShareDecision,
    Role,
)
from tracker.services import cases, no_share, sharing
from tracker.services.sweep import run_sweep

NOW = datetime(2026, 11, 30, 10, 0)  # Monday


def details(**overrides) -> sharing.ShareDetails:
    values = {
        "shared_at": datetime(2026, 11, 30, 9, 0),
        "method": "phone",
        "summary": "Child said there is no food at home",
        "purpose": "So the school can offer breakfast club",
        "lawful_basis": "art6_1e_public_task",
        "consent": "not_sought",
        "consent_reason": "Seeking consent could place the child at risk",
    }
    values.update(overrides)
    return sharing.ShareDetails(**values)


def share(world, actor=None, *, needs_response=False, **overrides):
    actor = actor or world.worker_a
    other = world.agency_b if actor.agency_id == world.agency_a.id else world.agency_a
    return sharing.record_share(
        actor,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=actor.agency_id,
        recipients=[sharing.Recipient(agency_id=other.id)],
        details=details(**overrides.pop("details", {})),
        needs_response=needs_response,
        **overrides,
    )


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- 2. a lawful basis that fits the agency ---------------------------------------------------


@pytest.mark.parametrize(
    "basis", ["art6_1f_legitimate_interests", "art6_1ea_recognised_legitimate_interests"]
)
def test_a_public_authority_cannot_rely_on_legitimate_interests(world, frozen, basis):
    frozen(NOW)
    assert world.agency_a.public_authority
    with pytest.raises(sharing.ShareError) as refused:
        share(world, details={"lawful_basis": basis})
    assert refused.value.field == "lawful_basis"
    assert "is a public authority" in str(refused.value)
    assert "Article 6(1)(f)" in str(refused.value) and "6(1)(ea)" in str(refused.value)


def test_an_agency_that_is_not_a_public_authority_may(world, frozen, password_hash):
    frozen(NOW)
    charity = add_agency("Family Charity", AgencyKind.VOLUNTARY_SECTOR)
    charity.public_authority = False
    volunteer = add_person("Volunteer V", charity, Role.WORKER, password_hash)
    db.session.commit()
    cases.add_agency(world.worker_a, world.case, charity.id)
    for basis in ("art6_1f_legitimate_interests", "art6_1ea_recognised_legitimate_interests"):
        recorded = share(world, volunteer, details={"lawful_basis": basis})
        assert recorded.current.lawful_basis == basis


def test_special_category_data_needs_a_paragraph_18_circumstance(world, frozen):
    frozen(NOW)
    with pytest.raises(sharing.ShareError) as refused:
        share(world, details={"special_category": True})
    assert refused.value.field == "special_category_circumstance"
    assert "Schedule 1 paragraph 18" in str(refused.value)
    with pytest.raises(sharing.ShareError):
        share(world, details={"special_category": True, "special_category_circumstance": "x"})
    for circumstance in (
        "consent_cannot_be_given",
        "consent_cannot_reasonably_be_obtained",
        "consent_would_prejudice_protection",
    ):
        recorded = share(
            world,
            details={"special_category": True, "special_category_circumstance": circumstance},
        )
        assert recorded.current.special_category_circumstance == circumstance
    # Without special category data a circumstance means nothing and is not kept.
    plain = share(world, details={"special_category_circumstance": "consent_cannot_be_given"})
    assert plain.current.special_category_circumstance is None


def test_consent_as_the_basis_with_consent_refused_is_a_contradiction(world, frozen):
    frozen(NOW)
    with pytest.raises(sharing.ShareError) as refused:
        share(
            world,
            details={
                "lawful_basis": "art6_1a_consent",
                "consent": "refused",
                "consent_reason": "Risk of harm",
            },
        )
    assert refused.value.field == "consent"
    assert "Consent cannot be the lawful basis when consent was refused" in str(refused.value)


def test_every_broken_rule_is_reported_in_one_round(world, frozen):
    frozen(NOW)
    with pytest.raises(sharing.ShareError) as refused:
        share(
            world,
            details={
                "lawful_basis": "art6_1a_consent",
                "consent": "refused",
                "consent_reason": "Risk",
                "special_category": True,
                "identifier_absent": "forgotten",
            },
        )
    assert [p.field for p in refused.value.problems] == [
        "special_category_circumstance",
        "consent",
        "identifier_absent",
    ]


def test_amending_a_share_keeps_to_the_same_rules(world, frozen):
    frozen(NOW)
    recorded = share(world)
    with pytest.raises(sharing.ShareError, match="public authority"):
        sharing.amend_share(
            world.worker_a,
            recorded,
            details(lawful_basis="art6_1f_legitimate_interests"),
            "Basis corrected",
        )


# --- 3. the child's identifier on shares ------------------------------------------------------


def test_a_share_carries_the_nhs_number_or_the_reason_it_is_absent(world, frozen):
    frozen(NOW)
    assert world.case.nhs_number is None
    assert share(world).current.identifier_absent == "unknown"
    detrimental = share(world, details={"identifier_absent": "more_detrimental"})
    assert detrimental.current.identifier_absent == "more_detrimental"
    world.case.nhs_number = "9434765919"
    db.session.commit()
    carried = share(world, details={"identifier_absent": "unknown"})
    assert carried.current.identifier_absent is None


# --- 1. decisions not to share ----------------------------------------------------------------


def decide(world, **overrides) -> NoShareDecision:
    values = {
        "information": "Father's previous conviction for assault",
        "agency_ids": [world.agency_b.id],
        "reason_code": "more_detrimental_to_child",
        "reason": "Sharing now would alert the father before the strategy discussion",
        "decided_at": datetime(2026, 11, 30, 9, 30),
    }
    values.update(overrides)
    return no_share.record_decision(world.worker_a, world.case, **values)


def test_a_decision_not_to_share_is_recorded_and_audited(world, frozen):
    frozen(NOW)
    decision = decide(world)
    assert decision.reason_label == "More detrimental to the child"
    assert [a.agency_id for a in decision.considered_for] == [world.agency_b.id]
    assert decision.decided_by_id == world.worker_a.id
    assert decision.decided_by_agency_id == world.agency_a.id
    assert not decision.revisited
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "no_share.record"))
    assert event.case_id == world.case.id and event.object_id == decision.id


def test_a_decision_lists_every_problem_in_one_round(world, frozen):
    frozen(NOW)
    with pytest.raises(no_share.NoShareError) as refused:
        decide(
            world,
            information=" ",
            agency_ids=[],
            reason_code="because",
            reason="",
            decided_at=datetime(2026, 12, 1, 9, 0),
        )
    assert [p.field for p in refused.value.problems] == [
        "information",
        "agency_ids",
        "reason_code",
        "reason",
        "decided_on",
    ]
    with pytest.raises(no_share.NoShareError, match="not your own agency"):
        decide(world, agency_ids=[world.agency_a.id])
    with pytest.raises(no_share.NoShareError, match="not involved"):
        no_share.record_decision(
            world.worker_c,
            world.case,
            information="x",
            agency_ids=[world.agency_a.id],
            reason_code="other",
            reason="y",
            decided_at=NOW,
        )
    assert _count(NoShareDecision) == 0


def test_a_later_share_cites_the_decision_which_then_shows_as_revisited(world, frozen):
    frozen(NOW)
    decision = decide(world)
    later = share(world, revisits_decision_id=decision.id)
    db.session.expire_all()
    assert decision.revisited and decision.revisited_by == [later]
    with pytest.raises(sharing.ShareError) as refused:
        share(world, revisits_decision_id=decision.id + 99)
    assert refused.value.field == "revisits_decision_id"


def test_decisions_count_by_reason_and_agency(world, frozen):
    frozen(NOW)
    decide(world)
    decide(world, reason_code="could_prejudice_enquiry")
    decide(world, agency_ids=[world.agency_b.id, world.agency_c.id])
    rows = no_share.counts_by_reason_and_agency()
    assert rows == [
        ("could_prejudice_enquiry", "Agency B Police", 1),
        ("more_detrimental_to_child", "Agency B Police", 2),
        ("more_detrimental_to_child", "Agency C School", 1),
    ]


# --- 4. the loop closed back to the sender ----------------------------------------------------


def test_every_share_moves_sent_viewed_acknowledged_responded_outcome(world, frozen):
    frozen(NOW)
    recorded = share(world, needs_response=True)
    recipient = recorded.recipients[0]
    assert sharing.loop_stage(recipient) == "sent"

    sharing.record_share_view(recorded, world.worker_a)  # the sender's own look is no view
    assert recipient.viewed_at is None
    frozen(datetime(2026, 11, 30, 11, 0))
    sharing.record_share_view(recorded, world.worker_b)
    frozen(datetime(2026, 11, 30, 12, 0))
    sharing.record_share_view(recorded, world.lead_b)  # only the first view counts
    db.session.expire_all()
    assert (recipient.viewed_at, recipient.viewed_by_id) == (
        datetime(2026, 11, 30, 11, 0),
        world.worker_b.id,
    )
    assert sharing.loop_stage(recipient) == "viewed"
    assert _count(AuditEvent, AuditEvent.action == "share.first_view") == 1

    sharing.acknowledge(world.worker_b, recipient)
    assert sharing.loop_stage(recipient) == "acknowledged"
    sharing.respond(world.worker_b, recipient, action_taken="Spoke to the child")
    assert sharing.loop_stage(recipient) == "responded"
    with pytest.raises(sharing.ShareError) as refused:
        sharing.record_outcome(world.worker_a, recipient, "teleported")
    assert [str(p) for p in refused.value.problems] == [
        "Only Agency B Police can record what it did with this",
        "Select what your agency did with it",
    ]
    with pytest.raises(sharing.ShareError, match="Enter what your agency did"):
        sharing.record_outcome(world.worker_b, recipient, "other", " ")
    sharing.record_outcome(world.worker_b, recipient, "strategy_discussion", "Held on Tuesday")
    assert sharing.loop_stage(recipient) == "outcome_recorded"
    with pytest.raises(sharing.ShareError, match="already been recorded"):
        sharing.record_outcome(world.lead_b, recipient, "no_further_action")
    db.session.expire_all()
    assert recipient.outcome == "strategy_discussion"
    assert recipient.outcome_by_id == world.worker_b.id


def test_a_share_needing_no_response_is_acknowledged_and_given_an_outcome(world, frozen):
    frozen(NOW)
    recipient = share(world).recipients[0]
    sharing.acknowledge(world.worker_b, recipient)
    assert recipient.state == "no_response_needed" and recipient.acknowledged_at == NOW
    with pytest.raises(sharing.ShareError, match="already been acknowledged"):
        sharing.acknowledge(world.worker_b, recipient)
    sharing.record_outcome(world.worker_b, recipient, "added_to_assessment")
    assert sharing.loop_stage(recipient) == "outcome_recorded"


def test_an_unviewed_share_reminds_the_receiving_agency_once(world, frozen):
    frozen(NOW)
    recorded = share(world)
    recipient_id = recorded.recipients[0].id
    event = f"share_recipient:{recipient_id}:unviewed"
    frozen(datetime(2026, 11, 30, 16, 0))  # six working hours: not yet a working day
    assert run_sweep(datetime(2026, 11, 30, 16, 0))["unviewed_reminders"] == 0
    frozen(datetime(2026, 12, 1, 11, 0))  # a working day and more
    assert run_sweep(datetime(2026, 12, 1, 11, 0))["unviewed_reminders"] == 2
    assert {
        a.recipient_id for a in db.session.scalars(select(Alert).where(Alert.event == event))
    } == {
        world.worker_b.id,
        world.lead_b.id,
    }
    assert run_sweep(datetime(2026, 12, 1, 11, 5))["unviewed_reminders"] == 0
    # A viewed share is not chased.
    viewed = share(world, details={"shared_at": datetime(2026, 12, 1, 10, 0)})
    sharing.record_share_view(viewed, world.worker_b)
    frozen(datetime(2026, 12, 3, 11, 0))
    run_sweep(datetime(2026, 12, 3, 11, 0))
    assert _count(Alert, Alert.event == f"share_recipient:{viewed.recipients[0].id}:unviewed") == 0


def test_a_share_on_a_closed_case_is_not_chased_to_be_opened(world, frozen):
    """As with unanswered concerns: a closed (or disposed of) case's shares are not chased."""
    frozen(NOW)
    recipient_id = share(world).recipients[0].id
    cases.set_status(world.worker_a, world.case, "closed", "Family moved away")
    frozen(datetime(2026, 12, 1, 11, 0))
    assert run_sweep(datetime(2026, 12, 1, 11, 0))["unviewed_reminders"] == 0
    assert _count(Alert, Alert.event == f"share_recipient:{recipient_id}:unviewed") == 0


# --- 3. identifiers on cases and matching cases -----------------------------------------------


def new_case(world, actor=None, **overrides) -> Case:
    values = {
        "child_name": "Child Two",
        "date_of_birth": date(2019, 1, 2),
        "lead_agency_id": world.agency_a.id,
        "lead_professional_id": None,
        "other_agency_ids": [],
    }
    values.update(overrides)
    return cases.create(actor or world.worker_a, **values)


def test_a_case_holds_a_checked_nhs_number_and_upn(world, frozen):
    frozen(NOW)
    case = new_case(world, nhs_number="943 476 5919", upn="b801200005001")
    assert (case.nhs_number, case.upn) == ("9434765919", "B801200005001")
    with pytest.raises(cases.CaseError) as refused:
        new_case(world, child_name="Child Three", nhs_number="9434765918")
    assert refused.value.field == "nhs_number"
    with pytest.raises(cases.CaseError) as refused:
        new_case(world, child_name="Child Three", upn="A801200005001")
    assert refused.value.field == "upn"


def test_a_matching_case_the_creator_can_read_is_offered_for_linking(world, frozen):
    frozen(NOW)
    world.case.nhs_number = "9434765919"
    db.session.commit()
    with pytest.raises(cases.CaseMatch) as found:
        new_case(world, nhs_number="9434765919")
    assert found.value.readable == [world.case]
    assert world.case.reference in str(found.value)
    # Same name and date of birth, any case.
    with pytest.raises(cases.CaseMatch):
        new_case(world, child_name="child one", date_of_birth=date(2018, 5, 17))
    # The creator confirms it is a different child.
    other = new_case(
        world, child_name="Child One", date_of_birth=date(2018, 5, 17), confirm_not_a_match=True
    )
    assert other.id != world.case.id


def test_a_hidden_match_is_never_revealed_and_the_partnership_lead_is_alerted(
    world, frozen, password_hash
):
    from tests.challenges.support import name_leads

    named = name_leads(world, password_hash)
    frozen(NOW)
    world.case.nhs_number = "9434765919"
    db.session.commit()
    with pytest.raises(cases.CaseMatch) as found:
        new_case(world, world.worker_c, lead_agency_id=world.agency_c.id, nhs_number="9434765919")
    message = str(found.value)
    assert message == "A case with this identifier exists; the partnership lead has been alerted"
    assert found.value.readable == []
    assert world.case.reference not in message
    alert = db.session.scalar(select(Alert).where(Alert.kind == "case_match"))
    assert alert.recipient_id == named.chair.id
    assert "Child" not in alert.subject
    assert _count(Case) == 1


def test_trying_a_hidden_match_again_alerts_no_one_twice(world, frozen, password_hash):
    from tests.challenges.support import name_leads

    name_leads(world, password_hash)
    frozen(NOW)
    world.case.nhs_number = "9434765919"
    db.session.commit()
    for _ in range(2):
        with pytest.raises(cases.CaseMatch):
            new_case(
                world, world.worker_c, lead_agency_id=world.agency_c.id, nhs_number="9434765919"
            )
    assert _count(Alert, Alert.kind == "case_match") == 1


def _behind_the_session(statement, **values) -> None:
    """A concurrent twin: another connection changes the row after this session read it (the
    session ends its transaction but keeps what it read, as a request that read first would)."""
    from sqlalchemy import text

    session = db.session()
    session.expire_on_commit = False
    session.commit()
    session.expire_on_commit = True
    with db.engine.begin() as other:
        other.execute(text(statement), values)


def test_a_concurrent_first_view_is_recorded_once(world, frozen):
    frozen(NOW)
    recorded = share(world)
    recipient = recorded.recipients[0]
    assert recipient.viewed_at is None  # this session has read it unviewed
    _behind_the_session(
        "UPDATE concern SET viewed_at = :at, viewed_by_id = :who WHERE id = :id",
        at=NOW,
        who=world.lead_b.id,
        id=recipient.id,
    )
    sharing.record_share_view(recorded, world.worker_b)
    db.session.expire_all()
    assert recipient.viewed_by_id == world.lead_b.id  # the twin won; nothing overwritten
    assert _count(AuditEvent, AuditEvent.action == "share.first_view") == 0


def test_a_concurrent_outcome_is_refused_not_overwritten(world, frozen):
    frozen(NOW)
    recipient = share(world).recipients[0]
    assert recipient.outcome is None
    _behind_the_session(
        "UPDATE concern SET outcome = 'referral_made', outcome_at = :at, "
        "outcome_by_id = :who WHERE id = :id",
        at=NOW,
        who=world.lead_b.id,
        id=recipient.id,
    )
    with pytest.raises(sharing.ShareError, match="already been recorded"):
        sharing.record_outcome(world.worker_b, recipient, "no_further_action")
    db.session.expire_all()
    assert recipient.outcome == "referral_made"
    assert _count(AuditEvent, AuditEvent.action == "share.record_outcome") == 0
