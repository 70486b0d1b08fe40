"""Fixtures: a real database per test (SQLite file, and PostgreSQL when configured).

Each database is built once by running the migrations into a template, then copied per test
(a file copy for SQLite; for PostgreSQL, CREATE DATABASE ... TEMPLATE once per worker, emptied
between tests: see _PgDatabase), so every test starts from exactly what `flask db upgrade`
produces, triggers included, and can commit for real. A template
is named by a digest of the migrations and shared by every xdist worker and later run (the temp
folder for SQLite, the server for PostgreSQL): the first process to need it builds it under a
file lock, and a changed migration gets a new one.

Set TRACKER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to run every
database test on PostgreSQL as well as SQLite.

Every test starts at the same moment, whatever the real time: the app's clock travels to
TRACKER_TEST_NOW (an ISO moment; without an offset it is London time; default a Wednesday
morning) and runs on from there, in this process, in the browser tests' server thread, and in
any child process (through TRACKER_CLOCK_OFFSET_SECONDS). `make test-clock` reruns the time-sensitive tests
at the awkward moments: midnight, just before 09:00, just after 17:00, a Saturday, Christmas Day
and the change from BST to GMT.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# Before tracker is imported: argon2 at its cheapest in tests, here and in child processes
# (tracker/services/accounts.py); production refuses it (tests/test_config.py).
os.environ["TRACKER_TEST_CHEAP_PASSWORD_HASHING"] = "1"

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402
from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from jinja2.bccache import Bucket, BytecodeCache  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from sqlalchemy.util import LRUCache  # noqa: E402
from werkzeug.routing import Rule  # noqa: E402

from tests.helpers import seconds_ago  # noqa: E402
from tracker import clock, create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Agency, AgencyKind, Case, Person, Role  # noqa: E402
from tracker.security import TrackerApp  # noqa: E402
from tracker.services import accounts, cases  # noqa: E402


class _RuleBuiltWhenUsed(Rule):
    """A URL rule whose builders are compiled when first used, not when the rule is added.

    Werkzeug compiles two URL builders a rule, as Python code, when a rule joins an app: 80 ms
    of every app's creation here (126 rules), and the suite makes an app a test while each test
    builds a handful of URLs. The builders are werkzeug's own, made from the same parts."""

    def _compile_builder(self, append_unknown: bool = True):
        compiled = None

        def build(rule, *args, **kwargs):
            nonlocal compiled
            if compiled is None:
                compiled = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            return compiled(*args, **kwargs)

        return build


TrackerApp.url_rule_class = _RuleBuiltWhenUsed


class _TemplatesCompiledOnce(BytecodeCache):
    """Every app in the suite shares its templates' compiled code. Jinja compiles a template
    once for each environment, and the suite makes an app, so an environment, a test: half the
    CPU of a page test went to compiling the same templates again. All the suite's apps are
    made by create_app with the same template settings, and a template whose source changed
    does not match its bucket's checksum, so it is compiled afresh."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TrackerApp.jinja_options = {**TrackerApp.jinja_options, "bytecode_cache": _TemplatesCompiledOnce()}


class _StatementsCompiledOnce(LRUCache):
    """Every engine in the suite shares its compiled SQL. SQLAlchemy keeps a statement's
    compiled form per engine, keyed by the engine's own dialect object, and the suite makes an
    engine a test: a fifth of a test's CPU went to compiling the same statements again. Here
    the key names the dialect by its class and its server's version, which is all a statement's
    SQL depends on among the suite's engines (one server, one set of engine settings)."""

    def get(self, key, default=None):
        return super().get(self._shared(key), default)

    def __setitem__(self, key, value) -> None:
        super().__setitem__(self._shared(key), value)

    @staticmethod
    def _shared(key: tuple) -> tuple:
        dialect, *rest = key
        return (type(dialect), dialect.server_version_info, *rest)


COMPILED = _StatementsCompiledOnce(5000)
# The ORM's INSERTs and UPDATEs on flush are cached on each mapper, keyed the same way.
for _mapper in db.Model.registry.mappers:
    _mapper.__dict__["_compiled_cache"] = _StatementsCompiledOnce(_mapper._compiled_cache_size)

PG_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
PASSWORD = "correct horse battery staple"
# PostgreSQL database names: a process id alone is not unique when test runs on several machines
# (or containers) share one server, and a run that drops "its" template drops another's.
RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"
LONDON = ZoneInfo("Europe/London")


def _test_now() -> datetime:
    moment = datetime.fromisoformat(os.environ.get("TRACKER_TEST_NOW") or "2026-11-18T10:30:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


TEST_NOW = _test_now()


@pytest.fixture(autouse=True)
def test_clock(monkeypatch):
    """Start every test at TEST_NOW on a running clock (child processes too), and put it back."""
    clock.travel(TEST_NOW)
    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(clock.offset_seconds()))
    yield TEST_NOW
    clock.travel(None)


