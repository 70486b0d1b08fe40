"""The browser tests' own accessibility check fails a page with a violation, naming every
element at fault: a check that could not fail would pass every page."""

from __future__ import annotations

import pytest

PAGE = """<!DOCTYPE html><html lang="en"><head><title>Check</title></head><body>
<main><h1>Check</h1><img src="/a.png"><img src="/b.png"><p>Fine</p></main></body></html>"""


def test_a_page_with_a_violation_fails_the_check_with_every_element_named(journey):
    tab = journey()
    tab.page.set_content(PAGE)
    with pytest.raises(pytest.fail.Exception) as failed:
        tab.check()
    message = str(failed.value)
    assert '"rule": "image-alt"' in message
    assert "/a.png" in message and "/b.png" in message  # both images, not the first alone


def test_a_page_without_one_passes(journey):
    tab = journey()
    tab.page.set_content(PAGE.replace('.png">', '.png" alt="">'))
    assert tab.check() is tab.page
