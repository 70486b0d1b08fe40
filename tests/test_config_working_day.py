"""The working-day settings are checked at start, like
every other setting, rather than turning the first deadline into a 500."""

from __future__ import annotations

import pytest

import config


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRACKER_WORKDAY_END", "5pm"),  # time.fromisoformat refuses it on the first deadline
        ("TRACKER_WORKDAY_START", "18:00"),  # after the end: no working hour in any day
        ("TRACKER_TIMEZONE", "Europe/Londn"),  # ZoneInfo refuses it on the first page
    ],
)
def test_a_bad_working_day_setting_stops_the_app_at_start(monkeypatch, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError, match=variable):
        config.from_environment(INSTANCE_DIR=str(tmp_path))


def test_with_a_bad_working_day_end_a_worker_recording_a_share_gets_no_500(
    database_url, tmp_path, monkeypatch, password_hash
):
    """What the missing start-up check costs: the app starts, then every deadline raises."""
    from datetime import datetime

    from tests.conftest import make_app
    from tracker.services import workdays

    monkeypatch.setenv("TRACKER_WORKDAY_END", "5pm")
    try:
        app = make_app(database_url, tmp_path)
    except config.ConfigError:
        return  # refused at start: the fix
    with app.app_context():
        workdays.deadline(datetime(2026, 11, 18, 10, 0), 3)  # ValueError: a 500 on every share
