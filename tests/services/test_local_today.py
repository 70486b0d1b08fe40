"""What "today" means: the partnership's local date, not UTC's.

Between 00:00 and 01:00 BST the UTC date is still yesterday's. Rules that say "today or in the
past" / "today or later" must use the London date, as workdays.to_local does elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime

from tracker.services import cases, challenges, notes

# 00:30 BST on Thursday 16 July 2026 (23:30 UTC on the 15th).
JUST_AFTER_MIDNIGHT_BST = datetime(2026, 7, 15, 23, 30)
LOCAL_TODAY = date(2026, 7, 16)


def test_a_child_born_today_can_be_recorded_just_after_midnight_in_summer(app, frozen):
    frozen(JUST_AFTER_MIDNIGHT_BST)
    problems = cases.new_case_problems(LOCAL_TODAY, None, None)
    assert [p.field for p in problems] == []


def test_a_note_dated_today_is_accepted_just_after_midnight_in_summer(app, frozen):
    frozen(JUST_AFTER_MIDNIGHT_BST)
    problems = notes.note_problems(LOCAL_TODAY, "Seen at home, said she was happy", [])
    assert [p.field for p in problems] == []


def test_an_agreed_action_due_yesterday_is_refused_just_after_midnight_in_summer(app, frozen):
    frozen(JUST_AFTER_MIDNIGHT_BST)
    yesterday = date(2026, 7, 15)
    problems = challenges.action_due_problems([("actions-0-due_on", yesterday)])
    assert [p.field for p in problems] == ["actions-0-due_on"]


def _red_share(world, shared_at: datetime):
    from tracker.services import sharing

    return sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=shared_at,
            method="phone",
            summary="Bruising seen at pick-up",
            purpose="Risk management",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Would place the child at risk",
            identifier_absent="more_detrimental",
        ),
        needs_response=True,
        rating="red",
    )


def test_the_at_least_n_days_overdue_filter_agrees_with_the_days_overdue_it_shows(
    app, world, frozen
):
    """A red concern shared out of hours is due 4 hours later, not at 17:00: Wednesday 19:30
    (GMT) is due 23:30 that evening. On Thursday the unanswered list shows it "1 working day
    overdue", so the filter "at least 1 working day overdue" must keep it."""
    from tracker.extensions import db
    from tracker.services import sharing

    frozen(datetime(2026, 11, 18, 19, 35))  # Wednesday, GMT
    share = _red_share(world, datetime(2026, 11, 18, 19, 30))
    db.session.commit()
    concern = share.recipients[0]
    assert concern.due_at == datetime(2026, 11, 18, 23, 30)
    now = frozen(datetime(2026, 11, 19, 12, 0))  # Thursday noon
    assert sharing.days_overdue(concern, now) == 1
    listed = db.session.scalars(sharing.unanswered_concerns(now, min_days_overdue=1)).all()
    assert concern in listed
