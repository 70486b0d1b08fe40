"""The partnership's escalation procedure: a TOML file, loaded and checked once at start.

The file (tracker/procedure.toml unless the PROCEDURE_FILE setting names another) lists the stages.
A mistake in it stops the app at start with one line naming the file, the line and the problem.
Its version is the hash of its content; each challenge keeps a snapshot of the stages it started
under (`Procedure.snapshot()`, tracker/models/procedure.py), so a later edit never moves the
deadlines of open challenges.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from config import ConfigError
from tracker.models.procedure import PARTICIPANTS, Procedure, Rating, Stage
from tracker.services import settings

EXTENSION = "tracker.procedure"  # where the app keeps the procedure it loaded at start
DEFAULT_FILE = Path(__file__).resolve().parent.parent / "procedure.toml"

MAX_WORKING_DAYS = 60
MAX_REMINDER_HOURS = 200
MAX_WORKING_HOURS = 400
TOP_LEVEL_KEYS = {"name", "auto_open_challenge_for_unanswered_concern", "stage", "concern_rating"}
RATING_KEYS = {"name", "label", "working_hours", "working_days", "out_of_hours"}
STAGE_KEYS = {
    "number",
    "name",
    "raising_side",
    "other_side",
    "working_days",
    "urgent_working_days",
    "reminder_working_hours",
}


class ProcedureError(ConfigError):
    """The procedure file is missing or wrong: the app refuses to start, with a one-line reason."""


class _Lines:
    """Line numbers of the file's keys, so a message can point at the line to fix."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = [
            n for n, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*stage\s*\]\]", line)
        ]

    def _block(self, stage_index: int | None) -> range:
        if stage_index is None or stage_index >= len(self.headers):
            return range(0, self.headers[0] if self.headers else len(self.lines))
        start = self.headers[stage_index]
        end = (
            self.headers[stage_index + 1]
            if stage_index + 1 < len(self.headers)
            else len(self.lines)
        )
        return range(start, end)

    def of(self, stage_index: int | None, key: str | None = None) -> int | None:
        block = self._block(stage_index)
        if key is not None:
            for n in block:
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[n]):
                    return n + 1
        if stage_index is not None and stage_index < len(self.headers):
            return self.headers[stage_index] + 1
        return None


def _fail(path: Path, line: int | None, problem: str) -> ProcedureError:
    where = f"{path}: line {line}" if line else str(path)
    return ProcedureError(f"procedure file {where}: {problem}")


