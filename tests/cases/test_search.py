"""Case search through the trigram index (migration 0019_case_search): the same cases as a plain
substring match over every visible case, for terms the index serves (3+ characters) and the
shorter ones it cannot."""

from datetime import date

import pytest
from sqlalchemy import text, update

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker import access
from tracker.extensions import db
from tracker.models import Case
from tracker.services import cases

NAMES = [
    "Al Smith",
    "Bo Li",
    "Cy Smithers",
    "Di O'Neil",
    "Ed 100% Li_ly",
    'Fay "Quote" Ng',
    "Zoë Ng",
]
TERMS = [
    "a", "l", "i", "%", "_", '"', "'", " ", "0", "1",  # one character
    "li", "Li", "ng", "o ", "%_", "1/", "00", "-2",  # two
    "smith", "SMITH", "ith", "mithe", "li_", "100%", "% l", '"quote"', "o'n", "zoë", "Zoë",
    "sscp-", "-2026-0000", "00003", "sscp-2026-00009", "no such child", "/", "//x",
]  # fmt: skip


def new_case(world, name: str) -> None:
    """A case of agency A's alone."""
    cases.create(
        world.worker_a,
        child_name=name,
        date_of_birth=date(2015, 1, 1),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[],
    )


@pytest.fixture
def named(world):
    for name in NAMES:
        new_case(world, name)
    return world


def searched(person, term: str) -> set[str]:
    return {c.child_name for c in db.session.scalars(cases.search(cases.recent_for(person), term))}


def substring_match(person, term: str) -> set[str]:
    """Today's rule, by hand: every visible case whose reference or name holds the term."""
    term = term.strip().lower()
    return {
        c.child_name
        for c in db.session.scalars(access.visible_cases(person))
        if term in c.reference.lower() or term in c.child_name.lower()
    }


@pytest.mark.parametrize("term", TERMS)
def test_the_index_finds_what_a_scan_finds(named, term):
    assert searched(named.worker_a, term) == substring_match(named.worker_a, term)


def test_short_terms_that_no_trigram_serves_still_match(named):
    assert searched(named.worker_a, "li") == {"Bo Li", "Ed 100% Li_ly"}
    assert searched(named.worker_a, " n ") == searched(named.worker_a, "n")  # trimmed
    assert searched(named.worker_a, "i_") == {"Ed 100% Li_ly"}
    assert searched(named.worker_a, "%") == {"Ed 100% Li_ly"}  # literal, not a wildcard
    assert searched(named.worker_a, "q") == {'Fay "Quote" Ng'}


def test_search_stays_within_the_visible_cases(named):
    # Agency B was involved only in the world's case; C in none.
    assert searched(named.worker_b, "smith") == set()
    assert searched(named.worker_b, "child one") == {"Child One"}
    assert searched(named.worker_c, "child") == set()
    assert searched(named.auditor, "smith") == {"Al Smith", "Cy Smithers"}


def test_the_index_follows_new_and_corrected_names(named):
    case = db.session.scalar(db.select(Case).where(Case.child_name == "Bo Li"))
    db.session.execute(update(Case).where(Case.id == case.id).values(child_name="Bo Lindqvist"))
    db.session.commit()
    assert searched(named.worker_a, "lindq") == {"Bo Lindqvist"}
    assert searched(named.worker_a, "bo li") == {"Bo Lindqvist"}
    new_case(named, "Newest Arrival")
    assert searched(named.worker_a, "arriv") == {"Newest Arrival"}


def test_a_name_search_uses_the_trigram_index(named):
    statement = cases.search(cases.recent_for(named.auditor), "smith")
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "postgresql":
        # A handful of rows: left to itself the planner scans the table, or walks the newest-
        # first index when the statistics say so. Only a bitmap of the trigram index is left.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
        plan = db.session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
        assert any("_trigram" in line for line in plan), plan
    else:
        plan = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan), plan
    db.session.rollback()


def test_the_case_list_page_searches_through_the_index(client, named):
    sign_in_as(client, named.worker_a)
    found = page_text(client.get("/cases/?q=SMITH"))
    assert "Al Smith" in found and "Cy Smithers" in found and "Bo Li" not in found
    assert "Showing 1 to 2 of 2 cases" in found or "2 cases" in found
