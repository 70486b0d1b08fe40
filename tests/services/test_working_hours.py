"""Timescales in working hours and partnership closure days (the worked examples of issue 15)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.challenges.support import name_leads, raise_one
from tests.services.sweep_support import share_concern
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, ClosureDay, Concern, Share
from tracker.services import closures, sharing, workdays
from tracker.services.procedure import ProcedureError, parse
from tracker.services.sweep import run_sweep

# Times are naive UTC; December is GMT, so UTC equals London time.
FRIDAY_3PM = datetime(2026, 11, 27, 15, 0)


def test_red_raised_friday_3pm_is_due_monday_11am(app):
    assert workdays.add_working_hours(FRIDAY_3PM, 4) == datetime(2026, 11, 30, 11, 0)
    assert workdays.due_after(FRIDAY_3PM, working_hours=4, out_of_hours=True) == datetime(
        2026, 11, 30, 11, 0
    )


def test_red_raised_christmas_eve_half_past_four_crosses_the_christmas_break(app):
    # Thursday 24 December 2026, 16:30: half an hour that day, then Friday 25 (Christmas Day),
    # the weekend of 26-27 (Boxing Day falls on the Saturday) and Monday 28 (Boxing Day's
    # substitute bank holiday) are not working days; 3.5 hours on Tuesday 29 December.
    christmas_eve = datetime(2026, 12, 24, 16, 30)
    due = workdays.due_after(christmas_eve, working_hours=4, out_of_hours=True)
    assert due == datetime(2026, 12, 29, 12, 30)
    skipped = [christmas_eve.date() + timedelta(days=n) for n in range(1, 5)]
    assert not any(workdays.is_working_day(d) for d in skipped)
    # The three non-working days the issue names are the bank holiday and the weekend; England's
    # calendar adds the substitute Monday, so four days pass without a working hour.
    assert workdays.working_hours_between(christmas_eve, due) == 4


def test_red_out_of_hours_runs_straight_through(app):
    saturday_2am = datetime(2026, 11, 28, 2, 0)
    assert workdays.due_after(saturday_2am, working_hours=4, out_of_hours=True) == datetime(
        2026, 11, 28, 6, 0
    )
    weekday_evening = datetime(2026, 11, 26, 20, 0)  # Thursday 20:00
    assert workdays.due_after(weekday_evening, working_hours=4, out_of_hours=True) == datetime(
        2026, 11, 27, 0, 0
    )
    # Amber does not run out of hours: Saturday 02:00 + 24 working hours = Wednesday 17:00.
    assert workdays.due_after(saturday_2am, working_hours=24) == datetime(2026, 12, 2, 17, 0)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (datetime(2026, 11, 30, 9, 0), 8, datetime(2026, 11, 30, 17, 0)),  # a whole day
        (datetime(2026, 11, 30, 8, 0), 1, datetime(2026, 11, 30, 10, 0)),  # before opening
        (datetime(2026, 11, 30, 17, 0), 1, datetime(2026, 12, 1, 10, 0)),  # at closing
        (datetime(2026, 11, 30, 12, 0), 72, datetime(2026, 12, 11, 12, 0)),  # green, 9 days
        # BST: 09:00 London is 08:00 UTC.
        (datetime(2026, 6, 5, 14, 0), 4, datetime(2026, 6, 8, 10, 0)),
        (datetime(2026, 11, 30, 12, 0), 0, datetime(2026, 11, 30, 12, 0)),
    ],
)
def test_add_working_hours(app, start, hours, due):
    assert workdays.add_working_hours(start, hours) == due


def test_the_procedure_file_sets_rag_ratings(app):
    from tracker.services import procedure

    rules = procedure.current()
    red, amber, green = (rules.rating(n) for n in ("red", "amber", "green"))
    assert (red.working_hours, red.out_of_hours) == (4, True)
    assert (amber.working_hours, amber.out_of_hours) == (24, False)
    assert green.working_hours == 72


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ('name = "red"', "exactly one of working_hours or working_days"),
        ('name = "red"\nworking_hours = 4\nworking_days = 1', "exactly one"),
        ('name = "red"\nworking_hours = 0', "working_hours must be a whole number"),
        ('name = "Red!"\nworking_hours = 4', "short lower-case word"),
        ('name = "red"\nworking_days = 1\nout_of_hours = true', "out_of_hours needs"),
        ('name = "red"\nworking_hours = 4\ncolour = "red"', "unknown setting 'colour'"),
    ],
)
def test_a_bad_rating_stops_the_app_with_the_reason(tmp_path, block, problem):
    text = (
        '[[stage]]\nnumber = 1\nname = "S"\nraising_side = "practitioner"\n'
        'other_side = "practitioner"\nworking_days = 2\nurgent_working_days = 1\n'
        "reminder_working_hours = 4\n\n[[concern_rating]]\n" + block + "\n"
    )
    with pytest.raises(ProcedureError, match=problem):
        parse(text, tmp_path / "p.toml")


def rated_share(world, shared_at: datetime, rating: str) -> Share:
    return sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(agency_id=world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=shared_at,
            method="multi_agency_hub",
            summary="Hub check requested",
            purpose="MASH enquiry",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Seeking consent could place the child at risk",
        ),
        needs_response=True,
        rating=rating,
    )


def test_a_red_share_is_due_in_four_working_hours(world, frozen):
    frozen(FRIDAY_3PM)
    share = rated_share(world, FRIDAY_3PM, "red")
    assert share.rating == "red"
    assert share.recipients[0].due_at == datetime(2026, 11, 30, 11, 0)
    with pytest.raises(sharing.ShareError, match="Select a rating from the list"):
        rated_share(world, FRIDAY_3PM, "purple")


def test_changing_the_rating_needs_a_rationale_recalculates_and_is_audited(world, frozen):
    frozen(FRIDAY_3PM)
    share = rated_share(world, FRIDAY_3PM, "green")
    assert share.recipients[0].due_at == datetime(2026, 12, 10, 15, 0)
    with pytest.raises(sharing.ShareError) as refused:
        sharing.change_rating(world.worker_a, share, "red", "  ")
    assert [p.field for p in refused.value.problems] == ["rationale"]
    with pytest.raises(sharing.ShareError, match="different rating"):
        sharing.change_rating(world.worker_a, share, "green", "no change")
    with pytest.raises(sharing.ShareError, match="Only the agencies on this share"):
        sharing.change_rating(world.worker_c, share, "red", "escalating")
    due = sharing.change_rating(world.worker_b, share, "red", "New disclosure: same-day visit")
    assert due == datetime(2026, 11, 30, 11, 0)
    db.session.expire_all()
    assert share.rating == "red" and share.recipients[0].due_at == due
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "share.change_rating"))
    assert event.reason == "New disclosure: same-day visit"
    assert event.person_id == world.worker_b.id
    sharing.respond(world.worker_b, share.recipients[0], action_taken="Visited")
    with pytest.raises(sharing.ShareError, match="Only an open concern"):
        sharing.change_rating(world.worker_a, share, "amber", "late")


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_closure_day_is_skipped_and_moves_open_due_times_with_an_audit(
    world, password_hash, frozen
):
    name_leads(world, password_hash)
    frozen(datetime(2026, 11, 30, 9, 0))  # Monday
    concern = share_concern(world, datetime(2026, 11, 30, 9, 0))  # due Thursday 3 Dec 17:00
    rated = rated_share(world, datetime(2026, 11, 30, 9, 0), "amber")  # due Wed 2 Dec 17:00
    challenge = raise_one(world)  # stage 1: 2 working days: Wednesday 2 Dec 17:00
    later = share_concern(world, datetime(2026, 11, 30, 9, 0))
    sharing.respond(world.worker_b, later, action_taken="Checked")  # answered: never moves
    assert concern.due_at == datetime(2026, 12, 3, 17, 0)
    assert challenge.stage_due_at == datetime(2026, 12, 2, 17, 0)

    closure, moved = closures.close_day(world.admin, date(2026, 12, 1), "Office move")
    assert moved == 3
    assert not workdays.is_working_day(date(2026, 12, 1))
    db.session.expire_all()
    assert concern.due_at == datetime(2026, 12, 4, 17, 0)
    assert rated.recipients[0].due_at == datetime(2026, 12, 3, 17, 0)
    assert challenge.stage_due_at == datetime(2026, 12, 3, 17, 0)
    assert later.due_at == datetime(2026, 12, 3, 17, 0)
    assert _count(AuditEvent, AuditEvent.action == "workdays.close_day") == 1
    assert _count(AuditEvent, AuditEvent.action == "concern.due_recalculated") == 2
    assert _count(AuditEvent, AuditEvent.action == "challenge.due_recalculated") == 1
    moved_event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "concern.due_recalculated", AuditEvent.object_id == concern.id
        )
    )
    assert "Office move" in moved_event.reason

    with pytest.raises(closures.ClosureError, match="already a closure day"):
        closures.close_day(world.admin, date(2026, 12, 1), "Again")
    with pytest.raises(closures.ClosureError, match="today or in the future"):
        closures.close_day(world.admin, date(2026, 11, 27), "Too late")
    with pytest.raises(closures.ClosureError, match="Enter why"):
        closures.close_day(world.admin, date(2026, 12, 10), " ")
    assert _count(ClosureDay) == 1


def _alerts(event: str) -> int:
    return _count(Alert, Alert.event == event)


def test_moving_due_times_raises_no_alert_twice_and_loses_none(world, password_hash, frozen):
    name_leads(world, password_hash)
    frozen(datetime(2026, 11, 30, 9, 0))
    concern = share_concern(world, datetime(2026, 11, 30, 9, 0))  # due Thu 3 Dec 17:00
    frozen(datetime(2026, 12, 1, 9, 0))
    challenge = raise_one(world)  # stage 1, two working days: Thu 3 Dec 17:00
    due_soon = f"concern:{concern.id}:due_soon"
    overdue = f"concern:{concern.id}:overdue"
    stage_soon = f"challenge:{challenge.id}:stage:1:due_soon"

    frozen(datetime(2026, 12, 3, 14, 0))  # three working hours before both deadlines
    run_sweep(datetime(2026, 12, 3, 14, 0))
    reminded, stage_reminded = _alerts(due_soon), _alerts(stage_soon)
    assert reminded and stage_reminded

    # Snow: the partnership closes for the rest of today. Both deadlines move a working day on.
    closures.close_day(world.admin, date(2026, 12, 3), "Snow: offices closed")
    db.session.expire_all()
    assert concern.due_at == datetime(2026, 12, 4, 17, 0)
    assert challenge.stage_due_at == datetime(2026, 12, 4, 17, 0)

    # Past the old deadlines: nothing overdue, nothing escalated (not early).
    frozen(datetime(2026, 12, 3, 18, 0))
    run_sweep(datetime(2026, 12, 3, 18, 0))
    assert _alerts(overdue) == 0
    # Within the new reminder windows: nothing is raised again.
    frozen(datetime(2026, 12, 4, 14, 0))
    run_sweep(datetime(2026, 12, 4, 14, 0))
    assert (_alerts(due_soon), _alerts(stage_soon)) == (reminded, stage_reminded)
    db.session.expire_all()
    assert challenge.stage == 1

    # Past the new deadlines: the overdue alert and the escalation come (none lost), once each.
    for moment in (datetime(2026, 12, 7, 9, 0), datetime(2026, 12, 7, 9, 5)):
        frozen(moment)
        run_sweep(moment)
    assert _alerts(overdue) == 2  # the receiving agency's stage-1 lead and the sender
    db.session.expire_all()
    assert challenge.stage == 2
    assert db.session.get(Concern, concern.id).due_at == datetime(2026, 12, 4, 17, 0)


def test_the_closure_command(app, world, frozen):
    frozen(datetime(2026, 11, 30, 9, 0))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["tracker", "workdays", "close", "2026-12-08", "--reason", "Training day"]
    )
    assert result.exit_code == 0, result.output
    assert "8 December 2026" in result.output
    assert not workdays.is_working_day(date(2026, 12, 8))
    again = runner.invoke(
        args=["tracker", "workdays", "close", "2026-12-08", "--reason", "Training day"]
    )
    assert again.exit_code != 0 and "already a closure day" in again.output
    bad = runner.invoke(args=["tracker", "workdays", "close", "2026-12-09"])
    assert bad.exit_code != 0
