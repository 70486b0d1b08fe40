"""Assertions every page test uses."""

from __future__ import annotations

import re
from html import unescape


def page_text(response) -> str:
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def error_summary(response) -> list[str]:
    """The messages in the GOV.UK error summary (empty if there is none)."""
    html = response.get_data(as_text=True)
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    if not match:
        return []
    return [unescape(m.strip()) for m in re.findall(r"<a [^>]*>(.*?)</a>", match.group(0), re.S)]


def assert_form_error(response, message: str, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, error_summary(response))
    summary = error_summary(response)
    assert any(message in line for line in summary), summary


def section(html: str, heading_id: str) -> str:
    """The HTML from the heading with this id up to the next h2 (one section of a page)."""
    after = html.split(f'id="{heading_id}"', 1)[1]
    return after.split("<h2", 1)[0]
