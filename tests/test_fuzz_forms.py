"""Every form, driven by hypothesis with random and hostile input: never a 500, never an echo of
stored input that is not escaped.

The forms are found, not listed: for each role the test crawls the app's pages (on the demo
partnership, so every feature's records exist), collects each <form> with its fields, and fuzzes
it. Every POST route in the URL map must be reached this way, or be named in NOT_CRAWLED with the
reason and the test that fuzzes it instead: a new form that nothing reaches fails this test.
TRACKER_FUZZ_EXAMPLES sets the examples per form (a quick 5 by default; try 200 before a release).

GET forms (searches and filters) are fuzzed too, through their query strings. The hostile values
include the classes that once gave a 500 (issue 13): whole numbers past 2**31 and 2**63, far
years, lone surrogates (sent percent-encoded, as a browser could), and control characters and
look-alike slashes in a ?next= redirect.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urljoin, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from tests.conftest import sign_in_as
from tests.helpers import approve_pending, emailed_link_token, seconds_ago
from tracker.extensions import db
from tracker.fixtures import demo
from tracker.models import DisposalReview, Person, Role
from tracker.services import people

EXAMPLES = int(os.environ.get("TRACKER_FUZZ_EXAMPLES", "5"))
# The home page links to every list before any record, so the crawl needs this many to reach
# the forms on a challenge page.
PAGES_PER_ROLE = 90
# Markers whose raw (unescaped) appearance in any page means stored input reached the HTML.
SCRIPT = '<script>fuzzMarker("x")</script>'
IMAGE = "<img src=x onerror=fuzzMarker(1)>"
RAW_MARKERS = ("<script>fuzzMarker", "<img src=x onerror")
# POST routes reached some other way than by crawling, with where they are fuzzed.
NOT_CRAWLED = {
    "auth.sign_in": "signed-out form: test_sign_in_and_set_password_forms",
    "auth.set_password": "needs an invitation token: test_sign_in_and_set_password_forms",
    "auth.second_factor": "needs a half-done sign-in: test_second_factor_forms",
    "auth.set_up_two_factor": "needs a half-done sign-in: test_second_factor_forms",
    "auth.sign_out": "signing out would end the crawl; covered in tests/auth",
    "auth.keep_alive": "the idle warning's, on every page and with no field: "
    "tests/browser/test_labels_and_errors.py",
    "identity.backchannel_logout": "server to server, no form: tests/auth/oidc (logout tokens)",
}
# What a fuzzed form may answer. A GET filter: its page, or a 400 with the error summary. A POST:
# a redirect when taken, else a 4xx: 400 with the error summary for bad input, 401 for a wrong
# password, 403/404/409 once an earlier example has moved the record on (a challenge withdrawn, a
# link used up, an approval decided), 429 once many examples reach the sign-in throttle. Never a
# 200 (a refused form is a 400), never a 5xx.
EXPECTED = {"get": {200, 400}, "post": {302, 303, 400, 401, 403, 404, 409, 429}}
# Forms the crawl does not reach, each fuzzed by a test below instead.
FUZZED_DIRECTLY = {
    "challenges.details": "a step reached by posting the one before: test_multi_step_forms",
    "challenges.check": "a step reached by posting the one before: test_multi_step_forms",
    "shares.amend": "only the recording agency sees it: test_multi_step_forms",
    "notes.amend_note": "only the recording agency sees it: test_multi_step_forms",
    "api_tokens.revoke": "needs a token: test_multi_step_forms",
    "admin.edit_identity_provider": "the demo has none (local accounts only): tests/auth/oidc",
    "admin.decide": "needs a pending approval: test_approval_form",
    "approvals.decide": "needs a pending approval: test_approval_form",
    "identity.confirm_link": "needs a provider's first sign-in: test_link_confirmation_form",
    "break_glass.review": "needs a break-glass grant: test_break_glass_review_form",
    "retention.decide": "needs a case past retention: test_retention_forms",
    "retention.lift_hold": "needs a legal hold: test_retention_forms",
    "protected_sources.mark_share": "only the recording agency sees it: test_governance_forms",
    "protected_sources.mark_response": "needs an answered concern: test_governance_forms",
    "subject_access.assemble": "needs a request: test_governance_forms",
    "subject_access.complete": "needs a request: test_governance_forms",
    "subject_access.extend": "needs a request: test_governance_forms",
    "subject_access.review": "needs a gathered request: test_governance_forms",
}
# JSON endpoints for other systems are not HTML forms: their input is tested with the API.
NOT_FORMS = ("api.",)

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        SCRIPT,
        IMAGE,
        f"Name {SCRIPT} end",
        "'; DROP TABLE person; --",
        "1 OR 1=1",
        '" onmouseover="fuzzMarker(2)',
        "x" * 5000,
        "\x00\x01\x1b[31m\x7f",
        "line\r\nbreak\ttab",
        "\u202eevil\u200b\ufeff",
        "Zoë O'Brien-Łukasz 名前 🙂",
        "%00%27%3Cscript%3E",
        "../../etc/passwd",
        "0",
        "-1",
        "99999999999999999999",
        "31",
        "02",
        "1899",
        "9999",
        "2147483648",
        "9223372036854775808",
        "18446744073709551616",
        "9" * 400,
        "31/12/9999",
        "\ud800",
        "a\udfffb",
        "/\t/evil.example",
        "//evil.example",
        "2026-02-30",
        "NaN",
        "None",
        "{{7*7}}",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=300))


@dataclass
class Field:
    kind: str  # text, textarea, email, numeric, select, radio, checkbox, hidden, password
    ids: list[str] = field(default_factory=list)  # one per box (a date has three)
    options: list[str] = field(default_factory=list)  # known good values
    default: str | None = None  # what a browser would send untouched (selected, checked)


@dataclass
class Form:
    page: str
    action: str
    fields: dict[str, Field] = field(default_factory=dict)
    method: str = "post"

    @property
    def has_boxes(self) -> bool:
        """Anything to fill in or choose, that an error summary could name. A form of buttons
        only (approve, send a new link) is refused with the error page's 400 instead."""
        return any(spec.kind != "hidden" for spec in self.fields.values())


