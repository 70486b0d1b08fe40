"""What an alert stores fits its columns: a long event key (a case match naming many cases) is
kept exactly-once by a digest, never refused by PostgreSQL or stored past the column by SQLite."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.challenges.support import name_leads
from tracker.extensions import db
from tracker.models import Alert, AlertKind, Case
from tracker.services import alerts, cases


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Alert).where(*where))


def _open_another(world) -> None:
    """Another child of the same name and date of birth, confirmed not the same one."""
    cases.create(
        world.worker_a,
        child_name="Child One",
        date_of_birth=date(2018, 5, 17),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[],
        confirm_not_a_match=True,
    )


def _try_to_open_it_again(world) -> None:
    with pytest.raises(cases.CaseMatch) as found:
        cases.create(
            world.worker_c,
            child_name="Child One",
            date_of_birth=date(2018, 5, 17),
            lead_agency_id=world.agency_c.id,
            lead_professional_id=None,
            other_agency_ids=[],
        )
    assert found.value.hidden and found.value.readable == []


def test_a_hidden_match_with_many_cases_alerts_once_within_the_column(world, password_hash, frozen):
    named = name_leads(world, password_hash)
    frozen(datetime(2026, 12, 17, 10, 0))
    for _ in range(80):  # the same name and date of birth, confirmed different children
        _open_another(world)
    kind = Alert.kind == AlertKind.CASE_MATCH.value

    _try_to_open_it_again(world)
    events = db.session.scalars(select(Alert.event).where(kind)).all()
    assert len(events) == 1 and len(events[0]) <= 200, [len(e) for e in events]
    assert db.session.scalar(select(Alert.recipient_id).where(kind)) == named.chair.id

    _try_to_open_it_again(world)  # the same cases: nobody is alerted twice
    assert _count(kind) == 1

    _open_another(world)
    _try_to_open_it_again(world)  # one more matching case: a new event
    assert _count(kind) == 2
    assert db.session.scalar(select(func.count()).select_from(Case)) == 82


def test_an_event_that_fits_is_stored_as_it_is_and_a_long_one_by_a_stable_digest():
    assert alerts.event_key("concern:12:overdue") == "concern:12:overdue"
    long = "case_match:7:" + ",".join(str(n) for n in range(1000, 1100))
    other = long + ",1100"
    key = alerts.event_key(long)
    assert len(key) == alerts.EVENT_MAX == 200
    assert key == alerts.event_key(long) != alerts.event_key(other)
    assert key.startswith("case_match:7:1000,1001,")
