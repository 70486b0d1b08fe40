"""Partnership closure days: an admin closes a day, and every open due time it moves is moved.

Working days (tracker.services.workdays) skip closure days; this module adds them, and moves the
due times of concerns and challenge stages in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracker import clock
from tracker.extensions import db
from tracker.models import ClosureDay, Person
from tracker.services import audit, challenges, sharing, workdays


class ClosureError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def close_day(
    actor: Person | None, day: date, reason: str, actor_label: str | None = None
) -> tuple[ClosureDay, int]:
    """Close the partnership on `day`: it stops being a working day, and every open due time it
    moves (concerns and challenge stages) is recalculated and audited in the same transaction.

    Returns the closure and how many due times moved. Alert keys name the concern or the
    challenge stage, not the due time, so a moved deadline never raises an alert twice; the
    sweep raises what is due against the new time, so none is lost.
    """
    reason = (reason or "").strip()
    problems = []
    today = workdays.to_local(clock.now()).date()
    if day < today:
        problems.append(ClosureError("day", "A closure day must be today or in the future"))
    if not reason:
        problems.append(ClosureError("reason", "Enter why the partnership is closed that day"))
    elif len(reason) > 500:
        problems.append(ClosureError("reason", "The reason must be 500 characters or fewer"))
    if problems:
        raise problems[0]
    if day in workdays.closure_days():
        raise ClosureError("day", f"{day:%-d %B %Y} is already a closure day")
    closure = ClosureDay(day=day, reason=reason, created_by_id=actor.id if actor else None)
    try:
        with db.session.begin_nested():
            db.session.add(closure)
            db.session.flush()
    except IntegrityError:  # a concurrent twin closed it first
        db.session.rollback()
        raise ClosureError("day", f"{day:%-d %B %Y} is already a closure day") from None
    workdays.remember_closure(day)
    audit.record(
        "workdays.close_day",
        object_kind="closure_day",
        object_id=closure.id,
        changes={"day": [None, day], "reason": [None, reason]},
        actor=actor,
        actor_label=actor_label,
    )
    why = f"Partnership closure day {day.isoformat()}: {reason}"
    # Due times already passed stay where they are (their alerts have gone); the rest move.
    since = max(workdays.to_utc(datetime.combine(day, time(0))), clock.now())
    moved = sharing.recalculate_due_times(since, why) + challenges.recalculate_stage_due_times(
        since, why
    )
    db.session.commit()
    return closure, moved


def closures() -> list[ClosureDay]:
    return list(db.session.scalars(select(ClosureDay).order_by(ClosureDay.day.desc())))