def _whole_number(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_stage(raw: Any, index: int, path: Path, lines: _Lines) -> Stage:
    label = f"stage {index + 1}"
    if not isinstance(raw, dict):
        raise _fail(path, lines.of(index), f"{label} must be a [[stage]] table")
    for key in raw:
        if key not in STAGE_KEYS:
            raise _fail(path, lines.of(index, key), f"{label}: unknown setting {key!r}")
    for key in sorted(STAGE_KEYS - set(raw)):
        raise _fail(path, lines.of(index), f"{label}: {key} is missing")

    def bad(key: str, rule: str) -> ProcedureError:
        return _fail(path, lines.of(index, key), f"{label}: {key} {rule}, not {raw[key]!r}")

    if raw["number"] != index + 1 or isinstance(raw["number"], bool):
        raise bad("number", f"must be {index + 1} (stages are numbered 1, 2, 3... in order)")
    if not isinstance(raw["name"], str) or not raw["name"].strip():
        raise bad("name", "must be a non-empty text in quotes")
    for side in ("raising_side", "other_side"):
        if raw[side] not in PARTICIPANTS:
            raise bad(side, "must be one of " + ", ".join(repr(p) for p in PARTICIPANTS))
    if not _whole_number(raw["working_days"], 1, MAX_WORKING_DAYS):
        raise bad(
            "working_days", f"must be a whole number of working days from 1 to {MAX_WORKING_DAYS}"
        )
    if not _whole_number(raw["urgent_working_days"], 1, raw["working_days"]):
        raise bad(
            "urgent_working_days",
            f"must be a whole number of working days from 1 to working_days ({raw['working_days']})",
        )
    if not _whole_number(raw["reminder_working_hours"], 0, MAX_REMINDER_HOURS):
        raise bad(
            "reminder_working_hours",
            f"must be a whole number of working hours from 0 to {MAX_REMINDER_HOURS}",
        )
    return Stage(**{key: raw[key] for key in STAGE_KEYS})


def _check_rating(raw: Any, index: int, path: Path, lines: _Lines, seen: set[str]) -> Rating:
    def fail(problem: str) -> ProcedureError:
        return _fail(path, None, f"concern_rating {index + 1}: {problem}")

    if not isinstance(raw, dict):
        raise fail("must be a [[concern_rating]] table")
    for key in raw:
        if key not in RATING_KEYS:
            raise fail(f"unknown setting {key!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", name):
        raise fail(f'name must be a short lower-case word (e.g. "red"), not {name!r}')
    if name in seen:
        raise fail(f"name {name!r} is used twice")
    label = raw.get("label", name.capitalize())
    if not isinstance(label, str) or not label.strip():
        raise fail("label must be a non-empty text in quotes")
    hours, days = raw.get("working_hours"), raw.get("working_days")
    if (hours is None) == (days is None):
        raise fail("give exactly one of working_hours or working_days")
    if hours is not None and not _whole_number(hours, 1, MAX_WORKING_HOURS):
        raise fail(f"working_hours must be a whole number from 1 to {MAX_WORKING_HOURS}")
    if days is not None and not _whole_number(days, 1, MAX_WORKING_DAYS):
        raise fail(f"working_days must be a whole number from 1 to {MAX_WORKING_DAYS}")
    out_of_hours = raw.get("out_of_hours", False)
    if not isinstance(out_of_hours, bool):
        raise fail(f"out_of_hours must be true or false, not {out_of_hours!r}")
    if out_of_hours and hours is None:
        raise fail("out_of_hours needs a timescale in working_hours")
    seen.add(name)
    return Rating(name, label.strip(), hours, days, out_of_hours)


def parse(text: str, path: Path) -> Procedure:
    """Check the file's text strictly; raise ProcedureError naming the line and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _fail(path, None, f"not valid TOML: {error}") from None
    lines = _Lines(text)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(path, lines.of(None, key), f"unknown setting {key!r}")
    name = data.get("name", "Professional challenge procedure")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, lines.of(None, "name"), "name must be a non-empty text in quotes")
    auto_open = data.get("auto_open_challenge_for_unanswered_concern", True)
    if not isinstance(auto_open, bool):
        raise _fail(
            path,
            lines.of(None, "auto_open_challenge_for_unanswered_concern"),
            f"auto_open_challenge_for_unanswered_concern must be true or false, not {auto_open!r}",
        )
    raw_stages = data.get("stage")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise _fail(path, None, "no stages: add at least one [[stage]] table")
    stages = tuple(_check_stage(raw, n, path, lines) for n, raw in enumerate(raw_stages))
    raw_ratings = data.get("concern_rating", [])
    if not isinstance(raw_ratings, list):
        raise _fail(path, None, "concern_rating must be [[concern_rating]] tables")
    seen: set[str] = set()
    ratings = tuple(_check_rating(raw, n, path, lines, seen) for n, raw in enumerate(raw_ratings))
    return Procedure(
        name=name.strip(),
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        stages=stages,
        auto_open_challenge_for_unanswered_concern=auto_open,
        ratings=ratings,
    )


def load(path: str | Path | None = None) -> Procedure:
    path = Path(path) if path else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise _fail(path, None, f"cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise _fail(path, None, "is not UTF-8 text") from None
    return parse(text, path)


def current() -> Procedure:
    """The procedure new challenges start under."""
    return settings.extension(EXTENSION)
