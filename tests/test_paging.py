"""Paging links keep every filter, whatever its name: a stray reserved query name is no 500."""

from tests.conftest import sign_in_as


def test_a_stray_reserved_query_parameter_on_a_list_page_is_not_a_500(app, client, world):
    app.config["PAGE_SIZE"] = 1
    sign_in_as(client, world.admin)
    assert b"govuk-pagination" in client.get("/admin/people").data
    for query in ("_anchor=x", "_method=GET"):
        response = client.get(f"/admin/people?{query}")
        assert response.status_code < 500, (query, response.status_code)
