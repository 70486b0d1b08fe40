import sqlite3

from tracker.extensions import db


def test_backup_copies_a_live_sqlite_database(app, world, tmp_path):
    if db.engine.dialect.name != "sqlite":
        result = app.test_cli_runner().invoke(args=["tracker", "backup", str(tmp_path / "x")])
        assert result.exit_code == 1 and "pg_dump" in result.output
        return
    target = tmp_path / "copy.sqlite3"
    result = app.test_cli_runner().invoke(args=["tracker", "backup", str(target)])
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT reference FROM child_case").fetchall() == [(world.case.reference,)]
    copy.close()
    again = app.test_cli_runner().invoke(args=["tracker", "backup", str(target)])
    assert again.exit_code == 1 and "exists" in again.output