class Page(HTMLParser):
    """The links and forms on one page."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.url, a["href"]))
        elif tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = Form(
                self.url, urljoin(self.url, a.get("action") or self.url), method=method
            )
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = {"textarea": "textarea", "select": "select"}.get(tag) or a.get("type") or "text"
            if kind == "text" and a.get("inputmode") == "numeric":
                kind = "numeric"
            spec = self._form.fields.setdefault(a["name"], Field(kind))
            if kind in ("radio", "checkbox", "hidden") and a.get("value") is not None:
                spec.options.append(a["value"])
                if "checked" in a or kind == "hidden":
                    spec.default = a["value"]
            elif kind not in ("radio", "checkbox"):
                spec.ids.append(a.get("id") or "")
            if tag == "select":
                self._select = spec
        elif tag == "option" and self._select is not None and a.get("value") is not None:
            self._select.options.append(a["value"])
            if "selected" in a or self._select.default is None:
                self._select.default = a["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(app, client, starts: tuple[str, ...] = ("/",)) -> tuple[list[Form], list[str]]:
    """Follow links from the start pages; four pages of each route are enough to find its forms."""
    adapter = app.url_map.bind("localhost")
    per_route: dict[str, int] = {}
    seen: set[str] = set()
    queue = list(starts)
    forms: list[Form] = []
    pages: list[str] = []
    while queue and len(pages) < PAGES_PER_ROLE:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or url in seen:
            continue
        seen.add(url)
        if parts.path.startswith("/static/") or parts.path.endswith((".zip", ".csv")):
            continue
        try:
            route = adapter.match(parts.path, method="GET")[0]
        except HTTPException:
            route = parts.path
        per_route[route] = per_route.get(route, 0) + 1
        if per_route[route] > 4:
            continue
        response = client.get(path_of(url))
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code in (301, 302, 303) and response.location:
            queue.append(urljoin("http://localhost" + parts.path, response.location))
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        pages.append(path_of(url))
        parser = Page("http://localhost" + path_of(url))
        parser.feed(response.get_data(as_text=True))
        forms.extend(parser.forms)
        # Page numbers and search results add nothing new to crawl.
        queue.extend(link.split("#")[0] for link in parser.links if "page=" not in link)
    return forms, pages


DATE_PARTS = {
    "day": st.integers(1, 28),
    "month": st.integers(1, 12),
    # Mostly plausible years; sometimes one past the calendar's arithmetic (9999 + 1 day).
    "year": st.integers(2015, 2025) | st.sampled_from([1, 1899, 2201, 9999]),
}


def plausible(name: str, spec: Field, box: str):
    """A value the form should accept, carrying hostile text wherever free text is allowed."""
    if spec.kind in ("select", "radio", "checkbox", "hidden") and spec.options:
        # Mostly what the page offered first (a browser's untouched choice), sometimes another.
        default = spec.default if spec.default is not None else spec.options[0]
        return st.sampled_from([default, default, default, *spec.options])
    if spec.kind == "numeric":
        part = next((k for k in DATE_PARTS if box.endswith(k)), "day")
        return DATE_PARTS[part].map(str)
    if spec.kind == "email":
        return st.uuids().map(lambda u: f"fuzz.{u.hex[:12]}@example.org")
    if spec.kind == "password":
        return st.just("a long enough fuzz password")
    return st.sampled_from(
        [SCRIPT, IMAGE, f"Zoë O'Brien {SCRIPT}", f"{IMAGE} '; DROP TABLE case; --"]
    )


@st.composite
def submissions(draw, form: Form) -> MultiDict:
    """Mostly well-formed posts (so hostile text gets stored), with hostile, missing, repeated
    and unexpected fields mixed in."""
    data = MultiDict()
    for name, spec in form.fields.items():
        if name == "csrf_token":
            continue
        boxes = spec.ids or [""]
        # Hypothesis tries the first choices first: a well-formed post, then the odd ones.
        how = draw(st.sampled_from(["plausible"] * 8 + ["hostile", "missing", "repeated"]))
        if how == "missing":
            continue
        for box in boxes:
            if how == "hostile":
                data.add(name, draw(TEXT))
            else:
                data.add(name, draw(plausible(name, spec, box)))
        if how == "repeated":
            data.add(name, draw(TEXT))
    if draw(st.booleans()):
        data.add(draw(st.sampled_from(["unexpected", "id", "agency_id", "role"])), draw(TEXT))
    return data


def assert_no_raw_echo(response, where: str) -> None:
    html = response.get_data(as_text=True)
    for marker in RAW_MARKERS:
        assert marker not in html, f"unescaped input on {where}"


def encoded(data: MultiDict) -> str:
    """The form as a browser would send it; a lone surrogate goes as its (invalid) UTF-8 bytes."""
    return urlencode(list(data.items(multi=True)), errors="surrogatepass")


def fuzz(client, form: Form) -> None:

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(data=submissions(form))
    def run(data):
        if form.method == "get":
            base = path_of(form.action).split("?")[0]
            response = client.get(f"{base}?{encoded(data)}")
        else:
            response = client.post(
                path_of(form.action),
                data=encoded(data),
                content_type="application/x-www-form-urlencoded",
            )
        assert response.status_code in EXPECTED[form.method], (
            form.action,
            dict(data.lists()),
            response.status_code,
        )
        summary = "govuk-error-summary" in response.get_data(as_text=True)
        if form.method == "get":  # a filter's page, or the same page naming what was wrong
            assert summary == (response.status_code == 400), (form.action, dict(data.lists()))
        elif response.status_code == 400 and form.has_boxes:
            assert summary, (form.action, dict(data.lists()))
        assert_no_raw_echo(response, form.action)
        # What was stored shows where the post led (a refused post re-renders the form itself).
        if response.location:
            page = client.get(path_of(urljoin("http://localhost/", response.location)))
            assert page.status_code < 500, response.location
            assert_no_raw_echo(page, response.location)

    run()


TYPED = ("text", "textarea", "email", "password", "numeric", "search")


def refuses_nul_in_each_box(client, form: Form) -> None:
    """A NUL in any typed box, the rest as a browser leaves them: refused with the error summary,
    never a 500. PostgreSQL's text holds no NUL, so a value that reaches a query unchecked fails
    there, and only there (random fuzzing found one in an email's uniqueness check)."""
    for name, spec in form.fields.items():
        if spec.kind not in TYPED:
            continue
        data = MultiDict()
        for other, other_spec in form.fields.items():
            if other == name:
                data.add(other, "a\x00b")
            elif other_spec.default is not None:
                data.add(other, other_spec.default)
        if form.method == "get":
            base = path_of(form.action).split("?")[0]
            response = client.get(f"{base}?{encoded(data)}")
        else:
            response = client.post(path_of(form.action), data=data)
        # 403/404/409: an earlier form's fuzzing moved the record on (as in EXPECTED); never taken.
        assert response.status_code in {400, 403, 404, 409}, (
            form.action,
            name,
            response.status_code,
        )
        if response.status_code == 400:
            assert "must not contain control characters" in response.get_data(as_text=True), (
                form.action,
                name,
            )


def endpoint_of(app, url: str, method: str = "post") -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.match(urlsplit(url).path, method=method.upper())[0]


def test_every_form_survives_hostile_input(app, client):
    demo.load()
    logins = {p.role: p for p in reversed(demo.demo_logins())}
    reached: set[str] = set()
    fuzzed: set[tuple] = set()
    pages_of: dict[Role, list[str]] = {}
    get_forms: set[str] = set()
    for role in Role:
        sign_in_as(client, logins[role.value])
        # The agency's full list of what it owes first: the home page lists only what is overdue
        # or due soon, and a concern not yet acknowledged carries the Acknowledge form.
        forms, pages = crawl(app, client, ("/concerns/ours", "/"))
        assert len(pages) > 3, (role, pages)
        pages_of[role] = pages
        for form in forms:
            endpoint = endpoint_of(app, form.action, form.method)
            # One form per route and set of fields is enough (a lead's forms are a worker's).
            key = (endpoint, form.method, tuple(sorted(form.fields)))
            if endpoint in NOT_CRAWLED or key in fuzzed:
                continue
            fuzzed.add(key)
            reached.add(endpoint)
            if form.method == "get":
                get_forms.add(endpoint)
            sign_in_as(client, logins[role.value])  # a role change by the fuzz signs out
            refuses_nul_in_each_box(client, form)  # first, while the form's record is as crawled
            fuzz(client, form)
    # Everything stored by the fuzzing, wherever it shows (lists, summaries, home pages): escaped.
    for role, pages in pages_of.items():
        sign_in_as(client, logins[role.value])
        for page in pages:
            response = client.get(page)
            assert response.status_code < 500, page
            assert_no_raw_echo(response, page)
    posts = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "POST" in (r.methods or ()) and not r.endpoint.startswith(NOT_FORMS)
    }
    # The searches and filters, fuzzed through their query strings.
    assert {"cases.index", "audit.index", "reports.index", "concerns.unanswered"} <= get_forms
    missing = posts - reached - set(NOT_CRAWLED) - set(FUZZED_DIRECTLY)
    assert not missing, (
        f"POST routes no crawl reached: {sorted(missing)}. Give the demo partnership the "
        "records that show these forms, or fuzz them directly and add them to NOT_CRAWLED."
    )


