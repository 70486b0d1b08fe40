"""Working days: the one place deadlines are computed.

A deadline of "N working days after" a moment falls at the end of the Nth working day (17:00 local
by default) after the local date of that moment, skipping weekends and the bank holidays of the
configured region (England and Wales: `holidays` with subdiv="ENG", which also brings Easter
Monday, the August bank holiday and substitute days). Stored times are naive UTC; the maths is
done in local time so a deadline is 17:00 in London whether it is GMT or BST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask import current_app


@lru_cache(maxsize=16)
def _holidays(country: str, subdiv: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None, years=year))


def _settings() -> tuple[str, str, ZoneInfo, time, time]:
    config = current_app.config
    start = time.fromisoformat(config["WORKDAY_START"])
    end = time.fromisoformat(config["WORKDAY_END"])
    return (
        config["HOLIDAY_COUNTRY"],
        config["HOLIDAY_REGION"],
        ZoneInfo(config["TIMEZONE"]),
        start,
        end,
    )


def is_working_day(day: date) -> bool:
    country, region, *_ = _settings()
    return day.weekday() < 5 and day not in _holidays(country, region, day.year)


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
