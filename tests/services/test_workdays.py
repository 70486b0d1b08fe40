"""Due times across weekends, bank holidays (with substitute days), after-hours and GMT/BST."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tracker.services import workdays


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 25 December (Friday) and Boxing Day's substitute, Monday 28 December, are skipped.
        (date(2026, 12, 24), 3, date(2026, 12, 31)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # 2027: Christmas and Boxing Day fall at the weekend: substitutes 27 and 28 December.
        (date(2027, 12, 24), 1, date(2027, 12, 29)),
        # New Year's Day 2027 is a Friday.
        (date(2026, 12, 31), 1, date(2027, 1, 4)),
        # Easter 2027: Good Friday 26 March, Easter Monday 29 March.
        (date(2027, 3, 25), 1, date(2027, 3, 30)),
        (date(2027, 3, 25), 3, date(2027, 4, 1)),
        # August bank holiday 2027: Monday 30 August.
        (date(2027, 8, 27), 1, date(2027, 8, 31)),
        # An ordinary weekend.
        (date(2026, 11, 6), 1, date(2026, 11, 9)),
        (date(2026, 11, 9), 3, date(2026, 11, 12)),
        (date(2026, 11, 9), 0, date(2026, 11, 9)),
    ],
)
def test_add_working_days(app, start, days, expected):
    assert workdays.add_working_days(start, days) == expected


def test_between_counts_the_days_after_the_start(app):
    assert workdays.working_days_between(date(2026, 12, 24), date(2026, 12, 31)) == 3
    assert workdays.working_days_between(date(2027, 3, 25), date(2027, 3, 30)) == 1
    assert workdays.working_days_between(date(2026, 12, 31), date(2026, 12, 24)) == -3
    assert workdays.working_days_between(date(2026, 11, 6), date(2026, 11, 8)) == 0


@pytest.mark.parametrize(
    ("shared", "days", "due"),
    [
        # Thursday 24 December 2026 morning (GMT): Thursday 31 December, 17:00 GMT.
        (datetime(2026, 12, 24, 10, 0), 3, datetime(2026, 12, 31, 17, 0)),
        # Shared after 17:00 on Monday: the working days after Monday still count from Tuesday.
        (datetime(2026, 12, 7, 18, 30), 3, datetime(2026, 12, 10, 17, 0)),
        # Shared on a Saturday: Monday is the first working day after it.
        (datetime(2026, 12, 12, 11, 0), 3, datetime(2026, 12, 16, 17, 0)),
        (datetime(2026, 12, 12, 11, 0), 1, datetime(2026, 12, 14, 17, 0)),
        # Shared in GMT, due in BST (clocks go forward 28 March 2027): 17:00 BST is 16:00 UTC.
        (datetime(2027, 3, 25, 10, 0), 1, datetime(2027, 3, 30, 16, 0)),
        # Shared in BST, due in GMT (clocks go back 31 October 2027).
        (datetime(2027, 10, 29, 9, 0), 1, datetime(2027, 11, 1, 17, 0)),
        # 23:30 UTC on Thursday 1 July 2027 is already Friday 00:30 in London.
        (datetime(2027, 7, 1, 23, 30), 1, datetime(2027, 7, 5, 16, 0)),
    ],
)
def test_deadline(app, shared, days, due):
    assert workdays.deadline(shared, days) == due


def test_overdue_counts_working_days(app):
    due = datetime(2026, 12, 31, 17, 0)
    assert workdays.working_days_overdue(due, datetime(2026, 12, 31, 16, 59)) == 0
    assert workdays.working_days_overdue(due, datetime(2026, 12, 31, 17, 30)) == 0
    assert workdays.working_days_overdue(due, datetime(2027, 1, 3, 12, 0)) == 0  # holiday, weekend
    assert workdays.working_days_overdue(due, datetime(2027, 1, 4, 9, 0)) == 1
    assert workdays.working_days_overdue(due, datetime(2027, 1, 8, 9, 0)) == 5


def test_due_status(app):
    due = datetime(2026, 12, 31, 17, 0)
    assert workdays.due_status(None, datetime(2026, 12, 31, 9, 0)) is None
    assert workdays.due_status(due, datetime(2026, 12, 24, 10, 0)) is None
    assert workdays.due_status(due, datetime(2026, 12, 30, 10, 0)) == "due_soon"
    assert workdays.due_status(due, datetime(2026, 12, 31, 17, 1)) == "overdue"


@pytest.mark.parametrize(
    ("args", "output"),
    [
        (["add", "2026-12-24", "3"], "2026-12-31"),
        (["add", "2027-03-25", "1"], "2027-03-30"),
        (["between", "2026-12-24", "2026-12-31"], "3"),
        (["between", "2027-08-27", "2027-08-31"], "1"),
    ],
)
def test_cli(app, args, output):
    result = app.test_cli_runner().invoke(args=["tracker", "workdays", *args])
    assert result.exit_code == 0, result.output
    assert result.output == output + "\n"


def test_cli_refuses_bad_input(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tracker", "workdays", "add", "24/12/2026", "3"]).exit_code != 0
    assert runner.invoke(args=["tracker", "workdays", "add", "2026-12-24", "-1"]).exit_code != 0
