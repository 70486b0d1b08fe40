"""Typed text that cannot be taken: a refused field gives back the rest of what was typed, and a
required answer that shows nothing (only invisible characters) is asked for again, on the web
and through the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.api.conftest import api, assert_problem, share_body  # noqa: F401  (api: a fixture)
from tests.conftest import sign_in_as
from tests.helpers import error_summary
from tests.shares.test_forms import count
from tracker import inputs
from tracker.extensions import db
from tracker.models import CaseNote, CaseNoteVersion, Share

INVISIBLE = "\u200b\u2060\ufeff\u00ad\u200c\u200d\u2063 \n\ufe0f"


def post_note(client, world, text: str):
    return client.post(
        f"/cases/{world.case.id}/notes/new",
        data={"kind": "lived_experience", "occurred_on": ["10", "11", "2026"], "text": text},
    )


def test_a_stray_nul_is_refused_without_losing_the_rest_of_what_was_typed(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    typed = "She said she is hungry most mornings & her brother hits her. " * 30
    response = post_note(client, world, typed[:900] + "\x00" + typed[900:])
    assert response.status_code == 400
    assert error_summary(response) == ["Note must not contain control characters"]
    html = response.get_data(as_text=True)
    # Shown again, escaped, whole, without the NUL.
    shown = typed.strip().replace("&", "&amp;")
    assert shown in html, "the note's text was emptied"
    assert "\x00" not in html
    # A NUL alone is refused for the NUL, not as a missing note.
    assert error_summary(post_note(client, world, "\x00")) == [
        "Note must not contain control characters"
    ]
    assert count(CaseNote) == 0


def test_refused_text_is_shown_again_storable():
    assert inputs.storable_text("a\x00b\x00") == "ab"
    assert inputs.storable_text("left \ud800 right") == "left \ufffd right"
    assert inputs.text_problem(inputs.storable_text("x\x00\udfff")) is None


def test_text_that_shows_nothing_is_blank_and_visible_text_is_kept():
    for blank in ("", " ", INVISIBLE, "\u2060", "\ufeff\u200b", "\u180e", "\u3164"):
        assert inputs.is_blank(blank), repr(blank)
        assert inputs.visible_text(blank) == ""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # ZWJ emoji sequence
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # needs a ZWNJ
    for text in (family, persian, "a\u200b", "\u200bAmy"):
        assert not inputs.is_blank(text), repr(text)
        assert inputs.visible_text(f"  {text}\n") == text


def test_a_note_of_only_invisible_characters_is_asked_for(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    for blank in ("\u200b", "\u2060", "\ufeff", INVISIBLE):
        response = post_note(client, world, blank)
        assert response.status_code == 400, repr(blank)
        assert error_summary(response) == ["Enter the note"], repr(blank)
    assert count(CaseNote) == 0
    # Visible text keeps the joiners it needs.
    text = "Said \U0001f468\u200d\U0001f467 and \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert post_note(client, world, text).status_code == 302
    assert db.session.scalar(select(CaseNoteVersion.text)) == text


def test_the_api_asks_for_a_summary_of_only_invisible_characters(api, world):  # noqa: F811
    url = f"/cases/{world.case.id}/shares"
    for blank in ("\u200b", "\u2060\ufeff", INVISIBLE):
        response = api.post(url, world.worker_a, json=share_body(world, summary=blank))
        assert_problem(response, 422, "summary", "Enter what was shared")
    assert count(Share) == 0
    response = api.post(url, world.worker_a, json=share_body(world, summary="Bruise \u200d seen"))
    assert response.status_code == 201, response.get_json()
