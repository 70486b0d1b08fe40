"""A challenge being raised: one person's answers to its steps so far, on one case.

Kept on the server until the challenge is raised: the answers hold case text (what happened, in
the raiser's words or prefilled from another agency's record), which the session, a cookie signed
but not encrypted, must not carry. A raised draft names its challenge, so the same answers sent
again (a second tab, a double submit) find it raised and open nothing more.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from tracker import clock
from tracker.extensions import db
from tracker.models import Case, Challenge, ChallengeDraft, Person
from tracker.services import locks


def _find(person: Person, case_id: int) -> ChallengeDraft | None:
    return db.session.scalar(
        select(ChallengeDraft).where(
            ChallengeDraft.person_id == person.id, ChallengeDraft.case_id == case_id
        )
    )


def answers(person: Person, case_id: int) -> dict[str, Any] | None:
    """The person's answers so far; None before the first step and once raised."""
    draft = _find(person, case_id)
    if draft is None or draft.raised_challenge_id is not None:
        return None
    return json.loads(draft.answers)


def save(person: Person, case_id: int, answers: dict[str, Any]) -> None:
    """Keep the answers: a fresh draft where the last one was raised. One statement, so two
    first steps at once (two tabs) make one draft, the later answers standing."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ChallengeDraft).values(
        person_id=person.id,
        case_id=case_id,
        answers=json.dumps(answers),
        saved_at=clock.now(),
        raised_challenge_id=None,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["person_id", "case_id"],
            set_={
                name: statement.excluded[name]
                for name in ("answers", "saved_at", "raised_challenge_id")
            },
        )
    )
    db.session.commit()


def raising(person: Person, case: Case) -> tuple[dict[str, Any] | None, Challenge | None]:
    """For the final step: the draft's answers, under its row's lock until the transaction
    ends, or the challenge they already raised (a twin request waits here, then finds it)."""
    draft = _find(person, case.id)
    if draft is not None:
        draft = locks.row(ChallengeDraft, draft.id)
    if draft is None:
        return None, None
    if draft.raised_challenge_id is not None:
        return None, db.session.get(Challenge, draft.raised_challenge_id)
    return json.loads(draft.answers), None


def mark_raised(person: Person, case: Case, challenge: Challenge) -> None:
    """In the raising transaction (the caller commits): these answers raised this challenge.
    The answers themselves go: the challenge holds them now, and a draft holds nothing longer."""
    draft = _find(person, case.id)
    draft.raised_challenge_id = challenge.id
    draft.answers = json.dumps({})
