"""The one source of "now", so tests can freeze time and the sweep can run "as at" a moment.

Times are stored as naive UTC datetimes; local time is only for display and working-day maths.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as a naive UTC datetime (or the frozen one)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def freeze(moment: datetime | None) -> None:
    """Freeze the clock at a naive UTC moment; None lets it run again."""
    global _frozen
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    _frozen = moment


@contextmanager
def restoring() -> Iterator[None]:
    """Put the clock back as it was (frozen or running) after a block that freezes it."""
    previous = _frozen
    try:
        yield
    finally:
        freeze(previous)
