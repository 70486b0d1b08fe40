from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracker import clock
from tracker.extensions import db


class AgencyKind(StrEnum):
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    HOUSING = "housing"
    PROBATION = "probation"
    YOUTH_JUSTICE = "youth_justice"
    EARLY_HELP = "early_help"
    VOLUNTARY_SECTOR = "voluntary_sector"
    ADULT_SERVICES = "adult_services"
    PARTNERSHIP = "partnership"  # the partnership's business unit: stage-4 leads sit here
    OTHER = "other"

    @property
    def label(self) -> str:
        return AGENCY_KIND_LABELS[self]

    @property
    def usually_public_authority(self) -> bool:
        """The default for a new agency of this kind (an admin can change it): statutory
        services are public authorities; the voluntary sector and "other" usually are not."""
        return self not in (AgencyKind.VOLUNTARY_SECTOR, AgencyKind.OTHER)


AGENCY_KIND_LABELS = {
    AgencyKind.CHILDRENS_SOCIAL_CARE: "Children's social care",
    AgencyKind.POLICE: "Police",
    AgencyKind.HEALTH: "Health",
    AgencyKind.EDUCATION: "Education",
    AgencyKind.HOUSING: "Housing",
    AgencyKind.PROBATION: "Probation",
    AgencyKind.YOUTH_JUSTICE: "Youth justice",
    AgencyKind.EARLY_HELP: "Early help",
    AgencyKind.VOLUNTARY_SECTOR: "Voluntary sector",
    AgencyKind.ADULT_SERVICES: "Adult services",
    AgencyKind.PARTNERSHIP: "Partnership business unit",
    AgencyKind.OTHER: "Other",
}


class Agency(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    secure_mailbox: Mapped[str] = mapped_column(String(254))
    # A public authority acting in its statutory tasks may not rely on legitimate interests
    # (UK GDPR Art 6(1) last sentence); the lawful-basis rule reads this.
    public_authority: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    @property
    def kind_label(self) -> str:
        return AgencyKind(self.kind).label

    def __repr__(self) -> str:
        return f"<Agency {self.id} {self.name!r}>"
