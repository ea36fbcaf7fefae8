# The audit trail moved to the audit app: servicelog forgets the model, the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('servicelog', '0009_package_external_id'),
        ('audit', '0001_audit_own_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='AuditEvent')],
            database_operations=[],  # the table now belongs to the audit app
        ),
    ]
