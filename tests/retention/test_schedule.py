"""The retention schedule file: the default rules, and checked strictly at start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from tracker import create_app
from tracker.models import Agency, Case, CaseAgency
from tracker.services import retention_schedule
from tracker.services.retention_schedule import DEFAULT_FILE, ScheduleError

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT = DEFAULT_FILE.read_text()


def a_case(
    *kinds: str, born=date(2010, 2, 28), closed=datetime(2026, 6, 10, 12), looked_after=False
):
    """A case held by agencies of these kinds (not stored: the rules read only these fields)."""
    involvements = [CaseAgency(agency=Agency(name=k, kind=k)) for k in kinds]
    return Case(
        date_of_birth=born,
        status="closed" if closed else "open",
        closed_at=closed,
        looked_after=looked_after,
        involvements=involvements,
    )


@pytest.fixture
def schedule(app):  # closure dates are read in the partnership's time zone (the app's)
    return retention_schedule.load(None, 15)


@pytest.mark.parametrize(
    ("kinds", "looked_after", "rule", "until"),
    [
        # A school's safeguarding record: the child's 25th birthday.
        (("education",), False, "school-safeguarding", date(2035, 2, 28)),
        # Local authority child protection: closure + 35 years.
        (("childrens_social_care",), False, "la-child-protection", date(2061, 6, 10)),
        # Everything else: closure + the setting (15 years here).
        (("police", "health"), False, "default", date(2041, 6, 10)),
        # Held jointly: kept until the latest of the agencies' dates.
        (("education", "police"), False, "default", date(2041, 6, 10)),
        (("education", "childrens_social_care"), False, "la-child-protection", date(2061, 6, 10)),
        # A looked-after child, whoever holds the record: 75th birthday.
        (("education", "childrens_social_care"), True, "looked-after-children", date(2085, 2, 28)),
    ],
)
def test_the_default_rules(schedule, kinds, looked_after, rule, until):
    found, day = schedule.retention(a_case(*kinds, looked_after=looked_after))
    assert (found.name, day) == (rule, until)


def test_an_open_case_is_never_due_and_29_february_moves_to_the_28th(schedule):
    assert schedule.retention(a_case("education", closed=None)) is None
    leap = a_case("education", born=date(2012, 2, 29))
    assert schedule.retention(leap)[1] == date(2037, 2, 28)


def test_a_case_closed_by_a_bulk_load_counts_from_when_it_was_opened(schedule):
    loaded = a_case("police")
    loaded.closed_at, loaded.created_at = None, datetime(2020, 3, 1, 10)
    assert schedule.retention(loaded)[1] == date(2035, 3, 1)


def test_the_default_years_are_a_setting(app):
    rule, day = retention_schedule.load(None, 7).retention(a_case("police"))
    assert (rule.name, day) == ("default", date(2033, 6, 10))
    assert rule.label == "Everything else: closure + 7 years"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[rule]]\nname = 'x'\n", "line 1: rule 1: agency_kind is missing"),
        ("rules = 1\n", "unknown setting 'rules'"),
        (
            "[[rule]]\nname = 'a'\nrecord_kind = 'any'\nagency_kind = 'school'\nfrom = 'closure'\n"
            "years = 3\n",
            'rule 1: agency_kind must be "any" or one of childrens_social_care',
        ),
        (
            "[[rule]]\nname = 'a'\nrecord_kind = 'any'\nagency_kind = 'any'\nfrom = 'birth'\n"
            "years = 3\n",
            'rule 1: from must be "date_of_birth" or "closure"',
        ),
        (
            "\n[[rule]]\nname = 'a'\nrecord_kind = 'cp'\nagency_kind = 'any'\nfrom = 'closure'\n"
            "years = 3\n",
            "line 2: rule 1: record_kind must be",
        ),
        (
            "[[rule]]\nname = 'a'\nrecord_kind = 'any'\nagency_kind = 'any'\nfrom = 'closure'\n"
            "years = true\n",
            "years must be a whole number from 1 to 150, not True",
        ),
        (
            "[[rule]]\nname = 'a'\nrecord_kind = 'any'\nagency_kind = 'any'\nfrom = 'closure'\n"
            "years = 1\n[[rule]]\nname = 'a'\nrecord_kind = 'any'\nagency_kind = 'any'\n"
            "from = 'closure'\nyears = 2\n",
            "line 7: rule 2: name 'a' is used twice",
        ),
        (
            "[[rule]]\nname = 'Default'\nrecord_kind = 'any'\nagency_kind = 'any'\n"
            "from = 'closure'\nyears = 1\n",
            "name must be a short lower-case word",
        ),
        ("rule = = 1\n", "not valid TOML"),
    ],
)
def test_a_broken_file_is_refused(tmp_path, text, problem):
    path = tmp_path / "retention.toml"
    path.write_text(text)
    with pytest.raises(ScheduleError) as error:
        retention_schedule.load(path, 15)
    assert problem in str(error.value) and str(path) in str(error.value)


def test_a_missing_file_and_bad_default_years_are_refused(tmp_path):
    with pytest.raises(ScheduleError, match="cannot be read"):
        retention_schedule.load(tmp_path / "nowhere.toml", 15)
    with pytest.raises(ScheduleError, match="TRACKER_RETENTION_DEFAULT_YEARS must be"):
        retention_schedule.load(None, 0)


def test_create_app_stops_on_a_broken_file(tmp_path):
    path = tmp_path / "retention.toml"
    path.write_text(DEFAULT.replace("years = 35", "years = 0"))
    with pytest.raises(ScheduleError, match="rule 3: years must be a whole number"):
        create_app({"SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path), "RETENTION_FILE": str(path)})


def test_flask_exits_with_a_one_line_message(tmp_path):
    path = tmp_path / "retention.toml"
    path.write_text(DEFAULT.replace('agency_kind = "education"', 'agency_kind = "school"'))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "DATABASE_URL"))},
        "TRACKER_INSTANCE_DIR": str(tmp_path),
        "TRACKER_RETENTION_FILE": str(path),
        "FLASK_APP": "wsgi:app",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "routes"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    line = DEFAULT.splitlines().index('name = "school-safeguarding"')  # its [[rule]] header
    assert result.stderr.strip().startswith(
        f"tracker will not start: retention file {path}: line {line}: rule 2: agency_kind must be"
    )
    assert len(result.stderr.strip().splitlines()) == 1
