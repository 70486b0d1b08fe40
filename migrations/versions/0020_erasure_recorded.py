"""erasure recorded: audit content is erased only with the erasure event that records it

Revision ID: 0020_erasure_recorded
Revises: 0019_case_search

Migration 0011's triggers let audit_content be erased once, but took anyone's word for it: an
UPDATE setting content and salt to NULL (and erased_at) went through with no erasure event, and
with it went the event's before/after values, the actor's name and the reason. An erasure is now
refused unless the same UPDATE points erasure_event_id at the event that records it, as
tracker/services/audit.py writes it: an existing audit.erase_content event (its break-glass mark
allowed) naming the erased event (object audit_event) or its case (object case). The app writes
that event first, in the same transaction, so its erasures pass unchanged; `audit verify` checks
the same of every erased event in the log (a trigger dropped is no way round it).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_erasure_recorded"
down_revision = "0019_case_search"
branch_labels = None
depends_on = None

REFUSED = (
    "the audit log is append-only: erasing audit content with no audit.erase_content event "
    "recording it refused"
)
# Frozen (migrations must not change when the app's code does): audit.ERASURE_ACTION and the
# break-glass mark on it.
ERASURE_ACTIONS = "('audit.erase_content', 'audit.erase_content.break_glass')"
RECORDED = f"""EXISTS (
    SELECT 1 FROM audit_event AS erasure JOIN audit_event AS erased ON erased.id = OLD.event_id
    WHERE erasure.id = NEW.erasure_event_id
      AND erasure.action IN {ERASURE_ACTIONS}
      AND ((erasure.object_kind = 'audit_event' AND erasure.object_id = erased.id)
           OR (erasure.object_kind = 'case' AND erasure.object_id = erased.case_id
               AND erasure.case_id = erased.case_id))
)"""
ERASING = "NEW.content IS NULL OR NEW.salt IS NULL"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_content_erasure_recorded() RETURNS trigger AS $$
            BEGIN
              IF NEW.erasure_event_id IS NOT NULL AND {RECORDED} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION '{REFUSED}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_content_erasure_recorded BEFORE UPDATE ON audit_content "
            f"FOR EACH ROW WHEN ({ERASING}) EXECUTE FUNCTION audit_content_erasure_recorded()"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_content_erasure_recorded BEFORE UPDATE ON audit_content "
        f"WHEN ({ERASING}) AND NOT (NEW.erasure_event_id IS NOT NULL AND {RECORDED}) "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_content_erasure_recorded ON audit_content")
        op.execute("DROP FUNCTION IF EXISTS audit_content_erasure_recorded()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_content_erasure_recorded")
