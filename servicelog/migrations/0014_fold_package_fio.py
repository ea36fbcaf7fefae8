"""Packages' ФИО folded as the journal now searches it (upper case, Ё as Е; servicelog.forming.fio_key),
so the search by person is a plain prefix comparison the column's index serves (issue 15 item 5)."""

from django.db import migrations
from django.db.models import Q


def fold_fio(apps, schema_editor):
    Package = apps.get_model("servicelog", "Package")
    if schema_editor.connection.vendor == "postgresql":  # UPPER folds Cyrillic there: one statement
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE servicelog_package SET fio = REPLACE(UPPER(fio), 'Ё', 'Е') "
                "WHERE fio <> '' AND fio <> REPLACE(UPPER(fio), 'Ё', 'Е')"
            )
        return
    changed = []
    for package in Package.objects.exclude(Q(fio="")).only("pk", "fio").iterator(chunk_size=2000):
        folded = package.fio.upper().replace("Ё", "Е")
        if folded != package.fio:
            package.fio = folded
            changed.append(package)
        if len(changed) >= 2000:
            Package.objects.bulk_update(changed, ["fio"])
            changed = []
    if changed:
        Package.objects.bulk_update(changed, ["fio"])


class Migration(migrations.Migration):
    dependencies = [("servicelog", "0013_inbound_message_id_whole")]

    operations = [migrations.RunPython(fold_fio, migrations.RunPython.noop)]
