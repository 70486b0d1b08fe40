"""Partnership reports: where information sharing and escalation fall short, agency by agency.

Everything is counted in SQL (GROUP BY); Python only turns the grouped rows into percentages and
medians. Working days need the bank-holiday calendar, which SQL does not have, so durations are
grouped by the UTC hour they started and ended in (the offset to London is whole hours, so the
local date of each end is exact) and each distinct pair is converted once.

Definitions (shown on the page too):
- A share belongs to the period by its current version's date shared; a challenge by when raised.
- "Answered within timescale" = responded by the due time, out of the concerns that are either
  answered or already past due (concerns not yet due are not judged).
- "Working days to respond" counts working days after the day shared up to the day answered.
- "Unanswered now" = still awaiting a response past the due time, of the period's concerns.
- The matrix counts, for each pair (waiting agency, owing agency), concerns unanswered now or
  answered late.
- "% resolved at stage 1" = challenges resolved at stage 1 out of all challenges resolved.
- Decisions not to share belong to the period by when decided, counted once per agency the
  information was considered for.
- "Working hours to first view" runs from when a share was recorded to the first time someone of
  the receiving agency opened it, in office hours on working days (to the hour), for shares
  recorded in the period; "not yet opened" counts the rest.
- Outcomes recorded belong to the period by when recorded, by the receiving agency.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.sql import ColumnElement

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    OPEN_CONCERN_STATES,
    THEME_LABELS,
    Agency,
    Case,
    CaseNote,
    CaseNoteVersion,
    Challenge,
    ChallengeEvent,
    ChallengeStatus,
    Concern,
    EventKind,
    NoShareDecision,
    NoShareDecisionAgency,
    Share,
    ShareVersion,
    Theme,
)
from tracker.models.share import NO_SHARE_REASON_LABELS, OUTCOME_LABELS, NoShareReason, Outcome
from tracker.services import audit, chronology, notes, workdays

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    start: date
    end: date

    @property
    def start_utc(self) -> datetime:
        return workdays.to_utc(datetime.combine(self.start, time.min))

    @property
    def end_utc(self) -> datetime:
        return workdays.to_utc(datetime.combine(self.end + timedelta(days=1), time.min))

    def contains(self, column) -> ColumnElement[bool]:
        return and_(column >= self.start_utc, column < self.end_utc)


def default_period(today: date | None = None) -> Period:
    today = today or workdays.to_local(clock.now()).date()
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


# --- helpers --------------------------------------------------------------------------------


def _utc_hour(column) -> ColumnElement[str]:
    """The UTC hour of a timestamp as text, 'YYYY-MM-DD HH', on either database."""
    # The format is inlined (not a bound parameter) so PostgreSQL sees the SELECT and GROUP BY
    # expressions as the same.
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM-DD HH24'"))
    return func.strftime(literal_column("'%Y-%m-%d %H'"), column)


def _local_day(hour: str) -> date:
    return workdays.to_local(datetime.strptime(hour, "%Y-%m-%d %H")).date()


def _working_days(start_hour: str, end_hour: str) -> int:
    return workdays.working_days_between(_local_day(start_hour), _local_day(end_hour))


def median(counts: Counter[int]) -> float | None:
    """The median of values given as {value: how many} (the mean of the middle two if even)."""
    total = sum(counts.values())
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in sorted(counts):
        seen += counts[value]
        while middle and middle[0] < seen:
            found.append(value)
            middle.pop(0)
    return (found[0] + found[1]) / 2


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _current_share_dates():
    """(share_id, shared_at) of each share's current version."""
    latest = (
        select(ShareVersion.share_id, func.max(ShareVersion.number).label("number"))
        .group_by(ShareVersion.share_id)
        .subquery()
    )
    return (
        select(ShareVersion.share_id, ShareVersion.shared_at, ShareVersion.themes)
        .join(
            latest,
            and_(
                latest.c.share_id == ShareVersion.share_id,
                latest.c.number == ShareVersion.number,
            ),
        )
        .subquery()
    )


