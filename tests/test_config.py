import subprocess
import sys
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parent.parent


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path, production_env):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY must be set"):
        config.from_environment(INSTANCE_DIR=str(tmp_path))


@pytest.mark.parametrize("missing", ["TRACKER_FRONT_DOOR_PHONE", "TRACKER_EMERGENCY_PHONE"])
def test_production_refuses_to_start_without_the_immediate_risk_numbers(
    monkeypatch, tmp_path, missing, production_env
):
    monkeypatch.setenv(missing, " ")
    with pytest.raises(
        config.ConfigError, match=f"^{missing} must be set when TRACKER_ENV=production$"
    ):
        config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x" * 32)


def test_production_uses_the_numbers_it_is_given(monkeypatch, tmp_path, production_env):
    settings = config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x" * 32)
    assert (settings["FRONT_DOOR_PHONE"], settings["EMERGENCY_PHONE"]) == (
        "01632 960111",
        "01632 960112",
    )


def test_outside_production_the_numbers_are_drama_numbers_that_reach_nobody(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    monkeypatch.delenv("TRACKER_FRONT_DOOR_PHONE", raising=False)
    monkeypatch.delenv("TRACKER_EMERGENCY_PHONE", raising=False)
    settings = config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x")
    # Ofcom reserves 01632 960000 to 960999 for drama.
    for number in (settings["FRONT_DOOR_PHONE"], settings["EMERGENCY_PHONE"]):
        assert number.startswith("01632 960") and len(number.replace(" ", "")) == 11


def test_wsgi_exits_with_one_line_reason(tmp_path):
    env = {
        "TRACKER_ENV": "production",
        "TRACKER_INSTANCE_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "tracker will not start: SECRET_KEY must be set when TRACKER_ENV=production"
    )


def test_wsgi_names_a_missing_immediate_risk_number_in_one_line(tmp_path, production_env):
    env = dict(production_env)
    del env["TRACKER_FRONT_DOOR_PHONE"]
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "tracker will not start: TRACKER_FRONT_DOOR_PHONE must be set when TRACKER_ENV=production"
    )


def test_development_secret_key_is_generated_once(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    first = config.from_environment(INSTANCE_DIR=str(tmp_path))["SECRET_KEY"]
    second = config.from_environment(INSTANCE_DIR=str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_cookies_are_secure(monkeypatch, tmp_path, production_env):
    settings = config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x" * 32)
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"]
    assert settings["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_production_refuses_to_start_without_the_audit_signing_key(tmp_path, production_env):
    """One line at start-up, from wsgi as from flask: no key, or a key file that is not one."""
    env = dict(production_env)
    del env["TRACKER_AUDIT_SIGNING_KEY_FILE"]
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "tracker will not start: TRACKER_AUDIT_SIGNING_KEY_FILE must name the audit signing key "
        "when TRACKER_ENV=production (create one with `flask tracker audit keygen`)"
    )
    assert not (tmp_path / "audit-signing.key").exists()  # production never invents a key
    bad = tmp_path / "not-a-key"
    bad.write_text("hello")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env={**env, "TRACKER_AUDIT_SIGNING_KEY_FILE": str(bad)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "TRACKER_AUDIT_SIGNING_KEY_FILE" in result.stderr


def test_development_generates_the_audit_signing_key_once(monkeypatch, tmp_path):
    from tracker.services import signing

    monkeypatch.delenv("TRACKER_ENV", raising=False)
    monkeypatch.delenv("TRACKER_AUDIT_SIGNING_KEY_FILE", raising=False)
    first = config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x")
    path = Path(first["AUDIT_SIGNING_KEY_FILE"])
    assert path.parent == tmp_path and path.stat().st_mode & 0o077 == 0
    key = signing.load(path).verifier_key
    config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x")
    assert signing.load(path).verifier_key == key
    assert key.name == first["AUDIT_ORIGIN"] == "127.0.0.1:5000/audit"


def test_bad_number_setting_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_CONCERN_DAYS_STANDARD", "three")
    with pytest.raises(config.ConfigError, match="TRACKER_CONCERN_DAYS_STANDARD"):
        config.from_environment(INSTANCE_DIR=str(tmp_path), SECRET_KEY="x")


def test_production_refuses_a_moved_clock(monkeypatch, tmp_path, production_env):
    monkeypatch.setenv("TRACKER_CLOCK_OFFSET_SECONDS", "86400")
    with pytest.raises(config.ConfigError, match="TRACKER_CLOCK_OFFSET_SECONDS must not be set"):
        config.from_environment(INSTANCE_DIR=str(tmp_path))


def test_production_refuses_cheap_password_hashing(monkeypatch, tmp_path, production_env):
    monkeypatch.setenv("TRACKER_TEST_CHEAP_PASSWORD_HASHING", "1")
    with pytest.raises(config.ConfigError, match="TRACKER_TEST_CHEAP_PASSWORD_HASHING must not"):
        config.from_environment(INSTANCE_DIR=str(tmp_path))


def test_without_the_test_variable_passwords_get_argon2s_real_cost():
    """A fresh interpreter without the tests' variable: the hasher is argon2's default, which
    is what production runs (it refuses the variable, above)."""
    script = (
        "from argon2 import PasswordHasher;"
        "from tracker.services import accounts;"
        "print(accounts._hasher.time_cost == PasswordHasher().time_cost"
        " and accounts._hasher.memory_cost == PasswordHasher().memory_cost)"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
    from tracker.services import accounts

    assert accounts._hasher.memory_cost < 64  # and in this test run, the cheapest