def production_key(folder) -> str:
    """A fresh audit signing key file, as `flask tracker audit keygen` writes one."""
    from tracker.services import signing

    path = folder / "keys" / "audit-signing.key"
    signing.write(signing.generate("tracker.example/audit"), path)
    return str(path)


@pytest.fixture
def production_env(monkeypatch, tmp_path) -> dict[str, str]:
    """A complete production deployment's environment, on real time: each test takes away or
    changes what it checks. Returned as a mapping for tests that start a process."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.delenv("TRACKER_TEST_CHEAP_PASSWORD_HASHING")
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("TRACKER_AUDIT_SIGNING_KEY_FILE", production_key(tmp_path))
    monkeypatch.setenv("TRACKER_FRONT_DOOR_PHONE", "01632 960111")
    monkeypatch.setenv("TRACKER_EMERGENCY_PHONE", "01632 960112")
    monkeypatch.delenv(clock.OFFSET_VARIABLE, raising=False)
    return {
        "TRACKER_ENV": "production",
        "SECRET_KEY": "s" * 64,
        "TRACKER_AUDIT_SIGNING_KEY_FILE": os.environ["TRACKER_AUDIT_SIGNING_KEY_FILE"],
        "TRACKER_FRONT_DOOR_PHONE": "01632 960111",
        "TRACKER_EMERGENCY_PHONE": "01632 960112",
        "TRACKER_INSTANCE_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }


def _pg_url(database: str) -> str:
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=database)
    return url.render_as_string(hide_password=False)


def _pg_admin():
    return create_engine(
        _pg_url(make_url(PG_URL).database or "postgres"), isolation_level="AUTOCOMMIT"
    )


def _migrate(url: str, instance_dir) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "INSTANCE_DIR": str(instance_dir)}
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _migrations_digest() -> str:
    """Names a template by the migrations that built it: change one and a new template is built."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(str(path.relative_to(MIGRATIONS)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _building(name: str):
    """One process builds a template while the others (xdist workers, other runs) wait for it."""
    with FileLock(Path(tempfile.gettempdir()) / f"{name}.lock"):
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Built once and shared by every worker and later run with the same migrations."""
    name = f"tracker_template_{_migrations_digest()}"
    path = Path(tempfile.gettempdir()) / f"{name}.sqlite3"
    with _building(name):
        if not path.exists():
            folder = tmp_path_factory.mktemp("template")
            building = folder / "template.sqlite3"
            _migrate(f"sqlite:///{building}", folder)
            shutil.copy(building, path.with_suffix(".partial"))
            path.with_suffix(".partial").rename(path)  # whole or absent
    return path


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """Built once per set of migrations on the server, and kept for later runs and workers."""
    if not PG_URL:
        return None
    name = f"tracker_template_{_migrations_digest()}"
    admin = _pg_admin()
    with _building(name):
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            building = f"{name}_building"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{building}"'))
            _migrate(_pg_url(building), tmp_path_factory.mktemp("pg"))
            with admin.connect() as conn:  # whole or absent, under its final name
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
    admin.dispose()
    return name


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template):
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield _pg_url(request.getfixturevalue("pg_database").take())


# What a PostgreSQL database's schema is, down to each trigger's on/off switch: a test that
# changed it (an attacker disabling the audit log's triggers, a migration test going down and
# up) leaves a database that cannot be emptied back into the template's.
SCHEMA = """
SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (
  SELECT 'c:' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull::text AS item
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 't:' || tgrelid::regclass || '.' || tgname || ':' || tgenabled::text
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'k:' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'i:' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'f:' || proname || ':' || md5(prosrc)
    FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'v:' || version_num FROM alembic_version
) items
"""


class _PgDatabase:
    """This worker's PostgreSQL database: copied from the template once, then emptied before
    each test that uses it, and copied again only when a test changed its schema.

    Copying costs the server about half a second (it writes the whole copy to its log);
    emptying, a few milliseconds. Before it is emptied, whatever a test left connected is
    ended (its locks go with it). Deleting runs as a replica (session_replication_role) so
    the audit log's append-only triggers and the foreign keys stand aside for it alone; the
    identity sequences start again at 1, as in a fresh copy."""

    def __init__(self, template: str):
        self.template = template
        self.name = f"tracker_test_{RUN_ID}"
        self.admin = _pg_admin()
        self.engine = create_engine(_pg_url(self.name), poolclass=NullPool)
        self._copy()
        with self.engine.connect() as conn:
            self.schema = conn.exec_driver_sql(SCHEMA).scalar()
            tables = conn.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ).all()
            sequences = conn.scalars(
                text(
                    "SELECT quote_ident(sequencename) FROM pg_sequences "
                    "WHERE schemaname = 'public' ORDER BY sequencename"
                )
            ).all()
        restart = ", ".join(f"setval('{name}', 1, false)" for name in sequences)
        self.empty = (
            "SET LOCAL session_replication_role = replica; "
            + " ".join(f"DELETE FROM {table};" for table in tables)
            + (f" SELECT {restart};" if restart else "")
        )
        self.used = False

    def _copy(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"'))

    def take(self) -> str:
        """The database, as the template left it."""
        if self.used:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                same = conn.exec_driver_sql(SCHEMA).scalar() == self.schema
                if same:
                    conn.exec_driver_sql(self.empty)
            if not same:
                self._copy()
        self.used = True
        return self.name

    def close(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_database(pg_template):
    database = _PgDatabase(pg_template)
    yield database
    database.close()


class RequestClient(FlaskClient):
    """Each request runs in its own app context (own `g`, own database session), as in production.

    The test's own session is committed first: it must not hold SQLite's write lock (or stale
    reads) while the request runs, and what the test set up is then visible to the request.
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


