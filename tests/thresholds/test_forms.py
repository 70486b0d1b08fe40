"""The threshold view's form refuses bad input with the error summary and saves nothing."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error
from tests.shares.test_forms import count
from tracker.models import ThresholdView


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"level": "", "reason": "x"}, "Select a level of need"),
        ({"level": "Catastrophic", "reason": "x"}, "Select a level of need from the list"),
        ({"level": "Early help", "reason": ""}, "Enter the reason"),
    ],
)
def test_bad_threshold_input(client, world, data, message):
    sign_in_as(client, world.worker_a)
    assert_form_error(client.post(f"/cases/{world.case.id}/threshold", data=data), message)
    assert count(ThresholdView) == 0
