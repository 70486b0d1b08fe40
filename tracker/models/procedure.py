"""A procedure's stages and concern ratings, as a challenge keeps them (its snapshot).

Values, not tables: tracker.services.procedure reads and checks the partnership's file into these,
and a challenge reads its own snapshot back (Challenge.procedure), so the stages it started under
hold whatever the file says later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

PARTICIPANTS = {
    "practitioner": "Practitioner",
    "line_manager": "Line manager / designated safeguarding lead",
    "senior_manager": "Senior manager / head of service",
    "partnership": "Safeguarding partnership",
}


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    raising_side: str
    other_side: str
    working_days: int
    urgent_working_days: int
    reminder_working_hours: int

    def days(self, urgent: bool) -> int:
        return self.urgent_working_days if urgent else self.working_days

    @property
    def raising_side_label(self) -> str:
        return PARTICIPANTS[self.raising_side]

    @property
    def other_side_label(self) -> str:
        return PARTICIPANTS[self.other_side]


@dataclass(frozen=True)
class Rating:
    """A concern rating (e.g. a hub's red, amber, green) and its response timescale: working
    hours or working days; `out_of_hours` lets it run straight through when raised out of hours."""

    name: str
    label: str
    working_hours: int | None = None
    working_days: int | None = None
    out_of_hours: bool = False


@dataclass(frozen=True)
class Procedure:
    name: str
    version: str
    stages: tuple[Stage, ...]
    auto_open_challenge_for_unanswered_concern: bool = True
    ratings: tuple[Rating, ...] = ()

    def stage(self, number: int) -> Stage:
        return self.stages[number - 1]

    def rating(self, name: str) -> Rating | None:
        return next((r for r in self.ratings if r.name == name), None)

    @property
    def last_stage(self) -> int:
        return len(self.stages)

    def snapshot(self) -> str:
        """What a challenge stores: the stages it follows, whatever the file says later."""
        return json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "stages": [asdict(s) for s in self.stages],
            },
            sort_keys=True,
        )

    @classmethod
    def from_snapshot(cls, text: str) -> Procedure:
        data = json.loads(text)
        return cls(
            name=data["name"],
            version=data["version"],
            stages=tuple(Stage(**stage) for stage in data["stages"]),
        )
