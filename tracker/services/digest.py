"""The weekly digest: open cases that need attention, by the agency that leads them.

Two of the learning themes the tracker watches for: no recent record of the child's lived
experience (notes.stale_lived_experience_cases) and agencies whose threshold views disagree
(notes.disagreeing_cases). The sweep alerts each agency's leads once a week; the inbox's digest
page lists the cases behind the alert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Case, CaseStatus, Person
from tracker.services import notes, workdays

STALE_LIVED_EXPERIENCE = "No recent record of the child's lived experience"
THRESHOLDS_DISAGREE = "Agencies' threshold views disagree"
CHUNK = 500


def digest_week(now: datetime) -> str:
    year, week, _ = workdays.to_local(now).date().isocalendar()
    return f"{year}-W{week:02d}"


def digest_cases(now: datetime) -> dict[int, dict[int, list[str]]]:
    """{agency: {case id: reasons}}: open cases needing attention, by lead professional's agency."""
    today = workdays.to_local(now).date()
    reasons: dict[int, list[str]] = defaultdict(list)
    stale = notes.stale_lived_experience_cases(today).with_only_columns(Case.id)
    for case_id in db.session.scalars(stale):
        reasons[case_id].append(STALE_LIVED_EXPERIENCE)
    disagreeing = select(Case.id).where(
        Case.status == CaseStatus.OPEN.value, Case.id.in_(notes.disagreeing_cases())
    )
    for case_id in db.session.scalars(disagreeing):
        reasons[case_id].append(THRESHOLDS_DISAGREE)
    by_agency: dict[int, dict[int, list[str]]] = defaultdict(dict)
    ids = sorted(reasons)
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(Case.id, Case.lead_agency_id, Person.agency_id)
            .outerjoin(Person, Person.id == Case.lead_professional_id)
            .where(Case.id.in_(ids[start : start + CHUNK]))
        )
        for case_id, lead_agency_id, professional_agency_id in rows:
            by_agency[professional_agency_id or lead_agency_id][case_id] = reasons[case_id]
    return by_agency
