"""The README's "Try it" walk-through stays true to the demo it describes (issue 14, item 18)."""

import re
from pathlib import Path

from tracker.fixtures import demo
from tracker.models import Role

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_the_walk_through_names_real_demo_logins_for_each_role(app):
    walk = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    logins = {p.email: p for p in demo.load()}
    named = re.findall(r"\*\*[^*]*: `([^`]+@[^`]+)`\*\* \(([^)]*)\)", walk)
    assert len(named) >= 5
    roles = set()
    for email, said in named:
        person = logins[email]  # a login the demo really has
        roles.add(person.role)
        two_factor = "two-factor" in said and "no two-factor" not in said
        assert two_factor == person.has_role(Role.LEAD, Role.AUDITOR, Role.ADMIN), email
    assert roles == {r.value for r in Role}
    assert demo.DEMO_PASSWORD in walk
    assert "Non-urgent emails wait for working hours (`MAIL_QUIET_HOURS`" in walk
    assert "stage-1 named leads" in walk and "without two-factor" in walk


def test_the_phone_settings_are_documented_with_the_drama_numbers(app):
    for setting in ("TRACKER_FRONT_DOOR_PHONE", "TRACKER_EMERGENCY_PHONE"):
        assert f"| `{setting}` |" in README
    assert app.config["FRONT_DOOR_PHONE"] in README and app.config["EMERGENCY_PHONE"] in README
