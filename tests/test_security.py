from tests.conftest import sign_in_as
from tests.helpers import page_text


def test_security_headers_on_every_page(client, world):
    sign_in_as(client, world.worker_a)
    for url in ["/sign-in", "/", "/cases/", f"/cases/{world.case.id}", "/nope"]:
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_inline_script_carries_the_nonce(client):
    response = client.get("/sign-in")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in html
    assert html.count("<script") == html.count(f'nonce="{nonce}"') + html.count(
        'type="module" src='
    )


def test_error_pages_are_styled(client, world):
    sign_in_as(client, world.worker_a)
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in page_text(response)
    assert "govuk-template" in response.get_data(as_text=True)
    sign_in_as(client, world.worker_a)
    response = client.get("/admin/")
    assert response.status_code == 403 and "You do not have permission" in page_text(response)


def test_unexpected_error_gets_styled_500(app, client, world, monkeypatch):
    from tracker.services import cases

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cases, "linked_cases", broken)
    sign_in_as(client, world.worker_a)
    response = client.get(f"/cases/{world.case.id}")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page_text(response)
    assert "boom" not in response.get_data(as_text=True)
