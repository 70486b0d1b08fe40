"""Partnership-scale data for benchmarks and capacity checks: `flask tracker generate`.

Fills an EMPTY, migrated database with a realistic spread over five years before `now`: ten areas'
agencies of every kind and the partnership's business unit; workers, leads (named for each stage),
auditors and admins; cases with 2-8 agencies; shares (most concerns answered on time, some late,
each late one with its overdue alerts and a no-response challenge resolved or escalated through
the stages); notes and threshold views; and an open set of a few hundred concerns and challenges
at every stage around `now`, which is what the sweep works on.

Three random streams (cases, history, open set) are seeded apart, so two runs with the same seed,
`--cases` and `--now` but different `--shares` hold the same cases, notes and open set and differ
only in history: the benchmark's sweep ratio rests on that.

Speed: rows are built as dicts and written in batches (Core `insert()` executemany on SQLite;
COPY on PostgreSQL), ids assigned here, due times from workdays.py cached per local date.

Audit: a generator run is one operator action, so it writes one audit event per object kind
("generate.shares" with the count and the id range) through audit.record, never one per row; the
chain stays valid and `flask tracker audit verify` passes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from sqlalchemy import Table, func, select, text

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    Agency,
    AgencyKind,
    Alert,
    AlertKind,
    AuditEvent,
    Case,
    CaseAgency,
    CaseLink,
    CaseNote,
    CaseNoteVersion,
    Challenge,
    ChallengeEvent,
    ChallengeEvidence,
    ChallengeKind,
    ChallengeStatus,
    ConcernResponse,
    ConcernState,
    Consent,
    DeliveryStatus,
    EventKind,
    IdentifierAbsent,
    LawfulBasis,
    NamedLead,
    NoteKind,
    Person,
    Priority,
    Role,
    Share,
    ShareMethod,
    ShareRecipient,
    ShareVersion,
    SpecialCategoryCircumstance,
    Theme,
    ThresholdView,
)
from tracker.services import audit, procedure, settings, workdays

AREAS = (
    "Bolton",
    "Bury",
    "Manchester",
    "Oldham",
    "Rochdale",
    "Salford",
    "Stockport",
    "Tameside",
    "Trafford",
    "Wigan",
)
# How often each kind of agency is involved in a case (children's social care leads most).
KIND_WEIGHTS = {
    AgencyKind.CHILDRENS_SOCIAL_CARE: 10,
    AgencyKind.POLICE: 7,
    AgencyKind.HEALTH: 9,
    AgencyKind.EDUCATION: 9,
    AgencyKind.HOUSING: 4,
    AgencyKind.PROBATION: 2,
    AgencyKind.YOUTH_JUSTICE: 2,
    AgencyKind.EARLY_HELP: 5,
    AgencyKind.VOLUNTARY_SECTOR: 3,
    AgencyKind.ADULT_SERVICES: 2,
    AgencyKind.OTHER: 1,
}
WORKERS_PER_AGENCY = 6
LEADS_PER_AGENCY = 3  # one named for each of stages 1-3, the next one their deputy
FIRST_NAMES = (
    "Amara Ben Chloe Daniel Ella Farah George Hana Isaac Jade Kai Lily Mohammed Nia Oscar Priya "
    "Quinn Ruby Sami Tara Umar Violet Wes Yusuf Zara Aiden Bella Caleb Demi Ethan"
).split()
LAST_NAMES = (
    "Ahmed Brown Clarke Davies Evans Fletcher Green Hughes Iqbal Jones Khan Lewis Murphy Nowak "
    "Okafor Patel Quinn Roberts Singh Taylor Usman Walker Wright Young"
).split()
SUMMARIES = (
    "School reports the child arrived hungry and without a coat on three days this week.",
    "Police attended a domestic incident at the home overnight; the child was present.",
    "Health visitor notes missed appointments and concerns about the home conditions.",
    "Housing confirms the family faces eviction next month.",
    "Attendance has fallen below 80% this term; the child said they look after a sibling.",
    "A&E attendance with an injury; explanation consistent, recorded for history.",
    "Mother disclosed she has stopped taking prescribed medication.",
    "Youth worker reports the child was seen with older youths late at night.",
)
PURPOSES = (
    "So the receiving agency can consider the risk to the child.",
    "For the strategy discussion tomorrow.",
    "To update the child's plan.",
    "So the school can offer support.",
)
RESPONSES = (
    "Visited the family and spoke to the child alone.",
    "Added to the child's plan and discussed with the family.",
    "Referred to early help; the family agreed.",
    "Checked our records: nothing further known.",
)
NOTE_TEXTS = {
    NoteKind.LIVED_EXPERIENCE: "The child said they like school because they get breakfast.",
    NoteKind.CAPACITY_TO_CHANGE: "Parents agreed the plan but missed two of three sessions.",
    NoteKind.SIGNIFICANT_EVENT: "Father returned to the family home.",
}
YEARS = 5
BATCH = 5000  # rows a write
COMMIT_EVERY = 20  # writes a transaction
HISTORY_LATE_RATE = 0.05  # concerns answered, but after their due time


class GenerateError(ValueError):
    """The database is not empty, or the numbers asked for make no sense."""


@dataclass(frozen=True)
class Plan:
    cases: int
    shares: int
    seed: int = 1
    now: datetime | None = None
    open_concerns: int = 300  # "a few hundred open"
    open_challenges: int = 40
    chronology_entries: int = 1000  # entries on one case (its first); 0 for none

    def check(self) -> None:
        if self.cases < 10:
            raise GenerateError("Generate at least 10 cases")
        if self.shares < 0 or self.open_concerns < 0 or self.open_challenges < 0:
            raise GenerateError("Counts must not be negative")
        fixed = self.chronology_entries // 2 + self.open_concerns
        if fixed > self.shares:
            raise GenerateError(
                f"--shares must be at least {fixed}: the chronology case's shares and the open "
                "concerns count in it"
            )


# --- Writing ------------------------------------------------------------------------------------

ORDER: tuple[type, ...] = (
    Agency,
    Person,
    NamedLead,
    Case,
    CaseAgency,
    CaseLink,
    Share,
    ShareVersion,
    ShareRecipient,
    ConcernResponse,
    CaseNote,
    CaseNoteVersion,
    ThresholdView,
    Challenge,
    ChallengeEvidence,
    ChallengeEvent,
    Alert,
)


class _Writer:
    """Buffers rows per table and writes them in foreign-key order, a batch at a time."""

    def __init__(self) -> None:
        self.buffers: dict[type, list[dict]] = {model: [] for model in ORDER}
        self.next_ids: dict[type, int] = {model: 1 for model in ORDER}
        self.counts: Counter = Counter()
        self.buffered = 0
        self.writes = 0
        self.postgres = db.engine.dialect.name == "postgresql"

    def add(self, model: type, row: dict) -> int:
        row["id"] = row_id = self.next_ids[model]
        self.next_ids[model] += 1
        self.buffers[model].append(row)
        self.buffered += 1
        if self.buffered >= BATCH:
            self.flush()
        return row_id

    def flush(self) -> None:
        for model in ORDER:
            rows = self.buffers[model]
            if rows:
                self._write(model.__table__, rows)
                self.counts[model] += len(rows)
                self.buffers[model] = []
        self.buffered = 0
        self.writes += 1
        if self.writes % COMMIT_EVERY == 0:
            db.session.commit()

    def _write(self, table: Table, rows: list[dict]) -> None:
        if not self.postgres:
            db.session.execute(table.insert(), rows)
            return
        columns = list(rows[0])
        cursor = db.session.connection().connection.driver_connection.cursor()
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])

    def finish(self) -> None:
        self.flush()
        if self.postgres:
            for model in ORDER:
                name = model.__table__.name  # from the models, never from input
                sequence = f"pg_get_serial_sequence('\"{name}\"', 'id')"
                highest = f'COALESCE((SELECT max(id) FROM "{name}"), 0) + 1'  # noqa: S608  # nosec B608
                db.session.execute(text(f"SELECT setval({sequence}, {highest}, false)"))
        db.session.commit()


# --- The calendar (workdays.py does the maths; this caches it per local date) -------------------


@cache
def _utc_offset(day: date) -> timedelta:
    noon = datetime.combine(day, time(12))
    return noon - workdays.to_utc(noon)


def _utc(day: date, minutes: int) -> datetime:
    """Local wall-clock time on `day`, `minutes` after midnight, as naive UTC."""
    return datetime.combine(day, time()) + timedelta(minutes=minutes) - _utc_offset(day)


@cache
def _deadline(day: date, days: int) -> datetime:
    return workdays.deadline(_utc(day, 12 * 60), days)


@cache
def _working(day: date) -> bool:
    return workdays.is_working_day(day)


# --- The generator -----------------------------------------------------------------------------


@dataclass
class _Agency:
    id: int
    kind: str
    area: int
    workers: list[int]
    leads: list[int]


class Generator:
    def __init__(self, plan: Plan, progress: Callable[[int], None]) -> None:
        self.plan = plan
        self.progress = progress
        self.pending = 0  # shares written since the progress bar last moved
        self.now = plan.now or clock.now()
        self.today = workdays.to_local(self.now).date()
        self.start = self.today - timedelta(days=365 * YEARS)
        self.out = _Writer()
        self.config = settings.mapping()
        self.rules = procedure.current()
        self.snapshot = self.rules.snapshot()
        self.levels = list(self.config["THRESHOLD_LEVELS"])
        self.days = {
            Priority.STANDARD.value: self.config["CONCERN_DAYS_STANDARD"],
            Priority.URGENT.value: self.config["CONCERN_DAYS_URGENT"],
        }
        self.agencies: list[_Agency] = []
        self.by_id: dict[int, _Agency] = {}
        self.partnership: _Agency | None = None
        self.cases: list[tuple[int, datetime, date, list[int], bool]] = []

    # helpers
    def _day_in(self, rng: random.Random, first: date, last: date) -> date:
        span = max((last - first).days, 0)
        day = first + timedelta(days=rng.randint(0, span))
        # Most sharing happens on working days.
        if not _working(day) and rng.random() < 0.85:
            for step in range(1, 5):
                if day - timedelta(days=step) >= first and _working(day - timedelta(days=step)):
                    return day - timedelta(days=step)
        return day

    def _moment(self, rng: random.Random, day: date) -> datetime:
        moment = _utc(day, rng.randint(8 * 60, 18 * 60))
        return moment if moment < self.now else self.now - timedelta(minutes=rng.randint(1, 90))

    def _advance(self, shares: int) -> None:
        self.pending += shares
        if self.pending >= 5000:  # moving the bar per case would cost more than the case
            self.progress(self.pending)
            self.pending = 0

    def _worker(self, rng: random.Random, agency_id: int) -> int:
        return rng.choice(self.by_id[agency_id].workers)

    def _lead(self, agency_id: int, stage: int = 1) -> int:
        leads = self.by_id[agency_id].leads
        return leads[(stage - 1) % len(leads)]

    def _person_name(self, rng: random.Random) -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    # agencies and people
    def agencies_and_people(self, rng: random.Random) -> None:
        areas = AREAS[: max(1, min(len(AREAS), self.plan.cases // 2000))]
        created = self.now - timedelta(days=365 * YEARS + 30)
        specs = [(area, kind) for area in range(len(areas)) for kind in KIND_WEIGHTS]
        specs.append((-1, AgencyKind.PARTNERSHIP))
        for area, kind in specs:
            name = (
                "Partnership Business Unit"
                if kind == AgencyKind.PARTNERSHIP
                else f"{areas[area]} {kind.label}"
            )
            slug = name.lower().replace(" ", "-").replace("'", "")
            agency_id = self.out.add(
                Agency,
                {
                    "name": name,
                    "kind": kind.value,
                    "secure_mailbox": f"safeguarding@{slug}.example",
                    "public_authority": kind.usually_public_authority,
                    "active": True,
                    "created_at": created,
                },
            )
            agency = _Agency(agency_id, kind.value, area, [], [])
            roles = [Role.WORKER] * WORKERS_PER_AGENCY + [Role.LEAD] * LEADS_PER_AGENCY
            if kind == AgencyKind.PARTNERSHIP:
                roles = [Role.LEAD] * LEADS_PER_AGENCY + [Role.AUDITOR] * 3 + [Role.ADMIN] * 2
                self.partnership = agency
            for role in roles:
                person_id = self.out.next_ids[Person]
                self.out.add(
                    Person,
                    {
                        "name": self._person_name(rng),
                        "email": f"{role.value}{person_id}@{slug}.example",
                        "agency_id": agency_id,
                        "role": role.value,
                        "active": True,
                        "away": False,
                        "password_hash": None,  # nosec B105
                        "invite_token_hash": None,  # nosec B105
                        "invite_expires_at": None,
                        "session_token": f"{rng.getrandbits(128):032x}",
                        "totp_secret": None,  # nosec B105
                        "totp_confirmed_at": None,
                        "totp_last_step": None,
                        "created_at": created,
                    },
                )
                (agency.leads if role == Role.LEAD else agency.workers).append(person_id)
            self.agencies.append(agency)
            self.by_id[agency_id] = agency
        for agency in self.agencies:
            stages = [self.rules.last_stage] if agency is self.partnership else [1, 2, 3]
            for stage in stages:
                self.out.add(
                    NamedLead,
                    {
                        "agency_id": agency.id,
                        "stage": stage,
                        "lead_id": self._lead(agency.id, stage),
                        "deputy_id": self._lead(agency.id, stage + 1),
                        "started_at": created,
                        "started_by_id": None,
                        "ended_at": None,
                        "ended_by_id": None,
                    },
                )
        self.out.flush()

    # cases, their agencies, notes and threshold views (independent of --shares)
    def cases_and_notes(self, rng: random.Random) -> None:
        prefix = self.config["CASE_REFERENCE_PREFIX"]
        per_year: Counter = Counter()
        by_area: dict[int, list[_Agency]] = {}
        for agency in self.agencies:
            if agency is not self.partnership:
                by_area.setdefault(agency.area, []).append(agency)
        span = (self.today - self.start).days
        for number in range(self.plan.cases):
            # Case ids grow with time, like real ones; the first is the long-running case whose
            # chronology the benchmark reads, opened at the start and still open.
            day = self.start + timedelta(days=span * number // self.plan.cases)
            created_at = self._moment(rng, day)
            age = (self.today - day).days
            open_case = number == 0 or rng.random() < (0.3 if age > 730 else 0.85)
            area = by_area[rng.randrange(len(by_area))]
            count = min(len(area), rng.choice((2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8)))
            chosen: list[_Agency] = []
            weights = [KIND_WEIGHTS[AgencyKind(a.kind)] for a in area]
            while len(chosen) < count:
                pick = rng.choices(area, weights)[0]
                if pick not in chosen:
                    chosen.append(pick)
            lead = chosen[0]
            creator = self._worker(rng, lead.id)
            per_year[day.year] += 1
            case_id = self.out.add(
                Case,
                {
                    "reference": f"{prefix}-{day.year}-{per_year[day.year]:05d}",
                    "child_name": self._person_name(rng),
                    "date_of_birth": day - timedelta(days=rng.randint(0, 16 * 365)),
                    "lead_agency_id": lead.id,
                    "lead_professional_id": creator,
                    "status": "open" if open_case else "closed",
                    "created_at": created_at,
                    "created_by_id": creator,
                },
            )
            ids = [a.id for a in chosen]
            for agency_id in ids:
                self.out.add(
                    CaseAgency,
                    {
                        "case_id": case_id,
                        "agency_id": agency_id,
                        "added_at": created_at,
                        "added_by_id": creator,
                        "removed_at": None,
                        "removed_by_id": None,
                        "removal_reason": None,
                    },
                )
            if len(ids) > 2 and rng.random() < 0.03:  # an agency that stepped away, kept visible
                gone = ids.pop()
                self.out.add(
                    CaseAgency,
                    {
                        "case_id": case_id,
                        "agency_id": gone,
                        "added_at": created_at,
                        "added_by_id": creator,
                        "removed_at": created_at + timedelta(days=30),
                        "removed_by_id": creator,
                        "removal_reason": "No longer working with the family",
                    },
                )
            if number and rng.random() < 0.05:  # siblings
                sibling = case_id - 1
                for a, b in ((case_id, sibling), (sibling, case_id)):
                    self.out.add(
                        CaseLink,
                        {
                            "case_id": a,
                            "linked_case_id": b,
                            "created_at": created_at,
                            "created_by_id": creator,
                        },
                    )
            self.cases.append((case_id, created_at, day, ids, open_case))
            if number == 0:
                continue  # its notes come with its chronology
            last = min(self.today, day + timedelta(days=730))
            for _ in range(rng.choice((0, 1, 2, 2, 3))):
                self._note(rng, case_id, ids, self._day_in(rng, day, last))
            if open_case and rng.random() < 0.8:  # most open cases have recent lived experience
                recent = self._day_in(rng, max(day, self.today - timedelta(days=20)), self.today)
                self._note(rng, case_id, ids, recent, NoteKind.LIVED_EXPERIENCE)
            if rng.random() < 0.5:
                level = rng.choice(self.levels)
                for agency_id in ids[: rng.choice((1, 2))]:
                    if rng.random() < 0.15:  # agencies that disagree: a prompt to challenge
                        level = rng.choice(self.levels)
                    self._threshold(rng, case_id, agency_id, day, last, level)

    def _note(self, rng, case_id, ids, day, kind: NoteKind | None = None) -> int:
        kind = kind or rng.choice(list(NoteKind))
        agency_id = rng.choice(ids)
        person = self._worker(rng, agency_id)
        at = min(self._moment(rng, day) + timedelta(hours=2), self.now)
        note_id = self.out.add(
            CaseNote,
            {
                "case_id": case_id,
                "kind": kind.value,
                "agency_id": agency_id,
                "recorded_by_id": person,
                "recorded_at": at,
            },
        )
        themes = Theme.LIVED_EXPERIENCE.value if kind == NoteKind.LIVED_EXPERIENCE else ""
        self.out.add(
            CaseNoteVersion,
            {
                "note_id": note_id,
                "number": 1,
                "occurred_on": day,
                "text": NOTE_TEXTS[kind],
                "themes": themes,
                "recorded_by_id": person,
                "recorded_at": at,
                "reason": None,
            },
        )
        return note_id

    def _threshold(self, rng, case_id, agency_id, first, last, level) -> int:
        return self.out.add(
            ThresholdView,
            {
                "case_id": case_id,
                "agency_id": agency_id,
                "level": level,
                "reason": "Assessment of need at the latest review.",
                "recorded_by_id": self._worker(rng, agency_id),
                "recorded_at": self._moment(rng, self._day_in(rng, first, last)),
            },
        )

    # shares
    def _share(
        self,
        rng: random.Random,
        case_id: int,
        ids: list[int],
        day: date,
        *,
        needs_response: bool,
        state: str | None = None,
        recipients: int | None = None,
        late_rate: float = HISTORY_LATE_RATE,
    ) -> tuple[int, list[tuple[int, int, datetime | None]], datetime, int]:
        """One share and its recipients. state=None answers every concern (history)."""
        from_agency = rng.choice(ids)
        others = [a for a in ids if a != from_agency]
        to = rng.sample(others, min(len(others), recipients or rng.choice((1, 1, 1, 2, 2, 3))))
        shared_at = self._moment(rng, day)
        received = rng.random() < 0.15
        recorder_agency = to[0] if received else from_agency
        recorder = self._worker(rng, recorder_agency)
        recorded_at = min(shared_at + timedelta(minutes=rng.randint(5, 240)), self.now)
        urgent = needs_response and rng.random() < 0.1
        priority = Priority.URGENT.value if urgent else Priority.STANDARD.value
        share_id = self.out.add(
            Share,
            {
                "case_id": case_id,
                "from_agency_id": from_agency,
                "recorded_as": "received" if received else "sent",
                "recorded_by_id": recorder,
                "recorded_by_agency_id": recorder_agency,
                "recorded_at": recorded_at,
                "needs_response": needs_response,
                "priority": priority,
            },
        )
        consent = rng.choices(list(Consent), (50, 35, 15))[0]
        basis = rng.choices(
            (LawfulBasis.PUBLIC_TASK, LawfulBasis.LEGAL_OBLIGATION, LawfulBasis.CONSENT),
            (80, 15, 5),
        )[0]
        if basis == LawfulBasis.CONSENT and consent == Consent.REFUSED:
            basis = LawfulBasis.PUBLIC_TASK  # consent refused cannot be the basis
        special = rng.random() < 0.3
        version = {
            "share_id": share_id,
            "number": 1,
            "shared_at": shared_at,
            "from_person_name": self._person_name(rng),
            "method": rng.choice(list(ShareMethod)).value,
            "summary": rng.choice(SUMMARIES),
            "purpose": rng.choice(PURPOSES),
            "lawful_basis": basis.value,
            "special_category": special,
            "special_category_circumstance": rng.choice(list(SpecialCategoryCircumstance)).value
            if special
            else None,
            "identifier_absent": IdentifierAbsent.UNKNOWN.value,
            "consent": consent.value,
            "consent_reason": None
            if consent == Consent.GIVEN
            else "Seeking consent would place the child at risk.",
            "themes": ",".join(t.value for t in rng.sample(list(Theme), rng.choice((0, 1, 1, 2)))),
            "recorded_by_id": recorder,
            "recorded_at": recorded_at,
            "reason": None,
        }
        self.out.add(ShareVersion, version)
        if rng.random() < 0.02:  # a correction: a second version with a reason
            self.out.add(
                ShareVersion,
                {
                    **version,
                    "number": 2,
                    "summary": version["summary"] + " (date of the incident corrected)",
                    "recorded_at": min(recorded_at + timedelta(days=1), self.now),
                    "reason": "The date of the incident was wrong.",
                },
            )
        due = _deadline(day, self.days[priority]) if needs_response else None
        concerns = []
        for agency_id in to:
            concern_state = state or (
                ConcernState.RESPONDED.value if needs_response else ConcernState.NOT_NEEDED.value
            )
            row = {
                "share_id": share_id,
                "agency_id": agency_id,
                "people_names": None,
                "state": concern_state,
                "due_at": due,
                "acknowledged_at": None,
                "acknowledged_by_id": None,
                "responded_at": None,
            }
            if concern_state == ConcernState.ACKNOWLEDGED.value:
                row["acknowledged_at"] = min(shared_at + timedelta(hours=3), self.now)
                row["acknowledged_by_id"] = self._worker(rng, agency_id)
            late_by = None
            if concern_state == ConcernState.RESPONDED.value:
                if rng.random() < late_rate:
                    days = rng.choice((1, 1, 1, 2, 2, 3, 5, 8, 15))
                    late_by = timedelta(days=days, hours=rng.randint(0, 6))
                    answered = due + late_by
                else:
                    answered = shared_at + (due - shared_at) * rng.uniform(0.05, 0.95)
                row["responded_at"] = answered = min(answered, self.now)
                late_by = late_by if answered > due else None
            recipient_id = self.out.add(ShareRecipient, row)
            if row["responded_at"]:
                self.out.add(
                    ConcernResponse,
                    {
                        "recipient_id": recipient_id,
                        "number": 1,
                        "action_taken": rng.choice(RESPONSES),
                        "next_steps": None,
                        "recorded_by_id": self._worker(rng, agency_id),
                        "recorded_at": row["responded_at"],
                        "reason": None,
                    },
                )
            concerns.append((recipient_id, agency_id, due))
            if late_by is not None:
                self._late_concern(share_id, recipient_id, case_id, agency_id, from_agency, due)
                self._no_response_challenge(
                    rng, case_id, recipient_id, from_agency, agency_id, due, row["responded_at"]
                )
        return share_id, concerns, shared_at, from_agency

    def _late_concern(self, share_id, recipient_id, case_id, agency_id, from_agency, due) -> None:
        """The overdue alerts the sweep raised for it, delivered."""
        event = f"concern:{recipient_id}:overdue"
        for person in {self._lead(agency_id), self._lead(from_agency)}:
            self._alert(
                person,
                AlertKind.CONCERN_OVERDUE,
                event,
                f"/shares/{share_id}",
                case_id,
                due + timedelta(minutes=5),
                sent=True,
            )

    def _alert(self, person, kind, event, link, case_id, at, sent: bool) -> None:
        self.out.add(
            Alert,
            {
                "recipient_id": person,
                "kind": kind.value,
                "subject": "Generated alert",
                "link": link,
                "case_id": case_id,
                "event": event,
                "created_at": at,
                "read_at": at + timedelta(hours=1) if sent else None,
                "urgent": False,
                "status": (DeliveryStatus.SENT if sent else DeliveryStatus.PENDING).value,
                "attempts": 1 if sent else 0,
                "next_attempt_at": at,
                "last_error": None,
                "sent_at": at if sent else None,
            },
        )

    def _challenge(
        self,
        rng: random.Random,
        case_id: int,
        raised_by_agency: int,
        about_agency: int,
        raised_at: datetime,
        *,
        kind: str,
        stage: int,
        closed_at: datetime | None,
        status: str,
        urgent: bool = False,
        concern_id: int | None = None,
    ) -> int:
        """A challenge that reached `stage`, with its raise and escalation events (and its end)."""
        raiser = self._worker(rng, raised_by_agency)
        at, events = raised_at, []
        for number in range(1, stage + 1):
            due = workdays.deadline(at, self.rules.stage(number).days(urgent))
            kind_event = EventKind.RAISED if number == 1 else EventKind.ESCALATED
            events.append((kind_event, at, number - 1 or None, number, due))
            if number < stage:
                at = due + timedelta(minutes=5)  # escalated by the sweep when the stage expired
        challenge_id = self.out.add(
            Challenge,
            {
                "case_id": case_id,
                "raised_by_id": raiser,
                "raised_by_agency_id": raised_by_agency,
                "about_agency_id": about_agency,
                "raised_at": raised_at,
                "kind": kind,
                "what_happened": "Generated: a disagreement about the response to a concern.",
                "outcome_wanted": "A response recorded in the tracker.",
                "urgent": urgent,
                "immediate_risk": False,
                "risk_advice_shown_at": None,
                "stage": stage,
                "stage_started_at": at,
                "stage_due_at": events[-1][4],
                "status": status,
                "closed_at": closed_at,
                "procedure_version": self.rules.version,
                "procedure_snapshot": self.snapshot,
                "concern_id": concern_id,
                "threshold_view_id": None,
            },
        )
        for kind_event, moment, from_stage, to_stage, due in events:
            automatic = kind_event == EventKind.ESCALATED
            self.out.add(
                ChallengeEvent,
                self._event(
                    challenge_id,
                    kind_event,
                    moment,
                    None if automatic else raiser,
                    from_stage,
                    to_stage,
                    due,
                ),
            )
        if closed_at is not None:
            end = EventKind.RESOLVED if status == ChallengeStatus.RESOLVED else EventKind.WITHDRAWN
            self.out.add(
                ChallengeEvent,
                self._event(challenge_id, end, closed_at, self._lead(about_agency), stage, None),
            )
        return challenge_id

    def _event(self, challenge_id, kind, at, person, from_stage, to_stage, due=None) -> dict:
        return {
            "challenge_id": challenge_id,
            "at": at,
            "kind": kind.value,
            "person_id": person,
            "actor_label": None if person else "scheduler",
            "automatic": person is None,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "deadline_set": due,
            "text": "Stage deadline passed without an outcome"
            if person is None
            else "Generated event.",
            "unnamed_warning": None,
            "learning_themes": Theme.PROFESSIONAL_CHALLENGE.value
            if kind == EventKind.RESOLVED
            else None,
            "practice_issue": (kind == EventKind.RESOLVED) or None,
        }

    def _no_response_challenge(self, rng, case_id, concern_id, from_agency, agency_id, due, done):
        """The sweep opened it when the concern went overdue; the response (or not) ended it."""
        raised = due + timedelta(minutes=5)
        stage, at = 1, raised
        while stage < self.rules.last_stage:
            stage_due = workdays.deadline(at, self.rules.stage(stage).days(False))
            if stage_due >= done:
                break
            at, stage = stage_due, stage + 1
        status = ChallengeStatus.RESOLVED if rng.random() < 0.9 else ChallengeStatus.WITHDRAWN
        self._challenge(
            rng,
            case_id,
            from_agency,
            agency_id,
            raised,
            kind=ChallengeKind.NO_RESPONSE.value,
            stage=stage,
            closed_at=done,
            status=status.value,
            concern_id=concern_id,
        )

    def history(self, rng: random.Random) -> None:
        """Every share not in the open set: answered (most on time), or needing no response."""
        chronology_shares = self.plan.chronology_entries // 2
        spread = self.plan.shares - chronology_shares - self.plan.open_concerns
        per_case = Counter(rng.choices(range(1, len(self.cases)), k=spread)) if spread else {}
        for index, (case_id, _, day, ids, open_case) in enumerate(self.cases):
            if index == 0:
                if chronology_shares:
                    self._chronology_case(rng, case_id, ids, day)
                continue
            count = per_case.get(index, 0)
            last = self.today if open_case else min(self.today, day + timedelta(days=730))
            for _ in range(count):
                share_day = self._day_in(rng, day, last)
                self._share(rng, case_id, ids, share_day, needs_response=rng.random() < 0.4)
            self._advance(count)
            if rng.random() < 0.02:  # challenges of other kinds, long since ended
                about, raised_by = rng.sample(ids, 2)
                raised_at = self._moment(rng, self._day_in(rng, day, last))
                stage = rng.choice((1, 1, 1, 2, 2, 3, 4))
                status = rng.choice((ChallengeStatus.RESOLVED, ChallengeStatus.WITHDRAWN))
                closed = raised_at + timedelta(days=9 * stage)
                if closed < self.now:
                    self._challenge(
                        rng,
                        case_id,
                        raised_by,
                        about,
                        raised_at,
                        kind=rng.choice(list(ChallengeKind)).value,
                        stage=stage,
                        closed_at=closed,
                        status=status.value,
                    )

    def _chronology_case(self, rng, case_id, ids, day) -> None:
        """A long-running case with `chronology_entries` entries: shares, half needing a response
        from one agency (each answered: a response entry), and notes and threshold views."""
        entries = self.plan.chronology_entries
        shares = entries // 2
        answered = shares // 2
        views = entries // 20
        for number in range(shares):
            share_day = self._day_in(rng, day, self.today - timedelta(days=30))
            self._share(
                rng,
                case_id,
                ids,
                share_day,
                needs_response=number < answered,
                recipients=1,
                late_rate=0,  # a late answer would add a challenge: the count stays exact
            )
        for _ in range(entries - shares - answered - views):
            self._note(rng, case_id, ids, self._day_in(rng, day, self.today))
        for _ in range(views):
            level = rng.choice(self.levels)
            self._threshold(rng, case_id, rng.choice(ids), day, self.today, level)
        self._advance(shares)

    # the open set (independent of --shares)
    def open_set(self, rng: random.Random) -> None:
        open_cases = [c for c in self.cases[1:] if c[4]]
        if not open_cases:
            return
        # Concerns shared over the last ten days, still awaiting a response: some not yet due,
        # some due soon, some overdue (those older than a day already have the sweep's alerts and
        # challenge; the newest overdue ones are the sweep's next job).
        for _ in range(self.plan.open_concerns):
            case_id, _, case_day, ids, _ = rng.choice(open_cases)
            day = self._day_in(rng, max(case_day, self.today - timedelta(days=10)), self.today)
            state = rng.choices(
                (ConcernState.AWAITING.value, ConcernState.ACKNOWLEDGED.value), (8, 2)
            )[0]
            share_id, concerns, shared_at, from_agency = self._share(
                rng, case_id, ids, day, needs_response=True, state=state, recipients=1
            )
            for recipient_id, agency_id, due in concerns:
                if due < self.now - timedelta(days=1):
                    self._late_concern(share_id, recipient_id, case_id, agency_id, from_agency, due)
                    self._open_challenge(
                        rng,
                        case_id,
                        from_agency,
                        agency_id,
                        due + timedelta(minutes=5),
                        kind=ChallengeKind.NO_RESPONSE.value,
                        concern_id=recipient_id,
                    )
        # Challenges of other kinds, open at every stage, some past their stage deadline.
        for _ in range(self.plan.open_challenges):
            case_id, _, case_day, ids, _ = rng.choice(open_cases)
            raised_by, about = rng.sample(ids, 2)
            day = self._day_in(rng, max(case_day, self.today - timedelta(days=40)), self.today)
            self._open_challenge(
                rng,
                case_id,
                raised_by,
                about,
                self._moment(rng, day),
                kind=rng.choice(list(ChallengeKind)).value,
                urgent=rng.random() < 0.2,
            )
        self.out.flush()

    def _open_challenge(self, rng, case_id, raised_by, about, raised_at, *, kind, **extra):
        """Open at the stage the sweep would have brought it to by now (or one short of it)."""
        urgent = extra.get("urgent", False)
        stage, at = 1, raised_at
        while stage < self.rules.last_stage:
            due = workdays.deadline(at, self.rules.stage(stage).days(urgent))
            if due >= self.now or rng.random() < 0.15:  # some stages await the next sweep
                break
            at, stage = due + timedelta(minutes=5), stage + 1
        self._challenge(
            rng,
            case_id,
            raised_by,
            about,
            raised_at,
            kind=kind,
            stage=stage,
            closed_at=None,
            status=ChallengeStatus.OPEN.value,
            **extra,
        )

    def record(self, what: str, model: type, first: int) -> None:
        last = self.out.next_ids[model] - 1
        audit.record(
            f"generate.{what}",
            object_kind=model.__table__.name,
            changes={"count": [None, last - first + 1], "ids": [None, [first, last]]},
            reason="flask tracker generate: generated data, one event per kind of record",
            actor_label="generator",
        )


def is_empty() -> tuple[bool, str]:
    counts = {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("agencies", Agency),
            ("people", Person),
            ("cases", Case),
            ("audit events", AuditEvent),
        )
    }
    found = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    return not found, found


def generate(plan: Plan, progress: Callable[[int], None] = lambda n: None) -> dict:
    """Fill an empty database (GenerateError otherwise). Returns what was written, by table."""
    plan.check()
    empty, found = is_empty()
    if not empty:
        raise GenerateError(
            f"The database is not empty ({found}): generate fills an empty, migrated database "
            "only, so generated rows never mix with real ones."
        )
    run = Generator(plan, progress)
    audit.record(
        "generate.run",
        object_kind="database",
        changes={
            "cases": [None, plan.cases],
            "shares": [None, plan.shares],
            "seed": [None, plan.seed],
            "now": [None, run.now],
            "open_concerns": [None, plan.open_concerns],
            "open_challenges": [None, plan.open_challenges],
            "chronology_entries": [None, plan.chronology_entries],
        },
        reason="flask tracker generate",
        actor_label="generator",
    )
    db.session.commit()
    streams = [
        random.Random(f"{plan.seed}:{name}")  # noqa: S311 (test data, not secrets)  # nosec B311
        for name in ("people", "cases", "history")
    ]
    run.agencies_and_people(streams[0])
    run.cases_and_notes(streams[1])
    run.out.flush()
    run.history(streams[2])
    run.open_set(random.Random(f"{plan.seed}:open"))  # noqa: S311  # nosec B311
    progress(run.pending)
    run.out.finish()
    for model in ORDER:
        if run.out.counts[model]:
            run.record(model.__table__.name, model, 1)
    db.session.commit()
    analyse()
    return {model.__table__.name: run.out.counts[model] for model in ORDER}


def analyse() -> None:
    """PostgreSQL: fresh planner statistics (after a bulk load it otherwise guesses until
    autovacuum runs). SQLite is left without them, as the app leaves it: this build keeps only
    averages (no STAT4), which hide how rare open concerns are and steer the concern lists to
    scan every share; without statistics it trusts the indexes, which is right here."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def open_set_summary(now: datetime) -> Iterator[str]:
    """Counts a person checking the spread wants to see (printed by the command)."""
    from tracker.models import OPEN_CONCERN_STATES

    open_concerns = select(func.count()).where(ShareRecipient.state.in_(OPEN_CONCERN_STATES))
    yield f"open concerns: {db.session.scalar(open_concerns)}"
    overdue = open_concerns.where(ShareRecipient.due_at < now)
    yield f"  of which overdue: {db.session.scalar(overdue)}"
    rows = db.session.execute(
        select(Challenge.status, Challenge.stage, func.count())
        .group_by(Challenge.status, Challenge.stage)
        .order_by(Challenge.status, Challenge.stage)
    )
    yield "challenges: " + ", ".join(f"{s} at stage {n}: {c}" for s, n, c in rows)
