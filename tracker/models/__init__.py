"""All models, imported here so Alembic and the app see one complete metadata."""

from tracker.models.agency import AGENCY_KIND_LABELS, Agency, AgencyKind
from tracker.models.audit import AuditEvent
from tracker.models.case import Case, CaseAgency, CaseLink, CaseStatus
from tracker.models.person import Person, Role, SignInAttempt

__all__ = [
    "AGENCY_KIND_LABELS",
    "Agency",
    "AgencyKind",
    "AuditEvent",
    "Case",
    "CaseAgency",
    "CaseLink",
    "CaseStatus",
    "Person",
    "Role",
    "SignInAttempt",
]
