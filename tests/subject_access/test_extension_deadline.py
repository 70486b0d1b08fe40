"""A subject access extension must be made within the
first month (UK GDPR Article 12(3): the data subject is told of any extension "within one month
of receipt of the request"). Recorded after the due date, it silently turns an overdue request
into one that is not, hiding a breach of the deadline."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tracker.extensions import db
from tracker.services import subject_access


def test_an_overdue_request_cannot_be_extended_after_its_month_has_passed(app, world, frozen):
    frozen(datetime(2026, 9, 1, 10, 0))
    request = subject_access.record_request(
        world.auditor,
        requester_name="Alex One",
        requester_relationship="Parent",
        case=world.case,
        person_named=None,
        received_on=date(2026, 9, 1),
    )
    assert request.due_on == date(2026, 10, 1)
    frozen(datetime(2026, 11, 16, 10, 0))  # six weeks past the due date, nobody told
    assert subject_access.is_overdue(request)
    with pytest.raises(subject_access.SubjectAccessError):
        subject_access.extend(world.auditor, request, 2, "Many records across agencies")
    db.session.refresh(request)
    assert request.extended_to is None and subject_access.is_overdue(request)
