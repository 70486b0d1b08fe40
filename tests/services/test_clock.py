"""The clock: frozen, travelled (running on from a moment, as faketime does), and shared with
child processes through TRACKER_CLOCK_OFFSET_SECONDS."""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from tracker import clock

ROOT = Path(__file__).resolve().parents[2]


def test_travel_runs_on_from_the_moment():
    start = datetime(2031, 3, 30, 0, 59, 58)
    clock.travel(start)
    first = clock.now()
    second = clock.now()
    assert start <= first <= second < start + timedelta(minutes=5)


def test_freeze_wins_over_travel_and_travel_unfreezes():
    clock.travel(datetime(2031, 1, 1, 12))
    clock.freeze(datetime(2030, 6, 1, 9))
    assert clock.now() == datetime(2030, 6, 1, 9)
    clock.travel(datetime(2029, 1, 1))
    assert datetime(2029, 1, 1) <= clock.now() < datetime(2029, 1, 1, 0, 5)


def test_aware_moments_are_stored_as_utc():
    clock.freeze(datetime.fromisoformat("2026-07-01T10:00:00+01:00"))
    assert clock.now() == datetime(2026, 7, 1, 9, 0)


def test_child_processes_share_the_travelled_clock():
    clock.travel(datetime(2031, 12, 25, 0, 5))
    env = dict(os.environ, **{clock.OFFSET_VARIABLE: str(clock.offset_seconds())})
    code = "from tracker import clock; print(clock.now().isoformat())"
    before = clock.now()
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    after = clock.now()
    assert before <= datetime.fromisoformat(result.stdout.strip()) <= after
