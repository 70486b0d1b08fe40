"""`flask tracker retention review`: fill the disposal review queue once (the scheduler does it
daily)."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from tracker.scheduler import at_option, review_retention_once
from tracker.services import workdays

retention_cli = AppGroup("retention", help="Records retention: the disposal review queue.")


@retention_cli.command("review")
@at_option("Review", "2061-06-11")
def review_command(at: datetime | None) -> None:
    """Queue every closed case past its retention date and print the counts as one JSON line."""
    # --at is local wall-clock time, as people say it (like `flask tracker sweep --at`).
    click.echo(json.dumps(review_retention_once(workdays.to_utc(at) if at else None)))
