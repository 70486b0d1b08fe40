"""`make run`: links in alert emails follow the port it serves on, unless the address is set."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(**env) -> str:
    """The commands `make run` would run (make -n runs nothing)."""
    environment = {k: v for k, v in os.environ.items() if k != "TRACKER_BASE_URL"} | env
    result = subprocess.run(
        # -W: treat the install and asset steps as done, so only the run recipe is printed.
        ["make", "-n", "run", "-W", ".venv/.installed", "-W", "tracker/static/tracker.css"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_base_url_follows_the_port():
    assert 'TRACKER_BASE_URL="http://127.0.0.1:5101"' in _dry_run(PORT="5101")
    assert 'TRACKER_BASE_URL="http://127.0.0.1:5000"' in _dry_run()


def test_a_base_url_that_is_set_wins():
    commands = _dry_run(PORT="5101", TRACKER_BASE_URL="https://tracker.partnership.example")
    assert 'TRACKER_BASE_URL="https://tracker.partnership.example"' in commands
    assert "127.0.0.1:5101" in commands  # it still serves on the port asked for
