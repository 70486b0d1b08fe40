"""Local time, the one home (tracker.services.workdays): how every page, alert and pack shows a
moment, and counting working days backwards."""

from __future__ import annotations

from datetime import date, datetime

from tracker.services import workdays


def test_a_stored_moment_shows_in_london_time_in_winter_and_summer(app):
    assert workdays.local_time(datetime(2026, 12, 24, 9, 5)) == "24 Dec 2026 09:05"  # GMT
    assert workdays.local_time(datetime(2026, 7, 1, 16, 30)) == "1 Jul 2026 17:30"  # BST
    assert workdays.local_time(datetime(2026, 7, 1, 23, 30), "%Y-%m-%d %H:%M") == (
        "2026-07-02 00:30"  # the next day in London
    )
    assert workdays.local_time(None) == ""


def test_pages_show_times_with_the_same_function(app):
    assert app.jinja_env.filters["local_time"] is workdays.local_time
    rendered = app.jinja_env.from_string("{{ moment|local_time }}").render(
        moment=datetime(2026, 7, 1, 16, 30)
    )
    assert rendered == "1 Jul 2026 17:30"


def test_working_days_before_undoes_adding_them_across_weekends_and_bank_holidays(app):
    # Christmas Day and Boxing Day 2026 (a Friday; Monday 28th is the substitute day).
    assert workdays.working_days_before(date(2026, 12, 29), 1) == date(2026, 12, 24)
    assert workdays.working_days_before(date(2026, 12, 29), 0) == date(2026, 12, 29)
    for start in (date(2026, 12, 21), date(2026, 3, 27), date(2026, 8, 28)):
        for days in (1, 3, 10):
            later = workdays.add_working_days(start, days)
            assert workdays.working_days_before(later, days) == start
