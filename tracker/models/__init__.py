"""All models, imported here so Alembic and the app see one complete metadata."""

from tracker.models.agency import AGENCY_KIND_LABELS, Agency, AgencyKind
from tracker.models.alert import ALERT_KIND_LABELS, Alert, AlertKind, DeliveryStatus
from tracker.models.api_token import ApiAuthFailure, ApiRateWindow, ApiToken, IdempotencyRecord
from tracker.models.audit import AuditCheckpoint, AuditContent, AuditEvent, AuditNode
from tracker.models.case import Case, CaseAgency, CaseLink, CaseStatus
from tracker.models.challenge import (
    CHALLENGE_KIND_LABELS,
    Challenge,
    ChallengeAction,
    ChallengeEvent,
    ChallengeEvidence,
    ChallengeKind,
    ChallengeStatus,
    EventKind,
    NamedLead,
)
from tracker.models.identity import IdentityLink, IdentityProvider, ProviderSession
from tracker.models.note import CaseNote, CaseNoteVersion, NoteKind, ThresholdView
from tracker.models.person import Person, Role, RoleApproval, SignInAttempt
from tracker.models.share import (
    OPEN_CONCERN_STATES,
    THEME_LABELS,
    ConcernResponse,
    ConcernState,
    Consent,
    LawfulBasis,
    Priority,
    Share,
    ShareMethod,
    ShareRecipient,
    ShareVersion,
    Theme,
)
from tracker.models.two_factor import RecoveryCode

__all__ = [
    "ApiAuthFailure",
    "RoleApproval",
    "AGENCY_KIND_LABELS",
    "ALERT_KIND_LABELS",
    "OPEN_CONCERN_STATES",
    "THEME_LABELS",
    "Agency",
    "ApiRateWindow",
    "ApiToken",
    "AgencyKind",
    "Alert",
    "AlertKind",
    "AuditCheckpoint",
    "AuditContent",
    "AuditEvent",
    "AuditNode",
    "CHALLENGE_KIND_LABELS",
    "Case",
    "Challenge",
    "ChallengeAction",
    "ChallengeEvent",
    "ChallengeEvidence",
    "ChallengeKind",
    "ChallengeStatus",
    "EventKind",
    "IdempotencyRecord",
    "IdentityLink",
    "IdentityProvider",
    "NamedLead",
    "CaseAgency",
    "CaseLink",
    "CaseNote",
    "CaseNoteVersion",
    "CaseStatus",
    "ConcernResponse",
    "ConcernState",
    "Consent",
    "DeliveryStatus",
    "LawfulBasis",
    "NoteKind",
    "Person",
    "Priority",
    "ProviderSession",
    "RecoveryCode",
    "Role",
    "Share",
    "ShareMethod",
    "ShareRecipient",
    "ShareVersion",
    "SignInAttempt",
    "Theme",
    "ThresholdView",
]
