"""The layout's cached parts (tracker.templating.layout_header, layout_part): the same HTML as
before for what is shared, and nothing per request or per person carried from one to the next."""

import re

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.services import alerts


def _header(html: str) -> str:
    return re.search(r'<header class="govuk-template__header">.*?</header>', html, re.S).group(0)


ITEM = re.compile(
    r'<li class="govuk-service-navigation__item( govuk-service-navigation__item--active)?">\s*'
    r'<a class="govuk-service-navigation__link"[^>]*>\s*(?:<strong[^>]*>)?([^<]+?)\s*<'
)


def _nav(html: str) -> list[str]:
    return [text for _, text in ITEM.findall(html)]


def _active(html: str) -> list[str]:
    return [text for active, text in ITEM.findall(html) if active]


def test_nonce_and_csrf_token_are_new_on_every_page(client, world):
    sign_in_as(client, world.worker_a)
    seen = []
    for _ in range(2):
        response = client.get("/no-such-page")
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in html  # the page's script carries this request's nonce
        token = re.search(r'name="csrf_token" value="([^"]+)"', _header(html)).group(1)
        seen.append((nonce, token))
    assert seen[0][0] != seen[1][0]


def test_the_same_roles_share_the_navigation_but_not_the_name(app, world):
    first, second = app.test_client(), app.test_client()
    sign_in_as(first, world.worker_a)
    sign_in_as(second, world.worker_b)  # same role, another agency and name
    a = first.get("/cases/").get_data(as_text=True)
    b = second.get("/cases/").get_data(as_text=True)
    assert _nav(a) == _nav(b)
    assert "Worker A, Agency A Social Care" in page_text(first.get("/"))
    assert "Worker B, Agency B Police" in _header(b) and "Worker A" not in _header(b)


def test_each_role_and_section_gets_its_own_navigation(app, world):
    worker, auditor, anonymous = app.test_client(), app.test_client(), app.test_client()
    sign_in_as(worker, world.worker_a)
    sign_in_as(auditor, world.auditor)
    assert "Audit trail" in _nav(auditor.get("/").get_data(as_text=True))
    assert "Audit trail" not in _nav(worker.get("/").get_data(as_text=True))
    assert _nav(anonymous.get("/sign-in").get_data(as_text=True)) == []
    assert _active(worker.get("/cases/").get_data(as_text=True)) == ["Cases"]
    assert _active(worker.get("/").get_data(as_text=True)) == ["Home"]
    assert _active(worker.get("/inbox/").get_data(as_text=True)) == ["Inbox"]


def test_the_unread_count_follows_the_inbox(client, world):
    sign_in_as(client, world.lead_b)
    assert "Inbox" in _nav(client.get("/").get_data(as_text=True))
    alerts.raise_alert(
        event="layout-test",
        recipients=[world.lead_b],
        kind="challenge_raised",
        subject="S",
        link="/",
    )
    assert "Inbox (1 unread)" in _nav(client.get("/").get_data(as_text=True))
