"""Browser tests: the app on a real server in a thread, Debian's Chromium driven by Playwright,
and axe-core checking every page visited against the WCAG 2.2 AA rules.

Playwright's own browser download cannot work here, so Debian's Chromium is used
(`apt-get install -y chromium`); without it these tests skip and say why.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app
from tests.helpers import worker_ports

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WCAG 2.2 AA and axe's best practices (landmarks, for example: content outside them is missed
# by people who move by landmark).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# axe runs as a script of the page, with the page's own nonce, so the content security policy
# governs it like any of the app's scripts (nothing bypasses it); a page whose policy refuses the
# nonce refuses axe too, and the check says so.
LOAD_AXE = """source => {
  if (window.axe) return true;
  const script = document.createElement('script');
  script.nonce = document.querySelector('script[nonce]')?.nonce || '';
  script.textContent = source;
  document.head.appendChild(script);
  return Boolean(window.axe);
}"""


def _known_govuk_frontend_issue(rule: str, node: dict) -> bool:
    """GOV.UK Frontend's conditional reveal sets aria-expanded on a radio on purpose: screen
    readers announce it and user research found it helps, though ARIA 1.2 does not list it for
    radios (alphagov/govuk-frontend#979, its documented known issue #1280). Only that one
    attribute on that one component is let through; anything else on the element still fails."""
    return (
        rule == "aria-allowed-attr"
        and 'class="govuk-radios__input"' in node["html"]
        and 'aria-controls="conditional-' in node["html"]
        and all(
            "aria-expanded" in check["message"]
            for check in node.get("any", []) + node.get("all", [])
        )
    )


def _bind_server(live):
    """A server bound in this project's range for test servers, else anywhere the system picks.

    The bind itself is the probe (no probe-then-bind gap another xdist worker could slip into),
    and each worker starts at a different place in the range.
    """
    for port in worker_ports(range(8200, 8300)):
        try:
            return make_server("127.0.0.1", port, live, threaded=True)
        except (OSError, SystemExit):  # Werkzeug exits (SystemExit) when the port is taken
            continue
    return make_server("127.0.0.1", 0, live, threaded=True)


@pytest.fixture
def live_server(database_url, tmp_path, app):
    """The app with CSRF on, as in production, served over HTTP on 127.0.0.1."""
    live = make_app(database_url, tmp_path / "live", WTF_CSRF_ENABLED=True, TESTING=False)
    server = _bind_server(live)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with live.app_context():
        from tracker.extensions import db

        db.engine.dispose()


# One Playwright and one Chromium for the whole run: other folders' tests (the identity
# provider's journey) use these fixtures too, and a second sync Playwright in one process fails.
_CHROMIUM_RUN: dict = {}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not at /usr/bin/chromium (apt-get install -y chromium)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm install)")
    if "browser" not in _CHROMIUM_RUN:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _CHROMIUM_RUN["playwright"] = playwright
        _CHROMIUM_RUN["browser"] = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
    return _CHROMIUM_RUN["browser"]


def pytest_sessionfinish(session, exitstatus):
    if "browser" in _CHROMIUM_RUN:
        _CHROMIUM_RUN.pop("browser").close()
        _CHROMIUM_RUN.pop("playwright").stop()


class Journey:
    """One person's browser tab: every page it lands on is checked by axe, and by the CSP.

    Adding a step to a journey is one line: `journey.visit("/path")`, or an action such as
    `journey.submit("Continue")` which lands on a new page and checks it the same way.
    """

    def __init__(self, page, base_url: str, screenshots: Path):
        self.page = page
        self.base_url = base_url
        self.screenshots = screenshots
        self.checked: list[str] = []
        self.csp_errors: list[str] = []
        self._axe = AXE.read_text()
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_errors.append(f"{self.page.url}: {message.text}")

    def visit(self, path: str, status: int = 200):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == status, (
            path,
            response and response.status,
        )
        return self.check()

    def submit(self, button: str = "Continue", status: int | None = None):
        """Press a form's button and check the page it leads to."""
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("button", name=button, exact=True).click()
        if status is not None:
            assert navigation.value.status == status, (button, navigation.value.status)
        return self.check()

    def follow(self, link: str, *, exact: bool = True):
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=link, exact=exact).first.click()
        return self.check()

    def fill(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=True).fill(value)

    def fill_form(self, data: dict) -> None:
        """Fill fields by name, in order (so a radio's conditional reveal opens before its field
        is filled): radios and checkboxes by value, a list of strings into repeated boxes."""
        for name, value in data.items():
            fields = self.page.locator(f'main [name="{name}"]')
            kind = fields.first.evaluate("e => e.type")
            values = value if isinstance(value, list) else [value]
            if kind in ("radio", "checkbox"):
                for one in values:
                    self.page.locator(f'main [name="{name}"][value="{one}"]').check()
            elif kind == "select-one":
                fields.select_option(value)
            else:
                for index, one in enumerate(values):
                    fields.nth(index).fill(one)

    def submit_form(self, status: int | None = None):
        """Press the main form's first button (its text varies by feature)."""
        with self.page.expect_navigation() as navigation:
            self.page.locator("main form[method=post] button[type=submit]").first.click()
        if status is not None:
            assert navigation.value.status == status, navigation.value.status
        return self.check()

    def shot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = (
            self.screenshots
            / f"{len(self.checked):02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        )
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check(self):
        """axe-core with the WCAG 2.2 AA rules on the page as it is now; any violation fails."""
        url = self.page.url
        self.checked.append(url)
        if not self.page.evaluate(LOAD_AXE, self._axe):
            pytest.fail(f"axe could not run on {url}: the content security policy refused it")
        # Violations only, each with every node: axe then keeps one node of the other result
        # types (passes, incomplete, inapplicable), which nothing here reads: a third faster.
        violations = self.page.evaluate(
            """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']})
                          .then(result => result.violations)""",
            AXE_TAGS,
        )
        problems = []
        for v in violations:
            nodes = [n for n in v["nodes"] if not _known_govuk_frontend_issue(v["id"], n)]
            if nodes:
                problems.append(
                    {
                        "rule": v["id"],
                        "impact": v["impact"],
                        "help": v["help"],
                        "nodes": [n["target"] for n in nodes][:5],
                        "html": [n["html"][:200] for n in nodes][:3],
                    }
                )
        if problems or self.csp_errors:
            screenshot = self.shot(url.removeprefix(self.base_url) or "home")
            pytest.fail(
                f"Accessibility or CSP problems on {url} (screenshot {screenshot}):\n"
                + json.dumps({"axe": problems, "csp": self.csp_errors}, indent=2)
            )
        return self.page


@pytest.fixture
def journey(request, browser, live_server, tmp_path):
    """Open a fresh browser context (own cookies) as a Journey; call it again for a second person."""
    contexts = []

    def open_journey() -> Journey:
        context = browser.new_context(base_url=live_server)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Journey(context.new_page(), live_server, tmp_path / "screenshots")

    yield open_journey
    failed = getattr(request.node, "rep_call", None)
    for number, context in enumerate(contexts):
        if failed is not None and failed.failed:
            # Kept under the test's temporary folder, to see what the browser saw.
            for page in context.pages:
                path = tmp_path / "screenshots" / f"failure-{number}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
                print(f"Screenshot of the failure: {path}")
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
