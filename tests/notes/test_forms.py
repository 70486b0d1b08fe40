"""A case note's form refuses bad input with the error summary and saves nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error
from tests.shares.test_forms import count
from tracker.models import CaseNote


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "", "occurred_on": ["1", "12", "2026"], "text": "x"}, "Select the kind of note"),
        ({"kind": "rumour", "occurred_on": ["1", "12", "2026"], "text": "x"}, "Select the kind"),
        ({"kind": "lived_experience", "occurred_on": ["", "", ""], "text": "x"}, "Enter the date"),
        ({"kind": "lived_experience", "occurred_on": ["1", "1", "2027"], "text": "x"}, "past"),
        ({"kind": "lived_experience", "occurred_on": ["1", "12", "2026"], "text": ""}, "Enter"),
    ],
)
def test_bad_note_input(client, world, frozen, data, message):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    assert_form_error(client.post(f"/cases/{world.case.id}/notes/new", data=data), message)
    assert count(CaseNote) == 0
