"""Secure defaults on every response: CSP with a per-request nonce, no framing, no caching."""

from __future__ import annotations

import secrets
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Flask, Request, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadHost
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter

from tracker import templating
from tracker.api import API_PREFIX


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


class TrackerApp(Flask):
    """Flask, except that a Host header Werkzeug cannot encode (a label over 63 characters)
    is a 400 through the app's own error page and headers. Flask alone leaves such a request
    with no URL adapter, so the error page itself fails to build a link: a bare 500."""

    jinja_environment = templating.Environment  # before any extension touches app.jinja_env

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        try:
            return super().create_url_adapter(request)
        except BadHost as error:
            if request is None:
                raise
            refusal = error  # `error` is unbound once the except block ends
            # Links are built against a name we trust; matching any route refuses the request.
            adapter = self.url_map.bind(
                self.config["SERVER_NAME"] or "localhost",
                script_name=request.root_path or "/",
                url_scheme=request.scheme,
            )

            def refuse(*args, **kwargs):
                raise refusal

            adapter.match = refuse
            return adapter


NEXT_MAX = 2000


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: the one check for every redirect to
    an address the request named (?next=...), so a link cannot send a signed-in person away.

    Browsers strip tabs and newlines from a Location, treat a backslash as a slash and read
    `//host` as another site; so anything with a control character, a backslash, a scheme, an
    authority, or that decodes (or normalises, for look-alike slashes) to `//` is refused.
    """
    if not target or len(target) > NEXT_MAX or not target.isascii():
        return None
    decoded = unquote(target)
    for text in (target, decoded, unicodedata.normalize("NFKC", decoded)):
        if "\\" in text or any(ord(c) < 32 or ord(c) == 127 for c in text):
            return None
        if not text.startswith("/") or text.startswith("//"):
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
    return target


# The deployment's health check: no session read, so no sign-in, idle-timeout or cookie work.
HEALTH_PATH = "/healthz"


class BrowserSessionInterface(SecureCookieSessionInterface):
    """Only browser pages have a session. The API authenticates every request by bearer token, so
    its requests neither read nor set the session cookie, and a signed-in browser cannot ride one
    into the API (which is why the API may be exempt from CSRF). Nor does the health check.

    Nor does a request another site started: with `Sec-Fetch-Site: cross-site` the browser
    may still send the cookie (an older browser ignoring SameSite=Strict), so the request gets a
    fresh, empty session, as SameSite=Strict means, and nothing is saved back (a link from
    elsewhere neither acts as the reader nor signs them out)."""

    def open_session(self, app: Flask, request: Request):
        if request.path.startswith(API_PREFIX) or request.path == HEALTH_PATH:
            return self.make_null_session(app)
        if _cross_site(request):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if _cross_site(request):
            return
        super().save_session(app, session, response)


def _cross_site(req: Request) -> bool:
    return req.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site"


def init_app(app: Flask) -> None:
    app.session_interface = BrowserSessionInterface()
    proxies = int(app.config.get("PROXY_COUNT", 0) or 0)
    if proxies:
        # Behind gunicorn's reverse proxy, the client's address comes from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_security_headers(response):
        nonce = csp_nonce()
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config["PRODUCTION"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith(("/assets/", "/static/")):
            # Case pages must not linger in shared browsers' caches or history.
            response.headers["Cache-Control"] = "no-store"
        return response
