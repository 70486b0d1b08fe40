"""The demo partnership: realistic enough to try every feature, loaded once."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta

from sqlalchemy import select

from tracker import clock
from tracker.challenges import demo as challenges_demo
from tracker.extensions import db
from tracker.models import Agency, AgencyKind, Case, Person, Role
from tracker.services import accounts, audit, cases, closures, two_factor, workdays
from tracker.shares import demo as sharing_demo

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (printed for the demo, on purpose)  # nosec B105
# Demo leads, auditors and admins are enrolled in two-factor sign-in with this published key, so
# anyone trying the demo can add it to an authenticator app (or print a code with pyotp).
DEMO_TOTP_SECRET = "DEMOSSCPTRACKERTWOFACTORKEY23456"  # noqa: S105 (demo only, printed)  # nosec B105
DEMO_DOMAIN = "example.org"

AGENCIES = [
    ("Northbridge Children's Social Care", AgencyKind.CHILDRENS_SOCIAL_CARE, "csc"),
    ("Northbridge Police Public Protection", AgencyKind.POLICE, "police"),
    (
        "Northbridge Community Health (health visiting and school nursing)",
        AgencyKind.HEALTH,
        "health",
    ),
    ("Northbridge Royal Infirmary", AgencyKind.HEALTH, "hospital"),
    ("St Anne's Primary School", AgencyKind.EDUCATION, "stannes"),
    ("Northbridge Academy", AgencyKind.EDUCATION, "academy"),
    ("Northbridge Homes", AgencyKind.HOUSING, "housing"),
    ("Probation Service, Northbridge", AgencyKind.PROBATION, "probation"),
    ("Northbridge Youth Justice Service", AgencyKind.YOUTH_JUSTICE, "yjs"),
    ("Northbridge Early Help Hub", AgencyKind.EARLY_HELP, "earlyhelp"),
    ("Family Aid Northbridge", AgencyKind.VOLUNTARY_SECTOR, "familyaid"),
    ("Partnership Business Unit", AgencyKind.PARTNERSHIP, "partnership"),
]

FIRST_NAMES = [
    "Amira",
    "Ben",
    "Chloe",
    "Daniel",
    "Ella",
    "Finley",
    "Grace",
    "Harry",
    "Isla",
    "Jacob",
    "Kayla",
    "Leo",
    "Maisie",
    "Noah",
    "Olivia",
    "Patryk",
    "Ruby",
    "Samir",
    "Tilly",
    "Usman",
    "Violet",
    "Wiktoria",
    "Xavier",
    "Yusuf",
    "Zara",
    "Alfie",
    "Bethany",
    "Callum",
    "Darcy",
    "Ethan",
    "Freya",
    "George",
    "Hana",
    "Ibrahim",
]
SURNAMES = [
    "Ahmed",
    "Brown",
    "Campbell",
    "Davies",
    "Evans",
    "Fraser",
    "Green",
    "Hussain",
    "Iqbal",
    "Jones",
    "Kowalski",
    "Lewis",
    "Murphy",
    "Nowak",
    "O'Brien",
    "Patel",
    "Quinn",
    "Robinson",
]
STAFF = [
    "Sarah Whitfield",
    "Tom Okafor",
    "Priya Shah",
    "Gareth Lloyd",
    "Helen McBride",
    "Kwame Mensah",
    "Rachel Thornton",
    "Imran Siddiqui",
    "Lucy Fenwick",
    "Marek Zielinski",
    "Joanne Barker",
    "Declan Walsh",
    "Aisha Rahman",
    "Neil Crossley",
    "Fiona Gallagher",
    "Owen Pritchard",
    "Bernadette Kelly",
    "Sanjay Mistry",
    "Katie Holmes",
    "Victor Adeyemi",
    "Naomi Fletcher",
    "Stuart Rigby",
    "Yasmin Akhtar",
    "Colin Hartley",
    "Megan Doyle",
    "Rhys Morgan",
    "Ifeoma Obi",
    "Paul Ashworth",
]


def is_loaded() -> bool:
    return (
        db.session.scalar(select(Person.id).where(Person.email.like(f"%@%.{DEMO_DOMAIN}")))
        is not None
    )


def _person(name: str, agency: Agency, slug: str, role: Role, password_hash: str) -> Person:
    local = name.lower().replace(" ", ".").replace("'", "")
    return Person(
        name=name,
        email=f"{local}@{slug}.{DEMO_DOMAIN}",
        agency_id=agency.id,
        role=role.value,
        password_hash=password_hash,
        session_token=secrets.token_hex(16),
    )


def load() -> list[Person]:
    """Create the demo partnership; return the people whose logins to print. Twice is a no-op."""
    if is_loaded():
        return demo_logins()
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    rng = random.Random(20261125)  # noqa: S311 (repeatable demo data, not security)  # nosec B311
    staff = iter(STAFF)
    by_key: dict[str, Agency] = {}
    everyone: list[Person] = []
    for name, kind, key in AGENCIES:
        agency = Agency(
            name=name,
            kind=kind.value,
            secure_mailbox=f"safeguarding@{key}.{DEMO_DOMAIN}",
            public_authority=kind.usually_public_authority,
        )
        db.session.add(agency)
        db.session.flush()
        by_key[key] = agency
        if kind == AgencyKind.PARTNERSHIP:
            # Two administrators: a new auditor or administrator needs a second one's approval.
            roles = [Role.ADMIN, Role.AUDITOR, Role.LEAD, Role.ADMIN]
        else:
            roles = [Role.WORKER, Role.LEAD]
        for role in roles:
            person = _person(next(staff), agency, key, role, password_hash)
            if role in two_factor.WIDE_REACH_ROLES:
                person.totp_secret = DEMO_TOTP_SECRET
                person.totp_confirmed_at = clock.now()
            db.session.add(person)
            everyone.append(person)
    db.session.flush()
    for item in [*by_key.values(), *everyone]:
        audit.record(
            f"{'agency' if isinstance(item, Agency) else 'person'}.create",
            object_kind="agency" if isinstance(item, Agency) else "person",
            object_id=item.id,
            actor_label="demo loader",
        )
    db.session.commit()

    workers = {p.agency_id: p for p in everyone if p.role == Role.WORKER.value}
    leads_of_cases = [by_key[k] for k in ("csc", "csc", "csc", "earlyhelp", "earlyhelp", "yjs")]
    others = [a for k, a in by_key.items() if k not in {"partnership"}]
    today = clock.now().date()
    opened_from = clock.now()
    for number in range(34):
        lead_agency = rng.choice(leads_of_cases)
        involved = rng.sample([a for a in others if a.id != lead_agency.id], rng.randint(1, 4))
        child = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        born = today - timedelta(days=rng.randint(200, 17 * 365))
        # A case opens before anything is recorded on it: shares reach back 35 days and notes
        # 70, so each case opened 80 to 119 days ago (the same days on every load).
        with clock.restoring():
            clock.freeze(opened_from - timedelta(days=80 + (number * 13) % 40))
            cases.create(
                workers[lead_agency.id],
                child_name=child,
                date_of_birth=date(born.year, born.month, born.day),
                lead_agency_id=lead_agency.id,
                lead_professional_id=workers[lead_agency.id].id if number % 3 else None,
                other_agency_ids=[a.id for a in involved],
            )
    first = db.session.scalar(select(Case).order_by(Case.id).limit(1))
    first.nhs_number, first.upn = DEMO_NHS_NUMBER, DEMO_UPN
    db.session.commit()
    _sibling(first, workers[first.lead_agency_id], rng)
    sharing_demo.load(rng)  # shares, concerns, notes and threshold views on these cases
    sharing_demo.load_golden_rules()  # a decision not to share, a viewed share, a red concern
    challenges_demo.load(rng)  # named leads, and challenges at every stage
    _closure_day()
    return demo_logins()


# Published example identifiers (NHS Digital's example NHS number; a UPN with a valid check
# letter): never a real child's.
DEMO_NHS_NUMBER = "9434765919"
DEMO_UPN = "B801200005001"


def _sibling(case: Case, worker: Person, rng: random.Random) -> None:
    """A younger sibling of the first child, linked both ways."""
    surname = case.child_name.split()[-1]
    born = case.date_of_birth + timedelta(days=600)
    with clock.restoring():  # opened with the first child's case, before anything is shared
        clock.freeze(case.created_at)
        sibling = cases.create(
            worker,
            child_name=f"{rng.choice(FIRST_NAMES)} {surname}",
            date_of_birth=min(born, clock.now().date()),
            lead_agency_id=case.lead_agency_id,
            lead_professional_id=case.lead_professional_id,
            other_agency_ids=sorted(case.involved_agency_ids - {case.lead_agency_id}),
        )
        cases.link_sibling(worker, case, sibling)


def _closure_day() -> None:
    """A partnership training day a few weeks ahead: open due times past it move (audited)."""
    day = workdays.add_working_days(workdays.to_local(clock.now()).date(), 15)
    closures.close_day(None, day, "Partnership-wide safeguarding training day", "demo loader")


def two_factor_instructions() -> str:
    return (
        "Logins marked 2FA also ask for a security code: add the demo key "
        f"{DEMO_TOTP_SECRET} to an authenticator app, or print the current code with\n"
        f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"\n"
        "(each code works once per person; a new one comes every 30 seconds)."
    )


def demo_logins() -> list[Person]:
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.email.like(f"%@%.{DEMO_DOMAIN}"))
            .order_by(Person.agency_id, Person.role)
        )
    )