def make_app(database_url: str, instance_dir, **overrides):
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "INSTANCE_DIR": str(instance_dir),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = RequestClient
    with app.app_context():
        db.engine.update_execution_options(compiled_cache=COMPILED)
    return app


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    clock.freeze(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash():
    return accounts.hash_password(PASSWORD)


@dataclass
class World:
    """A small partnership: agencies A and B work on one case; C is not involved."""

    agency_a: Agency
    agency_b: Agency
    agency_c: Agency
    partnership: Agency
    worker_a: Person
    lead_a: Person
    worker_b: Person
    lead_b: Person
    worker_c: Person
    auditor: Person
    admin: Person
    case: Case


def add_agency(name: str, kind: AgencyKind) -> Agency:
    agency = Agency(
        name=name,
        kind=kind.value,
        secure_mailbox=f"safeguarding@{name.lower().replace(' ', '')}.example.org",
    )
    db.session.add(agency)
    db.session.flush()
    return agency


def add_person(name: str, agency: Agency, role: Role, password_hash: str) -> Person:
    person = Person(
        name=name,
        email=re.sub(r"[^a-z]+", ".", name.lower()) + "@example.org",
        agency_id=agency.id,
        role=role.value,
        password_hash=password_hash,
        session_token=secrets.token_hex(16),
    )
    db.session.add(person)
    db.session.flush()
    return person


@pytest.fixture
def world(app, password_hash) -> World:
    a = add_agency("Agency A Social Care", AgencyKind.CHILDRENS_SOCIAL_CARE)
    b = add_agency("Agency B Police", AgencyKind.POLICE)
    c = add_agency("Agency C School", AgencyKind.EDUCATION)
    p = add_agency("Partnership Unit", AgencyKind.PARTNERSHIP)
    w = World(
        agency_a=a,
        agency_b=b,
        agency_c=c,
        partnership=p,
        worker_a=add_person("Worker A", a, Role.WORKER, password_hash),
        lead_a=add_person("Lead A", a, Role.LEAD, password_hash),
        worker_b=add_person("Worker B", b, Role.WORKER, password_hash),
        lead_b=add_person("Lead B", b, Role.LEAD, password_hash),
        worker_c=add_person("Worker C", c, Role.WORKER, password_hash),
        auditor=add_person("Auditor", p, Role.AUDITOR, password_hash),
        admin=add_person("Admin", p, Role.ADMIN, password_hash),
        case=None,  # type: ignore[arg-type]
    )
    db.session.commit()
    w.case = cases.create(
        w.worker_a,
        child_name="Child One",
        date_of_birth=date(2018, 5, 17),
        lead_agency_id=a.id,
        lead_professional_id=w.worker_a.id,
        other_agency_ids=[b.id],
    )
    return w


def sign_in_as(client, person: Person) -> None:
    """Put the person in the session as a completed sign-in leaves it (password and, where
    needed, second factor done; just active). The real sign-in is tested in tests/auth."""
    with client.session_transaction() as session:
        session["_user_id"] = person.get_id()
        session["_fresh"] = True
        session["last_seen"] = seconds_ago(0)


@pytest.fixture
def frozen():
    """Freeze the clock: frozen(datetime(...)) in UTC; unfrozen after the test."""

    def freeze(moment: datetime) -> datetime:
        clock.freeze(moment)
        return moment

    yield freeze
    clock.freeze(None)
