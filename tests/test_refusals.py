"""The access rules refuse in the domain's words (NotFound, Forbidden), with no request in sight,
and the app turns each refusal into the same status on a page and in the API."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in_as
from tracker import access, errors
from tracker.domain import Forbidden, NotFound, Refused


def test_a_case_outside_ones_agency_is_not_found_and_an_admin_is_forbidden(app, world):
    assert access.case_for_reading(world.case.id, world.worker_a) == world.case
    with pytest.raises(NotFound):
        access.case_for_reading(world.case.id, world.worker_c)
    with pytest.raises(NotFound):
        access.case_for_reading(10**9, world.worker_a)
    with pytest.raises(Forbidden):
        access.case_for_reading(world.case.id, world.admin)
    with pytest.raises(Forbidden):
        access.case_for_changing(world.case.id, world.auditor)  # reads, changes nothing
    with pytest.raises(Forbidden):
        access.visible_cases(world.admin)


def test_with_nobody_acting_nothing_is_readable(app, world):
    with pytest.raises(Forbidden):
        access.case_for_reading(world.case.id)
    with pytest.raises(Forbidden):
        access.challenge_for_reading(1)


def test_each_refusal_has_one_status():
    assert errors.refusal_status(NotFound()) == 404
    assert errors.refusal_status(Forbidden()) == 403
    assert issubclass(NotFound, Refused) and issubclass(Forbidden, Refused)


def test_a_refusal_on_a_page_is_the_error_page(app, client, world):
    # In the API it is a problem document: tests/api/test_calls.py.
    sign_in_as(client, world.worker_c)
    page = client.get(f"/cases/{world.case.id}")
    assert page.status_code == 404 and "text/html" in page.content_type
    assert "Page not found" in page.get_data(as_text=True)
