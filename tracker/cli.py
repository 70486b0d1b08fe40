"""`flask tracker ...`: the commands an operator runs."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from tracker.extensions import db

tracker_cli = AppGroup("tracker", help="Safeguarding tracker commands.")


@tracker_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only into an empty database (make run).")
def demo_command(if_empty: bool) -> None:
    """Load the demo partnership (once) and print the demo logins."""
    from tracker.fixtures import demo
    from tracker.models import Person

    already = demo.is_loaded()
    if if_empty and not already and db.session.query(Person.id).first() is not None:
        click.echo("The database has real data: the demo partnership is not loaded.")
        return
    logins = demo.load()
    click.echo("Demo partnership already loaded." if already else "Demo partnership loaded.")
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for person in logins:
        two_factor = "2FA" if person.has_two_factor else ""
        click.echo(
            f"  {person.role_label:<15} {two_factor:<4} {person.email:<55} {person.agency.name}"
        )
    click.echo(demo.two_factor_instructions())


@tracker_cli.command("create-user")
@click.option("--name", prompt=True)
@click.option("--email", prompt=True)
@click.option(
    "--agency", "agency_name", prompt="Agency (created if new)", default="Partnership Business Unit"
)
@click.password_option()
def create_user_command(name: str, email: str, agency_name: str, password: str) -> None:
    """Create the first (or second) administrator on a real install."""
    from tracker.services import people

    try:
        person = people.create_first_admin(
            name=name, email=email, agency_name=agency_name, password=password
        )
    except people.PeopleError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Administrator {person.email} created.")


@tracker_cli.command("generate")
@click.option("--cases", type=click.IntRange(min=10), default=100_000, show_default=True)
@click.option("--shares", type=click.IntRange(min=0), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="The moment (UTC) the data leads up to; default: the clock now.",
)
@click.option("--open-concerns", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--open-challenges", type=click.IntRange(min=0), default=40, show_default=True)
@click.option(
    "--chronology-entries",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Entries on the first case's chronology (benchmarks read it).",
)
def generate_command(cases, shares, seed, now, open_concerns, open_challenges, chronology_entries):
    """Fill an EMPTY database with a partnership's worth of generated cases and shares."""
    import time

    from tracker import clock
    from tracker.fixtures import generate

    plan = generate.Plan(
        cases=cases,
        shares=shares,
        seed=seed,
        now=now,
        open_concerns=open_concerns,
        open_challenges=open_challenges,
        chronology_entries=chronology_entries,
    )
    started = time.monotonic()
    try:
        with click.progressbar(length=shares, label="Generating shares") as bar:
            written = generate.generate(plan, progress=bar.update)
    except generate.GenerateError as error:
        raise click.ClickException(str(error)) from None
    for table, count in written.items():
        click.echo(f"  {table:<20} {count:>10,}")
    for line in generate.open_set_summary(now or clock.now()):
        click.echo(line)
    click.echo(f"Generated in {time.monotonic() - started:.0f} s (seed {seed}).")


workdays_cli = AppGroup(
    "workdays", help="Working-day arithmetic (weekends and bank holidays skipped)."
)
tracker_cli.add_command(workdays_cli)


@workdays_cli.command("add")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("days", type=click.IntRange(min=0))
def workdays_add_command(start, days: int) -> None:
    """The date DAYS working days after START, e.g. `add 2026-12-24 3` prints 2026-12-31."""
    from tracker.services import workdays

    click.echo(workdays.add_working_days(start.date(), days).isoformat())


@workdays_cli.command("between")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("end", type=click.DateTime(formats=["%Y-%m-%d"]))
def workdays_between_command(start, end) -> None:
    """Working days after START up to and including END."""
    from tracker.services import workdays

    click.echo(workdays.working_days_between(start.date(), end.date()))


