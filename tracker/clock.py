"""The one source of "now", so tests can freeze time and the sweep can run "as at" a moment.

Times are stored as naive UTC datetimes; local time is only for display and working-day maths.

Besides freezing, the clock can *travel*: start at a given moment and run on from there, as
`faketime` does. Tests run every process on a travelled clock so that nothing depends on the
real time of day. A child process inherits the same clock through TRACKER_CLOCK_OFFSET_SECONDS
(the travel as an offset from real time, so that processes started at different times agree on
"now"), which production refuses (config.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

OFFSET_VARIABLE = "TRACKER_CLOCK_OFFSET_SECONDS"

_frozen: datetime | None = None
_offset = timedelta(0)


def _real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def now() -> datetime:
    """The current time as a naive UTC datetime (frozen, travelled, or real)."""
    if _frozen is not None:
        return _frozen
    return _real_now() + _offset


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def freeze(moment: datetime | None) -> None:
    """Freeze the clock at a moment (naive UTC, or aware); None lets it run again."""
    global _frozen
    _frozen = None if moment is None else _utc(moment)


def travel(moment: datetime | None) -> None:
    """Let the clock run on from a moment (naive UTC, or aware); None goes back to real time."""
    global _offset, _frozen
    _frozen = None
    _offset = timedelta(0) if moment is None else _utc(moment) - _real_now()


def offset_seconds() -> float:
    """How far the travelled clock is from real time, for a child process's environment."""
    return _offset.total_seconds()


@contextmanager
def restoring() -> Iterator[None]:
    """Put the clock back as it was (frozen or running) after a block that freezes it."""
    previous = _frozen
    try:
        yield
    finally:
        freeze(previous)


if os.environ.get(OFFSET_VARIABLE):
    _offset = timedelta(seconds=float(os.environ[OFFSET_VARIABLE]))
