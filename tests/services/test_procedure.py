"""The escalation procedure file: checked strictly at start; open challenges keep their version."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import make_app
from tracker import create_app
from tracker.extensions import db
from tracker.models import Case, Challenge, Person
from tracker.services import challenges, procedure
from tracker.services.procedure import DEFAULT_FILE, ProcedureError

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT = DEFAULT_FILE.read_text()


def test_the_default_procedure():
    rules = procedure.load()
    assert [(s.number, s.working_days, s.urgent_working_days) for s in rules.stages] == [
        (1, 2, 1),
        (2, 5, 1),
        (3, 5, 1),
        (4, 10, 1),
    ]
    assert [(s.raising_side, s.other_side) for s in rules.stages] == [
        ("practitioner", "practitioner"),
        ("line_manager", "line_manager"),
        ("senior_manager", "senior_manager"),
        ("partnership", "partnership"),
    ]
    assert rules.auto_open_challenge_for_unanswered_concern is True
    assert all(s.reminder_working_hours > 0 for s in rules.stages)
    assert len(rules.version) == 16 and rules.version == procedure.load().version


def _stage2_line(text: str, key: str) -> int:
    """The line number of `key` inside the second [[stage]] table."""
    lines = text.splitlines()
    second = [n for n, line in enumerate(lines) if line.strip() == "[[stage]]"][1]
    return next(n for n in range(second, len(lines)) if lines[n].startswith(f"{key} =")) + 1


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            "working_days = 5\nurgent_working_days = 1\nreminder_working_hours = 8\n\n[[stage]]\nnumber = 3",
            'working_days = "five"\nurgent_working_days = 1\nreminder_working_hours = 8\n\n[[stage]]\nnumber = 3',
            "working_days",
            "stage 2: working_days must be a whole number of working days from 1 to 60, not 'five'",
        ),
        (
            'raising_side = "line_manager"',
            'raising_side = "manager"',
            "raising_side",
            "stage 2: raising_side must be one of 'practitioner', 'line_manager',",
        ),
        (
            "number = 2",
            "number = 3",
            "number",
            "stage 2: number must be 2 (stages are numbered 1, 2, 3... in order), not 3",
        ),
        (
            "working_days = 5\nurgent_working_days = 1\nreminder_working_hours = 8\n\n[[stage]]\nnumber = 3",
            "working_days = 5\nurgent_working_days = 9\nreminder_working_hours = 8\n\n[[stage]]\nnumber = 3",
            "urgent_working_days",
            "stage 2: urgent_working_days must be a whole number of working days from 1 to working_days (5), not 9",
        ),
        (
            'name = "Line managers / designated safeguarding leads"',
            'name = "Line managers / designated safeguarding leads"\ntimescale = 5',
            "timescale",
            "stage 2: unknown setting 'timescale'",
        ),
    ],
)
def test_a_broken_stage_names_the_line_and_the_problem(tmp_path, old, new, key, problem):
    assert DEFAULT.count(old) >= 1
    text = DEFAULT.replace(old, new, 1)
    path = tmp_path / "procedure.toml"
    path.write_text(text)
    with pytest.raises(ProcedureError) as error:
        procedure.load(path)
    message = str(error.value)
    assert message.startswith(f"procedure file {path}: line {_stage2_line(text, key)}: ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name = 'x'\n[[stage]\nnumber = 1\n", "not valid TOML: "),
        ("name = 'x'\n", "no stages: add at least one [[stage]] table"),
        ("auto_open_challenge_for_unanswered_concern = 'yes'\n", "must be true or false"),
        ("stages = 4\n", "line 1: unknown setting 'stages'"),
        ("[[stage]]\nnumber = 1\nname = 'One'\n", "line 1: stage 1: other_side is missing"),
    ],
)
def test_a_broken_file_is_refused(tmp_path, text, problem):
    path = tmp_path / "procedure.toml"
    path.write_text(text)
    with pytest.raises(ProcedureError, match=None) as error:
        procedure.load(path)
    assert problem in str(error.value)


def test_bad_toml_names_the_line(tmp_path):
    path = tmp_path / "procedure.toml"
    path.write_text(DEFAULT.replace("working_days = 10", "working_days = = 10"))
    with pytest.raises(ProcedureError, match=r"not valid TOML: .*line 5[0-9]"):
        procedure.load(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ProcedureError, match="cannot be read"):
        procedure.load(tmp_path / "nowhere.toml")


def test_create_app_stops_on_a_broken_file(tmp_path):
    path = tmp_path / "procedure.toml"
    path.write_text(DEFAULT.replace("working_days = 10", "working_days = 0"))
    with pytest.raises(ProcedureError, match="stage 4: working_days must be a whole number"):
        create_app({"SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path), "PROCEDURE_FILE": str(path)})


def test_flask_exits_with_a_one_line_message(tmp_path):
    path = tmp_path / "procedure.toml"
    text = DEFAULT.replace(
        "urgent_working_days = 1\nreminder_working_hours = 16",
        "urgent_working_days = -1\nreminder_working_hours = 16",
    )
    path.write_text(text)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "DATABASE_URL"))},
        "TRACKER_INSTANCE_DIR": str(tmp_path),
        "TRACKER_PROCEDURE_FILE": str(path),
        "FLASK_APP": "wsgi:app",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "routes"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    line = text.splitlines().index("urgent_working_days = -1") + 1
    assert result.stderr.strip() == (
        f"tracker will not start: procedure file {path}: line {line}: stage 4: "
        "urgent_working_days must be a whole number of working days from 1 to working_days (10), "
        "not -1"
    )


def test_a_changed_file_does_not_move_open_deadlines(app, world, frozen, tmp_path):
    frozen(datetime(2026, 12, 17, 10, 0))  # Thursday
    old = challenges.raise_challenge(
        world.worker_a,
        world.case,
        about_agency_id=world.agency_b.id,
        kind="plan",
        what_happened="The plan leaves out school.",
        outcome_wanted="School joins the core group.",
        urgent=False,
    )
    old_version = old.procedure_version
    assert old.stage_due_at == datetime(2026, 12, 21, 17, 0)  # 2 working days

    # The partnership edits the file (stage 1 now 4 days, stage 2 now 10) and the app restarts.
    changed = tmp_path / "procedure.toml"
    changed.write_text(
        DEFAULT.replace("working_days = 2\n", "working_days = 4\n").replace(
            'number = 2\nname = "Line managers / designated safeguarding leads"\n'
            'raising_side = "line_manager"\nother_side = "line_manager"\nworking_days = 5',
            'number = 2\nname = "Line managers / designated safeguarding leads"\n'
            'raising_side = "line_manager"\nother_side = "line_manager"\nworking_days = 10',
        )
    )
    ids = {"worker_a": world.worker_a.id, "lead_b": world.lead_b.id, "case": world.case.id}
    old_id = old.id
    agency_b = world.agency_b.id
    db.session.commit()
    db.session.remove()  # the old app holds nothing while the restarted one works
    restarted = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, PROCEDURE_FILE=str(changed)
    )
    with restarted.app_context():
        assert procedure.current().stage(2).working_days == 10
        still = db.session.get(Challenge, old_id)
        assert still.stage_due_at == datetime(2026, 12, 21, 17, 0)  # unmoved
        frozen(datetime(2026, 12, 21, 9, 0))  # Monday
        challenges.escalate(db.session.get(Person, ids["lead_b"]), still, "No agreement")
        # Stage 2 by the snapshot it started under: 5 days (not 10): Wed 30 Dec.
        assert still.stage_due_at == datetime(2026, 12, 30, 17, 0)
        assert still.procedure_version == old_version
        new = challenges.raise_challenge(
            db.session.get(Person, ids["worker_a"]),
            db.session.get(Case, ids["case"]),
            about_agency_id=agency_b,
            kind="plan",
            what_happened="Another disagreement.",
            outcome_wanted="Agreement.",
            urgent=False,
        )
        assert new.procedure_version != old_version
        # The new one follows the new file: 4 working days from Monday 21 Dec (skipping
        # Christmas and the Boxing Day substitute): Tue 22, Wed 23, Thu 24, Tue 29.
        assert new.stage_due_at == datetime(2026, 12, 29, 17, 0)
        db.session.remove()
        db.engine.dispose()
