"""Working days: the one place deadlines are computed.

A deadline of "N working days after" a moment falls at the end of the Nth working day (17:00 local
by default) after the local date of that moment, skipping weekends and the bank holidays of the
configured region (England and Wales: `holidays` with subdiv="ENG", which also brings Easter
Monday, the August bank holiday and substitute days). Stored times are naive UTC; the maths is
done in local time so a deadline is 17:00 in London whether it is GMT or BST.

Partnership closure days (ClosureDay rows, added by an admin through
tracker.services.closures) are skipped like bank holidays. Timescales in working hours
(`add_working_hours`, `due_after`) count only office hours (09:00-17:00 by default) on working days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tracker import clock
from tracker.extensions import db
from tracker.models import ClosureDay
from tracker.services import settings

_CLOSURES = "workdays.closure_days"


@lru_cache(maxsize=16)
def _holidays(country: str, subdiv: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None, years=year))


def _settings() -> tuple[str, str, ZoneInfo, time, time]:
    config = settings.mapping()
    start = time.fromisoformat(config["WORKDAY_START"])
    end = time.fromisoformat(config["WORKDAY_END"])
    return (
        config["HOLIDAY_COUNTRY"],
        config["HOLIDAY_REGION"],
        ZoneInfo(config["TIMEZONE"]),
        start,
        end,
    )


def closure_days() -> frozenset[date]:
    """The partnership's closure days, read once per transaction (they are few)."""
    info = db.session.info
    if _CLOSURES not in info:
        info[_CLOSURES] = frozenset(db.session.scalars(select(ClosureDay.day)))
    return info[_CLOSURES]


@event.listens_for(Session, "after_transaction_end")
def _forget_closures(session: Session, transaction) -> None:
    # Another process may have closed a day: the next transaction reads them again. Only the
    # outermost transaction counts: every flush opens and ends an inner one.
    if transaction.parent is None:
        session.info.pop(_CLOSURES, None)


def is_working_day(day: date) -> bool:
    country, region, *_ = _settings()
    return (
        day.weekday() < 5
        and day not in _holidays(country, region, day.year)
        and day not in closure_days()
    )


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself never counts)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def working_days_before(day: date, days: int) -> date:
    """The date `days` working days before `day` (the inverse of add_working_days)."""
    while days:
        day -= timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative if `end` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n))
    )


def to_local(moment: datetime) -> datetime:
    *_, zone, _, _ = _settings()
    return moment.replace(tzinfo=UTC).astimezone(zone)


# How the app shows a moment: pages, alerts, the chronology and the audit trail alike.
LOCAL_TIME = "%-d %b %Y %H:%M"


def local_time(moment: datetime | None, fmt: str = LOCAL_TIME) -> str:
    """Stored UTC, shown in the partnership's local time ("" for no moment)."""
    return to_local(moment).strftime(fmt) if moment is not None else ""


def today(now: datetime | None = None) -> date:
    """The partnership's local date now (or at `now`, naive UTC): never the UTC date, which is
    still yesterday's between 00:00 and 01:00 in summer."""
    return to_local(now or clock.now()).date()


def to_utc(local: datetime) -> datetime:
    """A local wall-clock time (naive or aware) as naive UTC."""
    *_, zone, _, _ = _settings()
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def end_of_working_day(day: date) -> datetime:
    """17:00 local (the setting) on `day`, as naive UTC."""
    *_, end = _settings()
    return to_utc(datetime.combine(day, end))


def deadline(start: datetime, days: int) -> datetime:
    """End of the Nth working day after the local date of `start` (naive UTC in, naive UTC out)."""
    return end_of_working_day(add_working_days(to_local(start).date(), days))


def working_days_overdue(due: datetime, now: datetime) -> int:
    """Whole working days since the deadline passed (0 if not yet passed or passed today)."""
    if now <= due:
        return 0
    return max(0, working_days_between(to_local(due).date(), to_local(now).date()))


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours from `start` to `end` (naive UTC), counting only working-day office hours."""
    if end <= start:
        return 0.0
    *_, open_at, close_at = _settings()
    local_start, local_end = to_local(start), to_local(end)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            zone = local_start.tzinfo
            window_start = datetime.combine(day, open_at, zone)
            window_end = datetime.combine(day, close_at, zone)
            overlap_start = max(window_start, local_start)
            overlap_end = min(window_end, local_end)
            if overlap_end > overlap_start:
                total += (overlap_end - overlap_start).total_seconds() / 3600
        day += timedelta(days=1)
    return total


def hours_per_working_day() -> float:
    """Office hours in one working day (8 for 09:00-17:00); at least one."""
    *_, open_at, close_at = _settings()
    minutes = close_at.hour * 60 + close_at.minute - open_at.hour * 60 - open_at.minute
    return max(minutes / 60, 1.0)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment `hours` office hours after `start` on working days (naive UTC in and out).

    Friday 15:00 + 4 working hours is Monday 11:00 (two hours on Friday, two on Monday).
    """
    if hours <= 0:
        return start
    *_, open_at, close_at = _settings()
    local = to_local(start)
    zone = local.tzinfo
    remaining = timedelta(hours=hours)
    cursor, day = local, local.date()
    # Bounded: a year without a working day would be a misconfiguration, not a deadline.
    for _ in range(366 + int(hours)):
        if is_working_day(day):
            window_end = datetime.combine(day, close_at, zone)
            begin = max(cursor, datetime.combine(day, open_at, zone))
            if begin < window_end:
                available = window_end - begin
                if remaining <= available:
                    return to_utc(begin + remaining)
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), zone)
    raise ValueError("no working hours within a year: check the holiday and closure settings")


def due_after(
    start: datetime,
    *,
    working_days: int | None = None,
    working_hours: int | None = None,
    out_of_hours: bool = False,
) -> datetime:
    """A due time from a timescale in working days or working hours (naive UTC).

    `out_of_hours`: raised outside office hours, the clock runs straight through (a red rating at
    02:00 on Sunday is due 4 hours later, not on Monday); raised inside them, working hours count.
    """
    if working_hours is not None:
        if out_of_hours and not is_working_hours(start):
            return start + timedelta(hours=working_hours)
        return add_working_hours(start, working_hours)
    if working_days is None:
        raise ValueError("a timescale needs working days or working hours")
    return deadline(start, working_days)


def is_working_hours(moment: datetime) -> bool:
    """Inside office hours on a working day (for quiet hours of non-urgent email)."""
    *_, open_at, close_at = _settings()
    local = to_local(moment)
    return is_working_day(local.date()) and open_at <= local.time() < close_at


def due_status(due: datetime | None, now: datetime) -> str | None:
    """'overdue' past the deadline, 'due_soon' within one working day of it, else None."""
    if due is None:
        return None
    if now > due:
        return "overdue"
    if deadline(now, 1) >= due:
        return "due_soon"
    return None


def remember_closure(day: date) -> None:
    """A day closed in this transaction counts at once (the cache is per transaction)."""
    db.session.info[_CLOSURES] = closure_days() | {day}
