"""Resolving a challenge: the page and the API read what was agreed the same way
(ResolveForm.resolution) and make the one service call (challenges.resolve)."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from tracker.challenges.forms import ResolveForm
from tracker.services import challenges


def test_the_form_gives_what_was_agreed_with_only_the_rows_filled_in(app):
    with app.test_request_context():
        form = ResolveForm(
            formdata=MultiDict(
                [
                    ("agreed", "Joint visit booked"),
                    ("themes", "professional_challenge"),
                    ("practice_issue", "yes"),
                    ("action_2", "Book the room"),
                    ("owner_2", "Worker B"),
                    ("due_2", "9"),
                    ("due_2", "6"),  # GovDateInput: three boxes, one name
                    ("due_2", "2026"),
                ]
            ),
            meta={"csrf": False},
        )
        assert form.resolution() == challenges.Resolution(
            agreed="Joint visit booked",
            actions=[challenges.AgreedAction("Book the room", "Worker B", date(2026, 6, 9))],
            themes=["professional_challenge"],
            practice_issue=True,
        )


def test_no_practice_issue_and_no_themes(app):
    with app.test_request_context():
        form = ResolveForm(
            formdata=MultiDict([("agreed", "Agreed"), ("practice_issue", "no")]),
            meta={"csrf": False},
        )
        resolution = form.resolution()
    assert resolution.actions == [] and list(resolution.themes) == []
    assert resolution.practice_issue is False