def test_sign_in_and_set_password_forms(app, client, world):
    fuzz(
        client,
        Form(
            "/sign-in",
            "/sign-in",
            {"email": Field("hidden", options=[world.worker_a.email]), "password": Field("text")},
        ),
    )
    token = emailed_link_token(
        approve_pending(
            people.invite(
                world.admin,
                name="Fuzz",
                email="fuzz@example.org",
                agency_id=world.agency_a.id,
                role="lead",
            )
        )
    )
    fuzz(
        client,
        Form(
            f"/set-password/{token}",
            f"/set-password/{token}",
            {"password": Field("password"), "confirm": Field("password")},
        ),
    )


def test_second_factor_forms(app, client, world):
    lead = db.session.get(Person, world.lead_a.id)
    client.post("/sign-in", data={"email": lead.email, "password": "correct horse battery staple"})
    code = {"code": Field("text")}
    fuzz(client, Form("/sign-in/set-up-two-factor", "/sign-in/set-up-two-factor", code))
    fuzz(client, Form("/sign-in/security-code", "/sign-in/security-code", code))


def fuzz_page(client, url: str) -> int:
    """Fuzz every form on one page; return how many there were."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    parser = Page("http://localhost" + url)
    parser.feed(response.get_data(as_text=True))
    # The layout's own forms (signing out, the idle warning's "Stay signed in") are not the page's.
    forms = [f for f in parser.forms if not f.action.endswith(("/sign-out", "/session/keep-alive"))]
    for form in forms:
        fuzz(client, form)
    return len(forms)


def test_multi_step_forms(app, client, world, frozen):
    from datetime import datetime

    from tests.shares.test_cycle import share_data
    from tracker.models import CaseNote, Share

    frozen(datetime(2026, 12, 24, 10, 30))  # the day share_data's share is made
    sign_in_as(client, world.worker_a)
    case = world.case.id
    assert client.post(f"/cases/{case}/shares/new", data=share_data(world)).status_code == 302
    share = db.session.scalar(db.select(Share.id))
    assert fuzz_page(client, f"/shares/{share}/amend")
    note = {"kind": "lived_experience", "occurred_on": ["23", "12", "2026"], "text": "Said hello"}
    assert client.post(f"/cases/{case}/notes/new", data=note).status_code == 302
    note_id = db.session.scalar(db.select(CaseNote.id))
    assert fuzz_page(client, f"/cases/{case}/notes/{note_id}/amend")
    start = f"/cases/{case}/challenges/new"
    client.get(start)
    client.post(start, data={"immediate_risk": "no"})
    assert fuzz_page(client, f"{start}/details")
    details = {
        "about_agency_id": str(world.agency_b.id),
        "kind": "plan",
        "what_happened": SCRIPT,
        "outcome_wanted": IMAGE,
        "urgent": "no",
    }
    assert client.post(f"{start}/details", data=details).status_code == 302
    assert fuzz_page(client, f"{start}/check")
    client.post("/account/api-tokens", data={"name": "Fuzz"})
    assert fuzz_page(client, "/account/api-tokens")


def test_governance_forms(app, client, world, frozen):
    """Protecting a source named in a share or a response; a subject access request's forms."""
    from datetime import date, datetime

    from tests.shares.test_cycle import share_data
    from tracker.models import Concern, Share
    from tracker.services import sharing, subject_access

    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    assert (
        client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world)).status_code == 302
    )
    share = db.session.scalar(db.select(Share))
    assert fuzz_page(client, f"/shares/{share.id}/protected-sources/new")
    recipient = db.session.scalar(db.select(Concern))
    sharing.respond(world.worker_b, recipient, action_taken="Checked with DC Morgan")
    sign_in_as(client, world.worker_b)
    assert fuzz_page(client, f"/shares/{share.id}/concerns/{recipient.id}/protected-sources/new")
    request = subject_access.record_request(
        world.auditor,
        requester_name="Parent",
        requester_relationship="Parent",
        case=world.case,
        person_named=None,
        received_on=date(2026, 12, 1),
    )
    subject_access.assemble(world.auditor, request)
    sign_in_as(client, world.auditor)
    assert fuzz_page(client, f"/subject-access/{request.id}") == 2
    assert fuzz_page(client, f"/subject-access/{request.id}/extend")
    assert fuzz_page(client, f"/subject-access/{request.id}/items/{request.items[0].id}")


