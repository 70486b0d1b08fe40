"""The retention schedule: a TOML file of rules, loaded and checked once at start.

The file (tracker/retention.toml unless TRACKER_RETENTION_FILE names another) lists rules by
record kind and agency kind. A case is one child's record held jointly by every agency ever
involved in it, so it is kept until the latest date any of their rules gives (see the file's
header); agencies no rule matches get closure + RETENTION_DEFAULT_YEARS. Record kind is the
case's: "looked_after" for a looked-after child (Case.looked_after), "other" for every other.
A mistake in the file stops the app at start with one line naming the file, the line and the
problem, like the procedure file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from config import ConfigError
from tracker.models import AgencyKind, Case
from tracker.services import settings, workdays
from tracker.services.procedure import _whole_number

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "retention.toml"
RECORD_KINDS = ("looked_after", "other")
STARTS = {"date_of_birth": "date of birth", "closure": "closure"}
RULE_KEYS = {"name", "label", "record_kind", "agency_kind", "from", "years"}
MAX_YEARS = 150
DEFAULT_RULE = "default"


class ScheduleError(ConfigError):
    """The retention file is missing or wrong: the app refuses to start, with a one-line reason."""


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    record_kind: str  # one of RECORD_KINDS, or "any"
    agency_kind: str  # an AgencyKind value, or "any"
    start: str  # "date_of_birth" or "closure"
    years: int

    def matches(self, record_kind: str, agency_kind: str) -> bool:
        return self.record_kind in ("any", record_kind) and self.agency_kind in ("any", agency_kind)

    def retain_until(self, case: Case) -> date:
        """The last day a closed case must be kept under this rule. A closed case with no
        closure date (closed by a bulk load) counts from when it was opened, as migration 0015
        does for cases closed before it."""
        if self.start == "date_of_birth":
            return add_years(case.date_of_birth, self.years)
        closed = case.closed_at or case.created_at
        return add_years(workdays.to_local(closed).date(), self.years)


@dataclass(frozen=True)
class Schedule:
    rules: tuple[Rule, ...]
    default: Rule

    def rule_for(self, record_kind: str, agency_kind: str) -> Rule:
        return next((r for r in self.rules if r.matches(record_kind, agency_kind)), self.default)

    def retention(self, case: Case) -> tuple[Rule, date] | None:
        """The rule that keeps the case longest and the date it gives; None while it is open."""
        if case.status != "closed":
            return None
        record_kind = "looked_after" if case.looked_after else "other"
        kinds = {i.agency.kind for i in case.involvements}
        rules = {self.rule_for(record_kind, kind) for kind in kinds} or {self.default}
        until, rule = max(
            ((r.retain_until(case), r) for r in rules), key=lambda p: (p[0], p[1].name)
        )
        return rule, until


def add_years(start: date, years: int) -> date:
    """The same day `years` on; 29 February becomes 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def _rule_lines(text: str) -> list[int]:
    return [
        n + 1
        for n, line in enumerate(text.splitlines())
        if re.match(r"\s*\[\[\s*rule\s*\]\]", line)
    ]


def _check_rule(raw: Any, index: int, path: Path, line: int | None, seen: set[str]) -> Rule:
    def fail(problem: str) -> ScheduleError:
        where = f"{path}: line {line}" if line else str(path)
        return ScheduleError(f"retention file {where}: rule {index + 1}: {problem}")

    if not isinstance(raw, dict):
        raise fail("must be a [[rule]] table")
    for key in raw:
        if key not in RULE_KEYS:
            raise fail(f"unknown setting {key!r}")
    for key in sorted(RULE_KEYS - {"label"} - set(raw)):
        raise fail(f"{key} is missing")
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", name):
        raise fail(
            f'name must be a short lower-case word with hyphens (e.g. "school-safeguarding"), not {name!r}'
        )
    if name in seen or name == DEFAULT_RULE:
        raise fail(
            f"name {name!r} is used twice"
            if name in seen
            else f"name {name!r} is the default rule's"
        )
    label = raw.get("label", name)
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise fail("label must be a non-empty text in quotes, at most 200 characters")
    if raw["record_kind"] not in (*RECORD_KINDS, "any"):
        raise fail(
            f'record_kind must be "looked_after", "other" or "any", not {raw["record_kind"]!r}'
        )
    agency_kinds = [k.value for k in AgencyKind]
    if raw["agency_kind"] not in (*agency_kinds, "any"):
        raise fail(
            f'agency_kind must be "any" or one of {", ".join(agency_kinds)}, not {raw["agency_kind"]!r}'
        )
    if raw["from"] not in STARTS:
        raise fail(f'from must be "date_of_birth" or "closure", not {raw["from"]!r}')
    if not _whole_number(raw["years"], 1, MAX_YEARS):
        raise fail(f"years must be a whole number from 1 to {MAX_YEARS}, not {raw['years']!r}")
    seen.add(name)
    return Rule(
        name, label.strip(), raw["record_kind"], raw["agency_kind"], raw["from"], raw["years"]
    )


def default_rule(years: int) -> Rule:
    return Rule(
        DEFAULT_RULE, f"Everything else: closure + {years} years", "any", "any", "closure", years
    )


def parse(text: str, path: Path, default_years: int) -> Schedule:
    """Check the file's text strictly; raise ScheduleError naming the line and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScheduleError(f"retention file {path}: not valid TOML: {error}") from None
    for key in data:
        if key != "rule":
            raise ScheduleError(f"retention file {path}: unknown setting {key!r}")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ScheduleError(f"retention file {path}: rule must be [[rule]] tables")
    lines = _rule_lines(text)
    seen: set[str] = set()
    rules = tuple(
        _check_rule(raw, n, path, lines[n] if n < len(lines) else None, seen)
        for n, raw in enumerate(raw_rules)
    )
    if not _whole_number(default_years, 1, MAX_YEARS):
        raise ScheduleError(
            f"TRACKER_RETENTION_DEFAULT_YEARS must be a whole number from 1 to {MAX_YEARS}"
        )
    return Schedule(rules, default_rule(default_years))


def load(path: str | Path | None, default_years: int) -> Schedule:
    path = Path(path) if path else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScheduleError(
            f"retention file {path}: cannot be read ({error.strerror or error})"
        ) from None
    except UnicodeDecodeError:
        raise ScheduleError(f"retention file {path}: is not UTF-8 text") from None
    return parse(text, path, default_years)


EXTENSION = "tracker.retention_schedule"  # where the app keeps the schedule it loaded at start


def current() -> Schedule:
    return settings.extension(EXTENSION)
