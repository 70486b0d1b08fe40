"""An independent reviewer's checks of error states outside the browser (each failed on d249a30)."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in_as


@pytest.mark.parametrize("agency", ["abc", "99999999999999999999999"])
def test_a_chronology_filter_it_cannot_read_is_a_4xx_with_the_error_summary(client, world, agency):
    """Invariant 6: bad input gets the GOV.UK error summary and a 4xx. A chronology filter
    with an agency that is not a number answers 200 with WTForms' own 'Invalid Choice: could
    not coerce.' under the box, no summary, and no 'Error:' in the title."""
    sign_in_as(client, world.worker_a)
    response = client.get(f"/cases/{world.case.id}/chronology?agency={agency}")
    body = response.get_data(as_text=True)
    assert "could not coerce" not in body
    assert response.status_code == 400, response.status_code
    assert "govuk-error-summary" in body
    assert "<title>Error: " in body
