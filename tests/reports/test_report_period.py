"""A report period whose 'from' date is after the
default 'to' date (today) is a mistake to show, not an empty report "From 1 January 2030 to
<today>" that counts nothing and says so as if it were a real answer."""

from __future__ import annotations

from tests.conftest import sign_in_as
from tests.helpers import page_text


def test_a_from_date_in_the_future_with_no_to_date_is_an_error(client, world):
    sign_in_as(client, world.auditor)
    response = client.get("/reports/", query_string={"from_date": ["1", "1", "2030"]})
    text = page_text(response)
    assert "From 1 January 2030 to" not in text  # a period that ends before it starts
    assert response.status_code == 400