def test_approval_form(app, client, world, password_hash):
    from tests.conftest import add_person

    second = add_person("Second Admin", world.partnership, Role.ADMIN, password_hash)
    people.update(world.admin, world.worker_c, role="auditor", active=True, away=False)
    sign_in_as(client, second)
    assert fuzz_page(client, "/admin/approvals")
    # A lead's own approvals: a new worker of their agency.
    people.invite(
        world.admin, name="New", email="new@example.org", agency_id=world.agency_a.id, role="worker"
    )
    client.post("/sign-out")
    sign_in_as(client, world.lead_a)
    assert fuzz_page(client, "/approvals/")


def test_break_glass_review_form(app, client, world):
    from tracker.services import break_glass

    grant, _ = break_glass.request_access(world.worker_c, world.case, "Told of a call-out")
    sign_in_as(client, world.auditor)
    assert fuzz_page(client, f"/emergency-access/{grant.id}/review")


def test_retention_forms(app, client, world, frozen):
    """The disposal review of a case past retention, and lifting a legal hold."""
    from datetime import datetime

    from tracker.services import cases, retention

    cases.set_status(world.worker_a, world.case, "closed", "Work complete")
    frozen(datetime(2062, 1, 5, 9, 0))
    retention.review()
    item = db.session.scalar(db.select(DisposalReview))
    retention.set_hold(world.auditor, world.case.id, "Needed for a case review")
    sign_in_as(client, world.auditor)
    assert fuzz_page(client, f"/retention/cases/{world.case.id}/hold/lift")
    assert fuzz_page(client, f"/retention/items/{item.id}")


