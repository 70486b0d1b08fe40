"""What a person's home page shows: what needs their attention, most pressing first.

Each list is its first few rows and how many there are in all, read in one statement; the views
of them are audited together, written in one go once everything is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func

from tracker import access
from tracker.extensions import db
from tracker.models import Case, Person
from tracker.services import audit, cases, challenges, sharing, subject_access

# Each list on the home page shows its first few, with "see all" to the full list.
LIST_SIZE = 5

T = TypeVar("T")


@dataclass(frozen=True)
class FirstPage(Generic[T]):
    """A list's first rows and its total, as the page's "See all N" needs them."""

    items: list[T]
    total: int


def first_page(query: Select[tuple[T]], size: int = LIST_SIZE) -> FirstPage[T]:
    """The first `size` rows and the total in one statement: the count is a window over every
    row the query selects, worked out before the LIMIT."""
    rows = db.session.execute(query.add_columns(func.count().over()).limit(size)).all()
    return FirstPage([row[0] for row in rows], rows[0][1] if rows else 0)


def recent_cases(person: Person) -> list[Case]:
    return list(db.session.scalars(cases.recent_for(person).limit(LIST_SIZE)))


def for_person(person: Person, now: datetime) -> dict[str, Any]:
    """Everything the home page lists for this person, each list's view audited."""
    with audit.views_committed_together():
        shown = {"recent": recent_cases(person)}
        cases.record_list_view(shown["recent"], "home")
        if access.can_change_cases(person):
            shown.update(_to_do(person, now))
        if access.can_audit(person):
            shown["overdue_requests"] = list(db.session.scalars(subject_access.overdue_requests()))
    return shown


def _to_do(person: Person, now: datetime) -> dict[str, Any]:
    """For a worker or lead: what their agency owes, what it waits for, what waits on them."""
    agency_id = person.agency_id
    lists = {
        "overdue": first_page(sharing.awaiting_our_response(agency_id, sharing.OVERDUE, now)),
        "due_soon": first_page(sharing.awaiting_our_response(agency_id, sharing.DUE_SOON, now)),
        "theirs": first_page(sharing.awaiting_their_response(agency_id)),
    }
    concerns = [concern for page in lists.values() for concern in page.items]
    sharing.record_list_view(concerns, "home")
    awaiting_me = first_page(challenges.awaiting(person))
    challenges.record_list_view(awaiting_me.items, "home: challenges awaiting me")
    agency_challenges = challenges.open_for_agency(agency_id, limit=LIST_SIZE)
    challenges.record_list_view(agency_challenges, "home: my agency's open challenges")
    return {
        "lists": lists,
        "concerns": concerns,
        "concern_dues": sharing.due_statuses(concerns, now),
        "awaiting_me": awaiting_me,
        "agency_challenges": agency_challenges,
        "challenge_dues": challenges.dues([*awaiting_me.items, *agency_challenges], now),
    }