def _count_if(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _agency_names() -> dict[int, str]:
    return dict(db.session.execute(select(Agency.id, Agency.name).order_by(Agency.name)).all())


# --- information sharing by agency ----------------------------------------------------------


@dataclass
class AgencySharing:
    agency_id: int
    agency: str
    sent: int = 0
    received: int = 0
    concerns: int = 0
    on_time: int = 0
    judged: int = 0  # answered, or past due without an answer
    unanswered_now: int = 0
    median_days: float | None = None

    @property
    def on_time_percent(self) -> float | None:
        return percent(self.on_time, self.judged)


def sharing_by_agency(period: Period, now: datetime | None = None) -> list[AgencySharing]:
    now = now or clock.now()
    dates = _current_share_dates()
    in_period = period.contains(dates.c.shared_at)
    rows: dict[int, AgencySharing] = {
        agency_id: AgencySharing(agency_id, name) for agency_id, name in _agency_names().items()
    }

    sent = select(Share.from_agency_id, func.count(Share.id)).join(
        dates, dates.c.share_id == Share.id
    )
    for agency_id, count in db.session.execute(
        sent.where(in_period).group_by(Share.from_agency_id)
    ):
        rows[agency_id].sent = count

    is_concern = Concern.due_at.is_not(None)
    answered = Concern.responded_at.is_not(None)
    overdue_open = and_(Concern.state.in_(OPEN_CONCERN_STATES), Concern.due_at < now)
    received = (
        select(
            Concern.agency_id,
            func.count(Concern.id),
            _count_if(is_concern),
            _count_if(and_(is_concern, answered, Concern.responded_at <= Concern.due_at)),
            _count_if(and_(is_concern, answered)),
            _count_if(and_(is_concern, overdue_open)),
        )
        .join(dates, dates.c.share_id == Concern.share_id)
        .where(in_period)
        .group_by(Concern.agency_id)
    )
    for agency_id, count, concerns, on_time, answered_count, overdue in db.session.execute(
        received
    ):
        row = rows[agency_id]
        row.received, row.concerns, row.on_time = count, concerns, on_time
        row.judged, row.unanswered_now = answered_count + overdue, overdue

    durations: dict[int, Counter[int]] = defaultdict(Counter)
    pairs = (
        select(
            Concern.agency_id,
            _utc_hour(dates.c.shared_at),
            _utc_hour(Concern.responded_at),
            func.count(),
        )
        .join(dates, dates.c.share_id == Concern.share_id)
        .where(in_period, is_concern, answered)
        .group_by(
            Concern.agency_id,
            _utc_hour(dates.c.shared_at),
            _utc_hour(Concern.responded_at),
        )
    )
    for agency_id, shared_hour, answered_hour, count in db.session.execute(pairs):
        durations[agency_id][_working_days(shared_hour, answered_hour)] += count
    for agency_id, counts in durations.items():
        rows[agency_id].median_days = median(counts)
    return [r for r in rows.values() if r.sent or r.received]


# --- who is waiting on whom -----------------------------------------------------------------


@dataclass
class Matrix:
    waiting: list[tuple[int, str]]  # rows: the agency that shared and is waiting
    owing: list[tuple[int, str]]  # columns: the agency that owes the answer
    cells: dict[tuple[int, int], tuple[int, int]] = field(
        default_factory=dict
    )  # (unanswered, late)

    def total(self, waiting_id: int, owing_id: int) -> int:
        return sum(self.cells.get((waiting_id, owing_id), (0, 0)))

    @property
    def highest(self) -> int:
        return max((sum(v) for v in self.cells.values()), default=0)


def waiting_matrix(period: Period, now: datetime | None = None) -> Matrix:
    now = now or clock.now()
    dates = _current_share_dates()
    unanswered = and_(Concern.state.in_(OPEN_CONCERN_STATES), Concern.due_at < now)
    late = Concern.responded_at > Concern.due_at
    query = (
        select(
            Share.from_agency_id,
            Concern.agency_id,
            _count_if(unanswered),
            _count_if(late),
        )
        .join(Concern, Concern.share_id == Share.id)
        .join(dates, dates.c.share_id == Share.id)
        .where(period.contains(dates.c.shared_at), Concern.due_at.is_not(None))
        .group_by(Share.from_agency_id, Concern.agency_id)
    )
    cells = {
        (waiting, owing): (int(open_count), int(late_count))
        for waiting, owing, open_count, late_count in db.session.execute(query)
        if open_count or late_count
    }
    names = _agency_names()
    waiting = sorted({w for w, _ in cells}, key=lambda i: names[i])
    owing = sorted({o for _, o in cells}, key=lambda i: names[i])
    return Matrix([(i, names[i]) for i in waiting], [(i, names[i]) for i in owing], cells)


# --- challenges -----------------------------------------------------------------------------


@dataclass
class ChallengeReport:
    raised: int = 0
    by_stage: dict[int, int] = field(default_factory=dict)  # stage reached -> challenges
    by_outcome: dict[str, int] = field(default_factory=dict)  # open / resolved / withdrawn
    resolved_by_stage: dict[int, int] = field(default_factory=dict)
    median_days_to_resolve: float | None = None
    median_days_by_stage: dict[int, float | None] = field(default_factory=dict)

    @property
    def resolved(self) -> int:
        return self.by_outcome.get(ChallengeStatus.RESOLVED.value, 0)

    @property
    def resolved_at_stage_1_percent(self) -> float | None:
        return percent(self.resolved_by_stage.get(1, 0), self.resolved)


def challenges(period: Period) -> ChallengeReport:
    report = ChallengeReport()
    in_period = period.contains(Challenge.raised_at)
    grouped = (
        select(Challenge.stage, Challenge.status, func.count(Challenge.id))
        .where(in_period)
        .group_by(Challenge.stage, Challenge.status)
    )
    for stage, status, count in db.session.execute(grouped):
        report.raised += count
        report.by_stage[stage] = report.by_stage.get(stage, 0) + count
        report.by_outcome[status] = report.by_outcome.get(status, 0) + count
        if status == ChallengeStatus.RESOLVED.value:
            report.resolved_by_stage[stage] = count
    report.by_stage = dict(sorted(report.by_stage.items()))

    overall: Counter[int] = Counter()
    by_stage: dict[int, Counter[int]] = defaultdict(Counter)
    durations = (
        select(
            Challenge.stage,
            _utc_hour(Challenge.raised_at),
            _utc_hour(Challenge.closed_at),
            func.count(),
        )
        .where(in_period, Challenge.status == ChallengeStatus.RESOLVED.value)
        .group_by(Challenge.stage, _utc_hour(Challenge.raised_at), _utc_hour(Challenge.closed_at))
    )
    for stage, raised_hour, closed_hour, count in db.session.execute(durations):
        days = _working_days(raised_hour, closed_hour)
        overall[days] += count
        by_stage[stage][days] += count
    report.median_days_to_resolve = median(overall)
    report.median_days_by_stage = {s: median(c) for s, c in sorted(by_stage.items())}
    return report


# --- learning themes ------------------------------------------------------------------------


@dataclass
class ThemeCount:
    theme: Theme
    shares: int = 0
    notes: int = 0
    challenges: int = 0

    @property
    def label(self) -> str:
        return THEME_LABELS[self.theme]

    @property
    def total(self) -> int:
        return self.shares + self.notes + self.challenges


def _spread(rows, counts: dict[Theme, ThemeCount], attribute: str) -> None:
    """Grouped (comma-separated themes, count) rows: add each count to each theme named."""
    for themes, count in rows:
        for value in (themes or "").split(","):
            if value in set(Theme):
                theme = counts[Theme(value)]
                setattr(theme, attribute, getattr(theme, attribute) + count)


def themes(period: Period) -> list[ThemeCount]:
    counts = {theme: ThemeCount(theme) for theme in Theme}
    dates = _current_share_dates()
    _spread(
        db.session.execute(
            select(dates.c.themes, func.count())
            .where(period.contains(dates.c.shared_at))
            .group_by(dates.c.themes)
        ),
        counts,
        "shares",
    )
    latest = (
        select(CaseNoteVersion.note_id, func.max(CaseNoteVersion.number).label("number"))
        .group_by(CaseNoteVersion.note_id)
        .subquery()
    )
    _spread(
        db.session.execute(
            select(CaseNoteVersion.themes, func.count())
            .join(
                latest,
                and_(
                    latest.c.note_id == CaseNoteVersion.note_id,
                    latest.c.number == CaseNoteVersion.number,
                ),
            )
            .join(CaseNote, CaseNote.id == CaseNoteVersion.note_id)
            .where(
                CaseNoteVersion.occurred_on >= period.start,
                CaseNoteVersion.occurred_on <= period.end,
            )
            .group_by(CaseNoteVersion.themes)
        ),
        counts,
        "notes",
    )
    _spread(
        db.session.execute(
            select(ChallengeEvent.learning_themes, func.count())
            .where(
                ChallengeEvent.kind == EventKind.RESOLVED.value,
                period.contains(ChallengeEvent.at),
            )
            .group_by(ChallengeEvent.learning_themes)
        ),
        counts,
        "challenges",
    )
    return list(counts.values())


# --- cases needing attention now ------------------------------------------------------------


def stale_lived_experience(today: date | None = None) -> list[tuple[int, str]]:
    """(id, reference) of open cases with no recent record of the child's lived experience."""
    query = notes.stale_lived_experience_cases(today).subquery()
    return [
        (case_id, reference)
        for case_id, reference in db.session.execute(
            select(query.c.id, query.c.reference).order_by(query.c.reference)
        )
    ]


def threshold_disagreements() -> list[tuple[int, str]]:
    """(id, reference) of open cases whose involved agencies' current threshold views differ."""
    query = (
        select(Case.id, Case.reference)
        .where(Case.status == "open", Case.id.in_(notes.disagreeing_cases()))
        .order_by(Case.reference)
    )
    return [(case_id, reference) for case_id, reference in db.session.execute(query)]


# --- the golden rules: decisions not to share, first views, outcomes --------------------------


@dataclass
class NoShareCount:
    reason: str
    agency: str
    decisions: int

    @property
    def reason_label(self) -> str:
        return NO_SHARE_REASON_LABELS[NoShareReason(self.reason)]


def no_share_by_reason(period: Period) -> list[NoShareCount]:
    """Decisions not to share by reason and by the agency the information was considered for."""
    rows = db.session.execute(
        select(NoShareDecision.reason_code, Agency.name, func.count(NoShareDecision.id))
        .join(NoShareDecisionAgency, NoShareDecisionAgency.decision_id == NoShareDecision.id)
        .join(Agency, Agency.id == NoShareDecisionAgency.agency_id)
        .where(period.contains(NoShareDecision.decided_at))
        .group_by(NoShareDecision.reason_code, Agency.name)
        .order_by(NoShareDecision.reason_code, Agency.name)
    )
    return [NoShareCount(*row) for row in rows]


@dataclass
class FirstView:
    agency_id: int
    agency: str
    viewed: int = 0
    not_viewed: int = 0
    median_hours: float | None = None


def _working_hours(start_hour: str, end_hour: str) -> int:
    start = datetime.strptime(start_hour, "%Y-%m-%d %H")
    end = datetime.strptime(end_hour, "%Y-%m-%d %H")
    return round(workdays.working_hours_between(start, end))


def first_views(period: Period) -> list[FirstView]:
    """Time from a share being recorded to its first view, by receiving agency."""
    names = _agency_names()
    rows: dict[int, FirstView] = {}
    in_period = period.contains(Share.recorded_at)
    viewed = Concern.viewed_at.is_not(None)
    for agency_id, seen, unseen in db.session.execute(
        select(Concern.agency_id, _count_if(viewed), _count_if(~viewed))
        .join(Share, Share.id == Concern.share_id)
        .where(in_period)
        .group_by(Concern.agency_id)
    ):
        rows[agency_id] = FirstView(agency_id, names[agency_id], seen, unseen)
    durations: dict[int, Counter[int]] = defaultdict(Counter)
    for agency_id, recorded_hour, viewed_hour, count in db.session.execute(
        select(
            Concern.agency_id,
            _utc_hour(Share.recorded_at),
            _utc_hour(Concern.viewed_at),
            func.count(),
        )
        .join(Share, Share.id == Concern.share_id)
        .where(in_period, viewed)
        .group_by(
            Concern.agency_id,
            _utc_hour(Share.recorded_at),
            _utc_hour(Concern.viewed_at),
        )
    ):
        durations[agency_id][_working_hours(recorded_hour, viewed_hour)] += count
    for agency_id, counts in durations.items():
        rows[agency_id].median_hours = median(counts)
    return sorted(rows.values(), key=lambda r: r.agency)


@dataclass
class OutcomeCounts:
    agency: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


OUTCOMES = [(o.value, OUTCOME_LABELS[o]) for o in Outcome]


def outcomes_by_agency(period: Period) -> list[OutcomeCounts]:
    rows: dict[str, OutcomeCounts] = {}
    for name, outcome, count in db.session.execute(
        select(Agency.name, Concern.outcome, func.count(Concern.id))
        .join(Agency, Agency.id == Concern.agency_id)
        .where(period.contains(Concern.outcome_at))
        .group_by(Agency.name, Concern.outcome)
    ):
        rows.setdefault(name, OutcomeCounts(name)).counts[outcome] = count
    return sorted(rows.values(), key=lambda r: r.agency)


# --- the whole report, its audit event and its CSV files --------------------------------------


@dataclass
class PartnershipReport:
    period: Period
    sharing: list[AgencySharing]
    matrix: Matrix
    challenges: ChallengeReport
    themes: list[ThemeCount]
    stale: list[tuple[int, str]]
    disagreements: list[tuple[int, str]]
    no_share: list[NoShareCount] = field(default_factory=list)
    first_views: list[FirstView] = field(default_factory=list)
    outcomes: list[OutcomeCounts] = field(default_factory=list)


def build(period: Period) -> PartnershipReport:
    return PartnershipReport(
        period=period,
        sharing=sharing_by_agency(period),
        matrix=waiting_matrix(period),
        challenges=challenges(period),
        themes=themes(period),
        stale=stale_lived_experience(),
        disagreements=threshold_disagreements(),
        no_share=no_share_by_reason(period),
        first_views=first_views(period),
        outcomes=outcomes_by_agency(period),
    )


def record_view(report: PartnershipReport, what: str = "report.view") -> None:
    """Reports name cases (stale lived experience, disagreements): the view is audited."""
    shown = sorted({case_id for case_id, _ in [*report.stale, *report.disagreements]})
    audit.record(
        what,
        object_kind="report",
        changes={
            "period": [None, [report.period.start, report.period.end]],
            "cases_named": [None, shown],
        },
    )
    db.session.commit()


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([chronology.neutralise(_format(v)) for v in row])
    return out.getvalue()


def sharing_csv(report: PartnershipReport) -> str:
    return _csv(
        [
            "Agency",
            "Shares sent",
            "Shares received",
            "Concerns received",
            "Answered within timescale",
            "Judged (answered or past due)",
            "Answered within timescale %",
            "Median working days to respond",
            "Unanswered now",
        ],
        [
            [
                r.agency,
                r.sent,
                r.received,
                r.concerns,
                r.on_time,
                r.judged,
                r.on_time_percent,
                r.median_days,
                r.unanswered_now,
            ]
            for r in report.sharing
        ],
    )


def matrix_csv(report: PartnershipReport) -> str:
    m = report.matrix
    return _csv(
        ["Waiting agency (shared)", "Owing agency (to answer)", "Unanswered now", "Answered late"],
        [
            [w_name, o_name, *m.cells[(w, o)]]
            for w, w_name in m.waiting
            for o, o_name in m.owing
            if (w, o) in m.cells
        ],
    )


def challenges_csv(report: PartnershipReport) -> str:
    c = report.challenges
    rows = [["Challenges raised", "", c.raised]]
    rows += [["Stage reached", stage, count] for stage, count in c.by_stage.items()]
    rows += [["Outcome", outcome, count] for outcome, count in sorted(c.by_outcome.items())]
    rows += [["Resolved at stage", stage, n] for stage, n in sorted(c.resolved_by_stage.items())]
    rows += [["Median working days to resolve", "all", c.median_days_to_resolve]]
    rows += [
        ["Median working days to resolve", f"stage {stage}", days]
        for stage, days in c.median_days_by_stage.items()
    ]
    rows += [["Resolved at stage 1 %", "", c.resolved_at_stage_1_percent]]
    return _csv(["Measure", "Group", "Value"], rows)


def themes_csv(report: PartnershipReport) -> str:
    return _csv(
        ["Learning theme", "Shares", "Case notes", "Challenges", "Total"],
        [[t.label, t.shares, t.notes, t.challenges, t.total] for t in report.themes],
    )


def cases_csv(report: PartnershipReport) -> str:
    return _csv(
        ["Case reference", "Flag"],
        [[ref, "No recent record of the child's lived experience"] for _, ref in report.stale]
        + [[ref, "Threshold views disagree"] for _, ref in report.disagreements],
    )


def no_share_csv(report: PartnershipReport) -> str:
    return _csv(
        ["Reason", "Agency considered for", "Decisions not to share"],
        [[r.reason_label, r.agency, r.decisions] for r in report.no_share],
    )


def first_views_csv(report: PartnershipReport) -> str:
    return _csv(
        ["Receiving agency", "Opened", "Not yet opened", "Median working hours to first view"],
        [[r.agency, r.viewed, r.not_viewed, r.median_hours] for r in report.first_views],
    )


def outcomes_csv(report: PartnershipReport) -> str:
    return _csv(
        ["Receiving agency", *(label for _, label in OUTCOMES), "Total"],
        [
            [r.agency, *(r.counts.get(value, 0) for value, _ in OUTCOMES), r.total]
            for r in report.outcomes
        ],
    )


EXPORTS = {
    "sharing": sharing_csv,
    "matrix": matrix_csv,
    "challenges": challenges_csv,
    "themes": themes_csv,
    "cases": cases_csv,
    "no-share": no_share_csv,
    "first-views": first_views_csv,
    "outcomes": outcomes_csv,
}
