"""Objects the fund accepted before GUIDs were kept get one now, so every later package of them
carries the same GUID (issue 10: one GUID per object)."""

import uuid

from django.db import migrations


def backfill(apps, schema_editor):
    SentObject = apps.get_model("servicelog", "SentObject")
    batch = []
    for sent in SentObject.objects.filter(external_id="").only("pk").iterator(chunk_size=2000):
        sent.external_id = str(uuid.uuid4()).upper()
        batch.append(sent)
        if len(batch) >= 2000:
            SentObject.objects.bulk_update(batch, ["external_id"])
            batch = []
    SentObject.objects.bulk_update(batch, ["external_id"])


class Migration(migrations.Migration):
    dependencies = [("servicelog", "0010_audit_own_app")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