@workdays_cli.command("close")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--reason", required=True, help="Why the partnership is closed that day.")
def workdays_close_command(day, reason: str) -> None:
    """Close the partnership on DAY: it stops being a working day and open due times move."""
    from tracker.services import closures

    try:
        closure, moved = closures.close_day(None, day.date(), reason, "command line")
    except closures.ClosureError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{closure.day:%-d %B %Y} closed; {moved} open due times moved (audited).")


audit_cli = AppGroup("audit", help="The audit log: sealing, checkpoints, verification, erasure.")
tracker_cli.add_command(audit_cli)


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint (signed note) held outside the database; may be given more than once.",
)
def audit_verify_command(checkpoints: tuple[str, ...]) -> None:
    """Rebuild the tree, check every checkpoint and the checkpoint log: `ok ...` (exit 0) or the
    first leaf that differs (exit 1)."""
    from pathlib import Path

    from tracker.services import transparency

    held = []
    for path in checkpoints:
        notes = transparency.read_notes(Path(path).read_text(encoding="utf-8"))
        if not notes:  # a held checkpoint that cannot be read is a failure, never a pass
            click.echo(f"checkpoint file {path}: holds no signed checkpoint", err=True)
            raise SystemExit(1)
        held.extend((f"checkpoint file {path}", note) for note in notes)
    result = transparency.verify(held)
    click.echo(str(result), err=not result.ok)
    if not result.ok:
        raise SystemExit(1)


@audit_cli.command("seal")
def audit_seal_command() -> None:
    """Seal the committed unsealed events into the tree and sign a checkpoint (one JSON line)."""
    import json

    from tracker.services import transparency

    click.echo(json.dumps(transparency.seal().as_dict()))


@audit_cli.command("keygen")
@click.option(
    "--name", help="The log's name (its checkpoints' origin); default TRACKER_AUDIT_ORIGIN"
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to write the signing key (default: TRACKER_AUDIT_SIGNING_KEY_FILE)",
)
def audit_keygen_command(name: str | None, out: str | None) -> None:
    """Create an audit signing key file (never overwrites one) and print its verifier key."""
    from flask import current_app

    from tracker.services import signing

    out = out or current_app.config["AUDIT_SIGNING_KEY_FILE"]
    try:
        signer = signing.generate(name or current_app.config["AUDIT_ORIGIN"])
        signing.write(signer, out)
    except FileExistsError:
        raise click.ClickException(f"{out} exists: a signing key is never overwritten") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Signing key written to {out} (readable by its owner only).")
    click.echo(f"Verifier key (give this to auditors): {signer.verifier_key}")


@audit_cli.command("erase-content")
@click.argument("event_id", type=int)
@click.option("--rule", required=True, help="The retention rule the erasure follows")
@click.option("--reason", required=True, help="Why the content is erased now")
def audit_erase_content_command(event_id: int, rule: str, reason: str) -> None:
    """Erase one event's personal content (the leaf keeps its commitment); audited."""
    from tracker.services import audit

    rule, reason = rule.strip(), reason.strip()
    if not rule or not reason or len(rule) > 120:
        raise click.ClickException("--rule (at most 120 characters) and --reason are required")
    try:
        erasure = audit.erase_content(event_id, rule=rule, reason=reason, actor_label="cli")
    except audit.ErasureError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Content of event {event_id} erased under {rule} (recorded as event {erasure.id}).")


@tracker_cli.command("backup")
@click.argument("destination", required=False, type=click.Path(dir_okay=False))
def backup_command(destination: str | None) -> None:
    """Copy the embedded SQLite database while the app runs (SQLite's online backup).

    PostgreSQL installs use pg_dump instead (see the README).
    """
    from flask import current_app

    from tracker.services import backup

    try:
        copy = backup.backup_sqlite(
            destination, current_app.config["INSTANCE_DIR"], actor_label="cli"
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {copy} (integrity ok)")


def init_app(app: Flask) -> None:
    from tracker import scheduler
    from tracker.retention.commands import retention_cli

    scheduler.register(tracker_cli)
    tracker_cli.add_command(retention_cli)
    app.cli.add_command(tracker_cli)
