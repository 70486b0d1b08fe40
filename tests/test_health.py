"""/healthz: what a deployment's probe sees, and what it must not."""

import pytest

from tests.conftest import make_app, sign_in_as
from tracker.extensions import db
from tracker.models import AuditEvent


def test_healthy_needs_no_session_and_writes_nothing(app, client, world):
    events = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    anonymous = client.get("/healthz")
    assert (anonymous.status_code, anonymous.get_data(as_text=True)) == (200, "ok\n")
    assert anonymous.mimetype == "text/plain"
    assert "Set-Cookie" not in anonymous.headers
    assert anonymous.headers["Cache-Control"] == "no-store"
    sign_in_as(client, world.worker_a)
    signed_in = client.get("/healthz")
    assert signed_in.status_code == 200
    assert "Set-Cookie" not in signed_in.headers  # not even the idle clock's refresh
    assert client.head("/healthz").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == events


@pytest.mark.parametrize(
    "unreachable",
    [
        "sqlite:////nonexistent-folder/secret-name.sqlite3",
        "postgresql+psycopg://tracker:s3cret-password@127.0.0.1:9/secret_name",  # discard port
    ],
)
def test_a_database_that_does_not_answer_is_503_and_says_no_more(tmp_path, unreachable, caplog):
    app = make_app(unreachable, tmp_path)
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert (response.status_code, response.get_data(as_text=True)) == (503, "unavailable\n")
    assert "Set-Cookie" not in response.headers
    assert "the database did not answer" in caplog.text  # the reason is in the log instead