def test_link_confirmation_form(app, client, world, password_hash):
    """The password step of a first sign-in through a provider, to an account with a password."""
    from tests.conftest import add_person
    from tracker.services import identity

    provider = identity.create_provider(
        world.admin,
        identity.ProviderSettings(
            agency_id=world.agency_a.id,
            name="Agency A account",
            issuer="http://127.0.0.1:9",
            client_id="tracker",
            client_secret="not-a-real-secret",
            email_domains="example.org",
            mfa_satisfies=False,
            mfa_acr_values="",
        ),
    )
    second = add_person("Second Admin", world.partnership, Role.ADMIN, password_hash)
    people.decide(second, identity.pending_approval(provider).id, approve=True)
    with client.session_transaction() as session:
        session["identity_link"] = {
            "provider_id": provider.id,
            "person_id": world.worker_a.id,
            "issuer": "http://127.0.0.1:9",
            "subject": "worker-a",
            "at": seconds_ago(0),
        }
    link = "/sign-in/link-your-account"
    fuzz(client, Form(link, link, {"password": Field("password")}))


# Control characters, backslashes, schemes and look-alike slashes, mixed with path pieces.
NEXT_PIECES = st.sampled_from(
    [
        "/",
        "//",
        "\\",
        "/\\",
        "\t",
        "\r",
        "\n",
        "\x00",
        "%2f",
        "%5c",
        "%09",
        "%0d%0a",
        "https:",
        "javascript:",
        "\uff0f",
        "\u2215",
        "evil.example",
        "cases",
        "?",
        "#",
        "@",
        ":",
        " ",
        ".",
    ]
)


@settings(
    max_examples=EXAMPLES * 20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(target=st.lists(NEXT_PIECES | st.text(max_size=3), max_size=8).map("".join))
def test_sign_in_never_redirects_off_the_site(app, client, world, target):
    client.post("/sign-out")
    response = client.post(
        f"/sign-in?next={quote(target, safe='', errors='surrogatepass')}",
        data={"email": world.worker_a.email, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc and location.startswith("/"), location
    assert not location.startswith("//") and "\\" not in location, location
    assert all(ord(c) >= 32 for c in location), location
