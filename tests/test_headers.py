"""Headers and cookies: HSTS only in production, case pages never cached, cookies locked down."""

import config
from tests.auth.test_sign_in import sign_in
from tests.conftest import make_app, sign_in_as


def test_hsts_only_in_production(database_url, tmp_path, world):
    development = make_app(database_url, tmp_path / "dev").test_client()
    assert "Strict-Transport-Security" not in development.get("/sign-in").headers
    production = make_app(database_url, tmp_path / "prod", PRODUCTION=True).test_client()
    for url in ["/sign-in", "/no-such-page"]:
        hsts = production.get(url).headers["Strict-Transport-Security"]
        assert hsts.startswith("max-age=31536000") and "includeSubDomains" in hsts


def test_case_pages_are_never_cached_but_assets_may_be(client, world):
    sign_in_as(client, world.worker_a)
    for url in ["/cases/", f"/cases/{world.case.id}", "/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    asset = client.get("/static/tracker.css")
    assert asset.headers.get("Cache-Control", "") != "no-store"
    asset.close()


def test_production_cookies_are_secure_httponly_and_strict(monkeypatch, tmp_path, production_env):
    settings = config.from_environment(INSTANCE_DIR=str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"]
    assert settings["SESSION_COOKIE_SAMESITE"] == "Strict"
    monkeypatch.setenv("TRACKER_ENV", "development")
    assert not config.from_environment(INSTANCE_DIR=str(tmp_path))["SESSION_COOKIE_SECURE"]


def test_session_cookie_flags_on_sign_in(database_url, tmp_path, world):
    app = make_app(database_url, tmp_path, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = sign_in(client, world.worker_a.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
