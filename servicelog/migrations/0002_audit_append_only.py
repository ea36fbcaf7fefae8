"""On PostgreSQL the database itself refuses UPDATE and DELETE of audit rows (A5)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION servicelog_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER servicelog_audit_append_only
    BEFORE UPDATE OR DELETE ON servicelog_auditevent
    FOR EACH ROW EXECUTE FUNCTION servicelog_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS servicelog_audit_append_only ON servicelog_auditevent;
DROP FUNCTION IF EXISTS servicelog_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("servicelog", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
