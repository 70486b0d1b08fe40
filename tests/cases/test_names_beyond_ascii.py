"""Names with letters beyond A-Z: the duplicate-child check and the case search fold their case
on SQLite as PostgreSQL does (SQLite's own lower() folds A-Z only: "Émile" stayed "Émile")."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import make_url, select, text

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.database import INTO_ASCII, SQLITE_FOLD, fold_case, folded
from tracker.extensions import db
from tracker.services import cases

BORN = date(2019, 3, 2)


def open_case(world, name: str, born: date = BORN, **extra):
    return cases.create(
        world.worker_a,
        child_name=name,
        date_of_birth=born,
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[],
        **extra,
    )


def searched(person, term: str) -> set[str]:
    return {c.child_name for c in db.session.scalars(cases.search(cases.recent_for(person), term))}


@pytest.mark.parametrize(
    "typed", ["Émile Dupont", "émile dupont", "ÉMILE DUPONT", " émile Dupont "]
)
def test_the_same_child_typed_in_another_case_is_refused_as_a_duplicate(world, typed):
    first = open_case(world, "Émile Dupont")
    with pytest.raises(cases.CaseMatch) as refused:
        open_case(world, typed)
    assert refused.value.readable == [first]
    open_case(world, "Émile Dupont", born=date(2019, 3, 3))  # another child: not refused
    open_case(world, typed, confirm_not_a_match=True)  # confirmed as another child


def test_an_ascii_name_is_still_matched_whatever_its_case(world):
    first = open_case(world, "Al Smith")
    with pytest.raises(cases.CaseMatch) as refused:
        open_case(world, "al SMITH")
    assert refused.value.readable == [first]


def test_the_new_case_form_refuses_the_second_case(client, world):
    first = open_case(world, "Émile Dupont")
    sign_in_as(client, world.worker_a)
    response = client.post(
        "/cases/new",
        data={
            "child_name": "émile dupont",
            "date_of_birth": ["2", "3", "2019"],
            "lead_agency_id": str(world.agency_a.id),
            "lead_professional_id": "0",
        },
    )
    assert response.status_code == 400, (response.status_code, "a second case was opened")
    assert first.reference in response.get_data(as_text=True)


@pytest.fixture
def named(world):
    for name in (
        "Émile Łukasiewicz",
        "Al Smith",
        "ΟΔΥΣΣΕΑΣ Παππάς",
        "Zoë Ng",
        "İpek Kaya",
        "\u212aate Ng",
    ):
        open_case(world, name)
    return world


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("émile", {"Émile Łukasiewicz"}),
        ("Émile", {"Émile Łukasiewicz"}),
        ("ÉMILE", {"Émile Łukasiewicz"}),
        ("łukasiewicz", {"Émile Łukasiewicz"}),
        ("Łukasiewicz", {"Émile Łukasiewicz"}),
        ("émile ł", {"Émile Łukasiewicz"}),
        ("é", {"Émile Łukasiewicz"}),  # shorter than a trigram: matched by the scan
        ("Ł", {"Émile Łukasiewicz"}),
        ("zoË", {"Zoë Ng"}),
        ("smith", {"Al Smith"}),  # ASCII as before
        ("SMITH", {"Al Smith"}),
        # Σ lower-cases letter by letter, as PostgreSQL's lower() does (not "ς" at a word's end),
        # so a term is found inside the name it came from.
        ("Οδυσσεασ", {"ΟΔΥΣΣΕΑΣ Παππάς"}),
        ("ΕΑΣ", {"ΟΔΥΣΣΕΑΣ Παππάς"}),
        ("υσσ", {"ΟΔΥΣΣΕΑΣ Παππάς"}),
        ("emile", set()),  # accents are not folded away, on either database
        ("é_", set()),  # "_" is a character, not a wildcard
        ("İpek", {"İpek Kaya"}),
        ("ip", {"İpek Kaya"}),  # "İ" lower-cases to "i" (SQLite's trigram index: only as typed)
        ("ka", {"Émile Łukasiewicz", "İpek Kaya", "\u212aate Ng"}),  # and the Kelvin sign to "k"
        ("pe", {"İpek Kaya"}),
    ],
)
def test_a_name_is_found_by_any_case_of_its_letters(named, term, found):
    assert searched(named.auditor, term) == found


def test_the_case_list_page_finds_a_name_by_its_accented_capital(client, named):
    sign_in_as(client, named.worker_a)
    for typed in ("Émile", "émile", "łukasiewicz"):
        assert "Émile Łukasiewicz" in page_text(client.get("/cases/", query_string={"q": typed}))


def test_both_databases_fold_letter_by_letter(app):
    lowered = db.session.scalar(select(folded(text("'Émile ŁUKASIEWICZ ΟΔΥΣΣΕΑΣ Zoë'"))))
    assert lowered == "émile łukasiewicz οδυσσεασ zoë"


def test_a_search_beyond_ascii_still_uses_the_trigram_index(named):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plan: test_search.py")
    statement = cases.search(cases.recent_for(named.auditor), "Émile")
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan), plan


def test_the_schema_never_depends_on_the_apps_own_function(named):
    """The built-in lower() is not replaced, and nothing in the schema calls the app's function:
    a connection without it (the sqlite3 shell, a backup's) reads and checks the file alike."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    db.session.remove()
    with sqlite3.connect(make_url(str(db.engine.url)).database) as plain:
        schema = " ".join(sql for (sql,) in plain.execute("SELECT sql FROM sqlite_master") if sql)
        assert SQLITE_FOLD not in schema
        assert plain.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert plain.execute("SELECT lower('É')").fetchone() == ("É",)  # the built-in, untouched
        fts = "SELECT count(*) FROM case_search WHERE case_search MATCH 'émile'"
        assert plain.execute(fts).fetchone() == (1,)


def test_the_fold_maps_one_character_to_one_and_few_into_ascii():
    """What `like_folded`'s first pass on SQLite rests on."""
    into_ascii = {}
    for code in range(0x80, 0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        letter = chr(code)
        lowered = fold_case(letter)
        assert len(lowered) == 1, (letter, lowered)
        if lowered.isascii():
            into_ascii[letter] = lowered
    assert into_ascii == INTO_ASCII
